"""Provider webhooks (DESIGN.md invariant 8: answer fast, trust nothing).

`POST /webhooks/google` receives Google's push notifications (providers.md A6): no body, the X-Goog-* headers. A
notification only makes its calendar due for an incremental pull, and only when it names a live channel and carries
that channel's secret token; the pull itself reads what changed, so a notification carries nothing we believe.
The answer is always 200 with an empty body: any other code makes Google retry or count a failure, and would tell a
sender probing channel ids which ones exist.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response

from services.watch_channels import pull_now, verified_calendar

log = logging.getLogger("lockstep.webhooks")
_CHANGED = {"exists", "not_exists"}  # `sync` only confirms a new channel: nothing changed


async def google_notification(request: Request) -> Response:
    state = request.headers.get("x-goog-resource-state", "")
    if state in _CHANGED:
        channel_id = request.headers.get("x-goog-channel-id", "")
        token = request.headers.get("x-goog-channel-token", "")
        try:
            now = datetime.now(UTC)
            calendar_id = await verified_calendar(channel_id, token, now)
            if calendar_id is not None:
                await pull_now(calendar_id, now)
        except Exception:  # the backstop pull still comes; Google must not retry into a failing database
            log.exception("a Google notification could not be recorded")
    return Response(status_code=200)
