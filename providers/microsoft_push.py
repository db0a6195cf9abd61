"""Change notifications of Microsoft Graph: one subscription per calendar.

Terms:
- *resource*: what a subscription watches, `me/calendars/{id}/events`: the per-calendar form, because `me/events`
  notifies for the default calendar only.
- *lifetime*: Graph keeps an Outlook events subscription for at most about a week and refuses a longer expiry with
  400 ExtensionError "Subscription expiration can only be N minutes in the future."; Lockstep asks for LIFETIME and,
  refused, once more for N minutes less a margin. The same holds for a renewal.
- *client state*: the secret Graph repeats in every notification so the receiver can tell Graph sent it; at most
  128 characters, and never in a message.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from providers.base import ProviderError, Subscription
from providers.microsoft_delta import instant
from providers.microsoft_http import Answer, GraphSession

LIFETIME = timedelta(minutes=10_000)
CLIENT_STATE_LENGTH = 128
_CAP_MARGIN = timedelta(minutes=10)
_CAP = re.compile(r"can only be ([0-9]+) minutes in the future", re.IGNORECASE)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _cap(answer: Answer) -> timedelta | None:
    """The longest lifetime Graph said it allows, when it refused the one asked for."""
    if answer.status != 400 or answer.code.lower() != "extensionerror":
        return None
    found = _CAP.search(answer.message)
    return timedelta(minutes=int(found.group(1))) if found else None


def _subscription(answer: Answer, resource: str, asked: datetime) -> Subscription:
    body: dict[str, Any] = answer.body if isinstance(answer.body, dict) else {}
    expires = instant(body.get("expirationDateTime")) or asked
    return Subscription(str(body["id"]), str(body.get("resource") or resource), expires)


async def _within_cap(http: GraphSession, what: str, method: str, path: str,
                      body: dict[str, Any]) -> tuple[Answer, datetime]:
    """Send with the expiry LIFETIME from now, and once more within the cap Graph names if it refuses that."""
    asked = datetime.now(UTC).replace(microsecond=0) + LIFETIME
    answer = await http.call(what, method, path, body={**body, "expirationDateTime": _stamp(asked)})
    cap = _cap(answer)
    if cap is not None:
        asked = datetime.now(UTC).replace(microsecond=0) + cap - _CAP_MARGIN
        answer = await http.call(what, method, path, body={**body, "expirationDateTime": _stamp(asked)})
    if not answer.ok:
        raise answer.error()
    return answer, asked


async def subscribe(http: GraphSession, calendar_id: str, address: str, client_state: str) -> Subscription:
    """Ask Graph to notify `address` of every change to the calendar's events (lifecycle events too)."""
    if len(client_state) > CLIENT_STATE_LENGTH:
        raise ProviderError(f"subscription.create: the client state is longer than {CLIENT_STATE_LENGTH} characters")
    resource = f"me/calendars/{calendar_id}/events"
    body = {"changeType": "created,updated,deleted", "notificationUrl": address, "lifecycleNotificationUrl": address,
            "resource": resource, "clientState": client_state}
    answer, asked = await _within_cap(http, "subscription.create", "POST", "subscriptions", body)
    return _subscription(answer, resource, asked)


async def renew(http: GraphSession, subscription: Subscription) -> Subscription:
    """Extend the subscription; Graph answers with it (200) or with nothing (204: then it expires when asked)."""
    path = f"subscriptions/{quote(subscription.subscription_id, safe='')}"
    answer, asked = await _within_cap(http, "subscription.update", "PATCH", path, {})
    if answer.status == 204 or not isinstance(answer.body, dict) or "id" not in answer.body:
        return Subscription(subscription.subscription_id, subscription.resource_id, asked)
    return _subscription(answer, subscription.resource_id, asked)


async def unsubscribe(http: GraphSession, subscription: Subscription) -> None:
    """Delete the subscription; NotFound when Graph no longer knows it (expired or deleted already)."""
    await http.ok("subscription.delete", "DELETE", f"subscriptions/{quote(subscription.subscription_id, safe='')}")
