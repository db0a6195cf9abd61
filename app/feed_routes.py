"""`GET /feeds/{token}.ics`: a calendar feed, read by calendar apps that subscribe to it (docs/feeds.md).

An address whose token is unknown, malformed or revoked (or whose feed's maker lost the right to it) is answered
404 with nothing else: not which of these it is, not whether a feed ever had it. A known one is answered with the
feed as it is now, its ETag computed from its bytes; a request whose `If-None-Match` names that tag gets 304
without a body. Nothing is cached between requests; the answer is private to whoever holds the address.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from domain.calendar_feeds import feed_etag, none_match
from services.calendar_feeds import FeedAddress, feed_of_token
from services.feed_bookings import feed_calendar

CONTENT_TYPE = "text/calendar; charset=utf-8"


def _not_found() -> Response:
    return PlainTextResponse("Not Found", status_code=404, headers={"Cache-Control": "no-store"})


def calendar_feeds(address: FeedAddress, max_bookings: int) -> Callable[[Request], Awaitable[Response]]:
    """The route handler of the feeds served under `address`, each made from at most `max_bookings` booking rows."""

    async def feed(request: Request) -> Response:
        found = await feed_of_token(str(request.path_params.get("token", "")))
        if found is None:
            return _not_found()
        body = await feed_calendar(found, datetime.now(UTC), address.host, max_bookings)
        etag = feed_etag(body)
        # Each fetch is checked again (no-cache), which the ETag makes cheap for the client: 304 and no body.
        headers = {"ETag": etag, "Cache-Control": "private, no-cache", "X-Content-Type-Options": "nosniff"}
        if none_match(request.headers.get("if-none-match", ""), etag):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=CONTENT_TYPE, headers=headers)

    return feed
