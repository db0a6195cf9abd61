"""Reading what Microsoft Graph POSTs to `/webhooks/microsoft` (docs/providers.md, "Microsoft Graph: change
notifications"): the registry's push description of Microsoft.

Terms:
- *validation request*: before Graph creates a subscription it POSTs `?validationToken=...` to the notification and
  lifecycle URLs and wants, within 10 seconds, 200 with `text/plain` and the token URL-decoded as the body.
- *change notification*: a `changeNotificationCollection` body, `{"value": [...]}`, each item naming its
  `subscriptionId` and repeating the subscription's `clientState` (its secret). Several items, even of different
  subscriptions, may share one POST. Graph wants 202 within 3 seconds.
- *lifecycle notification*: the same shape with `lifecycleEvent`: `reauthorizationRequired` (renew the subscription
  or it stops notifying), `subscriptionRemoved` (create a new one), `missed` (some notifications were not
  delivered: read the calendar's changes).
Nothing here is believed yet: services.watch_channels checks the subscription id and client state before anything
changes.
"""

from __future__ import annotations

import json
from typing import Any

from providers.entry import Inbound, Notification, NotificationKind

# Graph's validation tokens are opaque; one longer than this is not Graph's, and is not echoed.
MAX_VALIDATION_TOKEN = 2048
# More items than any single POST of Graph's carries (it batches a few); the rest of a forged flood is not read.
MAX_ITEMS = 1000
_LIFECYCLE = {
    "reauthorizationRequired": NotificationKind.RENEW,
    "subscriptionRemoved": NotificationKind.REMOVED,
    "missed": NotificationKind.MISSED,
}


def validation_answer(inbound: Inbound) -> str | None:
    """The token to echo when the delivery is a validation request (the query string holds it URL-decoded already),
    else None."""
    token = inbound.query.get("validationToken")
    if token is None or len(token) > MAX_VALIDATION_TOKEN:
        return None
    return token


def _item_notification(item: Any) -> Notification | None:
    if not isinstance(item, dict):
        return None
    subscription, state = item.get("subscriptionId"), item.get("clientState")
    if not isinstance(subscription, str) or not isinstance(state, str) or not subscription or not state:
        return None
    event = item.get("lifecycleEvent")
    if event is not None:
        kind = _LIFECYCLE.get(str(event))
        return None if kind is None else Notification(subscription, state, kind)
    if not isinstance(item.get("changeType"), str):
        return None
    return Notification(subscription, state, NotificationKind.CHANGED)


def graph_notifications(inbound: Inbound) -> list[Notification]:
    """The notifications of one POST, once each (a subscription's repeated change items are one pull); [] for a
    body that is not a notification collection."""
    try:
        body = json.loads(inbound.body)
    except ValueError:
        return []
    items = body.get("value") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return []
    found: dict[Notification, None] = {}
    for item in items[:MAX_ITEMS]:
        notification = _item_notification(item)
        if notification is not None:
            found[notification] = None
    return list(found)
