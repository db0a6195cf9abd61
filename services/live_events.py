"""Live events: the small facts about a change that every process announces and every API process reads.

Terms:
- *event*: a small fact about a change, carrying IDs and time spans only (never names, notes, titles or anything
  secret), because every API process reads every event off one Redis pub/sub channel. Subscribers load what they
  may see from the database themselves.
- *topic*: a string such as "booking:business:3" that says who is interested; an event lists its topics and an API
  process hands it to the subscribers of any of them.
- *missed events*: what a subscriber is told when events may have been lost (its backlog overflowed, or Redis was
  unreachable for a while); the client then refetches.

`encode` and `decode` are the wire format on the channel.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Collection
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from domain.intervals import Span

log = logging.getLogger("lockstep.live")


def topic(kind: str, scope: str, pk: int) -> str:
    return f"{kind}:{scope}:{pk}"


@dataclass(frozen=True)
class BookingsChanged:
    """Bookings were created, rescheduled, cancelled or updated (`kind`); `staff_ids` has the old and new staff,
    `customer_ids` the customers' accounts the bookings belong to (each follows their own)."""

    kind: str
    business_id: int
    staff_ids: tuple[int, ...]
    booking_ids: tuple[int, ...]
    customer_ids: tuple[int, ...] = ()

    def topics(self) -> tuple[str, ...]:
        return (topic("booking", "business", self.business_id),
                *(topic("booking", "staff", staff_id) for staff_id in self.staff_ids),
                *(topic("booking", "customer", customer_id) for customer_id in self.customer_ids))


@dataclass(frozen=True)
class AvailabilityChanged:
    """The free time of a staff member may have changed inside `spans` (UTC); `service_ids` names the services
    concerned when the change was to a service rather than to time."""

    staff_id: int
    spans: tuple[Span, ...]
    service_ids: tuple[int, ...] = ()

    def topics(self) -> tuple[str, ...]:
        return (topic("availability", "staff", self.staff_id),
                *(topic("availability", "service", service_id) for service_id in self.service_ids))


@dataclass(frozen=True)
class SyncHealthChanged:
    connection_id: int
    staff_id: int
    business_id: int
    status: str

    def topics(self) -> tuple[str, ...]:
        return topic("health", "staff", self.staff_id), topic("health", "business", self.business_id)


@dataclass(frozen=True)
class NotificationsAdded:
    """New notification rows exist for these users; subscribers read them from the database."""

    user_ids: tuple[int, ...]

    def topics(self) -> tuple[str, ...]:
        return tuple(topic("notifications", "user", user_id) for user_id in self.user_ids)


LiveEvent = BookingsChanged | AvailabilityChanged | SyncHealthChanged | NotificationsAdded

SLOW_CLIENT = "slow_client"
CONNECTION_LOST = "connection_lost"


@dataclass(frozen=True)
class MissedEvents:
    """Delivered instead of events that were lost: `reason` is SLOW_CLIENT or CONNECTION_LOST."""

    reason: str


class LiveFeed(Protocol):
    """What an API process offers subscription resolvers: every event of any of `topics`, as it arrives, with a
    MissedEvents wherever some may have been lost."""

    def listen(self, topics: Collection[str]
               ) -> AbstractAsyncContextManager[AsyncIterator[LiveEvent | MissedEvents]]: ...


def encode(event: LiveEvent) -> str:
    body: dict[str, Any]
    if isinstance(event, BookingsChanged):
        body = {"type": "bookings", "kind": event.kind, "businessId": event.business_id,
                "staffIds": list(event.staff_ids), "bookingIds": list(event.booking_ids),
                "customerIds": list(event.customer_ids)}
    elif isinstance(event, AvailabilityChanged):
        body = {"type": "availability", "staffId": event.staff_id, "serviceIds": list(event.service_ids),
                "spans": [[span.start.isoformat(), span.end.isoformat()] for span in event.spans]}
    elif isinstance(event, SyncHealthChanged):
        body = {"type": "health", "connectionId": event.connection_id, "staffId": event.staff_id,
                "businessId": event.business_id, "status": event.status}
    else:
        body = {"type": "notifications", "userIds": list(event.user_ids)}
    return json.dumps(body, separators=(",", ":"))


def decode(raw: str | bytes) -> LiveEvent | None:
    """The event a message carries, or None for one this version does not understand (logged, then skipped: a
    newer process may publish kinds an older one does not know yet)."""
    try:
        body = json.loads(raw)
        kind = body["type"]
        if kind == "bookings":
            return BookingsChanged(str(body["kind"]), int(body["businessId"]),
                                   tuple(int(pk) for pk in body["staffIds"]),
                                   tuple(int(pk) for pk in body["bookingIds"]),
                                   tuple(int(pk) for pk in body.get("customerIds", ())))
        if kind == "availability":
            spans = tuple(Span(datetime.fromisoformat(start), datetime.fromisoformat(end))
                          for start, end in body["spans"])
            return AvailabilityChanged(int(body["staffId"]), spans, tuple(int(pk) for pk in body["serviceIds"]))
        if kind == "health":
            return SyncHealthChanged(int(body["connectionId"]), int(body["staffId"]), int(body["businessId"]),
                                     str(body["status"]))
        if kind == "notifications":
            return NotificationsAdded(tuple(int(pk) for pk in body["userIds"]))
    except (ValueError, KeyError, TypeError):
        pass
    log.warning("skipped a live message that could not be read")
    return None
