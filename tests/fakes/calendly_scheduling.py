"""Scheduling on the fake Calendly as its people do it, for tests (tests/fakes/calendly.py): users and event types
to set up, a customer booking, cancelling or rescheduling, and a host cancelling; each change is delivered to every
active subscription it matches (tests/fakes/calendly_webhooks.py).

A subscription matches a change when it is active, asks for the change's event (invitee.created or
invitee.canceled), belongs to the scheduled event's organization and, scoped to a user, that user hosts the event.
A reschedule is what Calendly makes of it: the old invitee canceled (`rescheduled`, `new_invitee`) with its event, a
new scheduled event with a new invitee (`old_invitee`), and both deliveries, in `reschedule_order`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tests.fakes.calendly_store import EventType, Invitee, ScheduledEvent, Store, User, new_uuid, now, stamp
from tests.fakes.calendly_webhooks import Webhooks


@dataclass(frozen=True)
class Booked:
    event_uri: str
    invitee_uri: str


class Scheduling:
    _lock: threading.RLock
    store: Store
    webhooks: Webhooks
    reschedule_order = "canceled_first"  # or "created_first": Calendly does not say which comes first

    def _on_loop(self, action: Callable[..., None], *arguments: Any) -> None:
        raise NotImplementedError

    # -- people and event types ---------------------------------------------------------------------------------

    def add_user(self, name: str, email: str, time_zone: str = "Europe/Berlin",
                 organization: str | None = None) -> User:
        """A user of `organization` (uuid; the first user's when none is given), or of a new one when there is
        none yet."""
        with self._lock:
            if organization is None:
                organization = next(iter(self.store.organizations), None) or new_uuid()
            self.store.organizations.add(organization)
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "user"
            user = User(new_uuid(), name, email, time_zone, slug, organization)
            self.store.users[user.uuid] = user
            return user

    def add_event_type(self, owner: User | str, name: str, duration: int = 60, *, active: bool = True,
                       colour: str = "#8247f5") -> EventType:
        with self._lock:
            event_type = EventType(new_uuid(), self._user(owner).uuid, name, duration,
                                   re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-"), colour, active)
            self.store.event_types[event_type.uuid] = event_type
            return event_type

    def _user(self, ref: User | str) -> User:
        if isinstance(ref, User):
            return ref
        return self.store.users[self.store.find("users", ref) or ref]

    def _event_type(self, ref: EventType | str) -> EventType:
        if isinstance(ref, EventType):
            return ref
        return self.store.event_types[self.store.find("event_types", ref) or ref]

    # -- what invitees and hosts do -----------------------------------------------------------------------------

    def book(self, event_type: EventType | str, start: datetime, invitee: dict[str, Any] | None = None,
             hosts: Sequence[User | str] = (), location: str = "Side door", join: str | None = None) -> Booked:
        """A customer books `event_type` at `start`: a new scheduled event hosted by the event type's owner (and
        `hosts`) with one invitee (`name`, `email`, `timezone`, `answers` as (question, answer) pairs). With
        `join` (a scheduled event's URI) they join that event instead, as in a group event."""
        with self._lock:
            kind = self._event_type(event_type)
            details = {"name": "Cleo Customer", "email": "cleo@example.com", "timezone": "Europe/Berlin",
                       "answers": [], **(invitee or {})}
            event = self.store.events[self.store.find("scheduled_events", join) or ""] if join else ScheduledEvent(
                new_uuid(), kind.uuid, kind.name, start, start + timedelta(minutes=kind.duration),
                [kind.owner, *(self._user(host).uuid for host in hosts)], location)
            person = Invitee(new_uuid(), event.uuid, details["name"], details["email"], details["timezone"],
                             [(str(question), str(answer)) for question, answer in details["answers"]])
            self._add(event, person)
            self._deliver("invitee.created", person)
            return Booked(self.store.uri("scheduled_events", event.uuid), self.store.invitee_uri(person))

    def cancel_by_invitee(self, invitee_uri: str, reason: str = "") -> None:
        """The invitee cancels: they and (with no other active invitee) their scheduled event are canceled."""
        with self._lock:
            person = self.store.invitee_by_uri(invitee_uri)
            event = self.store.events[person.event]
            cancellation = self._record_of_cancellation(person.name, reason, "invitee")
            self._cancel_invitee(person, cancellation)
            if not any(self.store.invitees[uuid].status == "active" for uuid in event.invitees):
                event.status, event.cancellation, event.updated_at = "canceled", cancellation, now()
            self._deliver("invitee.canceled", person)

    def cancel_by_host(self, event_uri: str, reason: str = "", host: User | str | None = None) -> dict[str, Any]:
        """A host cancels the scheduled event (as POST .../cancellation does): it and every active invitee of it are
        canceled, each invitee delivered. The cancellation resource is returned."""
        with self._lock:
            event = self.store.events[self.store.find("scheduled_events", event_uri) or event_uri]
            canceler = self._user(host) if host is not None else self.store.users[event.hosts[0]]
            cancellation = self._record_of_cancellation(canceler.name, reason, "host")
            event.status, event.cancellation, event.updated_at = "canceled", cancellation, now()
            for uuid in event.invitees:
                person = self.store.invitees[uuid]
                if person.status == "active":
                    self._cancel_invitee(person, cancellation)
                    self._deliver("invitee.canceled", person)
            return cancellation

    def reschedule(self, invitee_uri: str, new_start: datetime) -> Booked:
        """The invitee moves their booking to `new_start`."""
        with self._lock:
            old = self.store.invitee_by_uri(invitee_uri)
            old_event = self.store.events[old.event]
            event = ScheduledEvent(new_uuid(), old_event.event_type, old_event.name, new_start,
                                   new_start + (old_event.end - old_event.start), list(old_event.hosts),
                                   old_event.location)
            new = Invitee(new_uuid(), event.uuid, old.name, old.email, old.time_zone, list(old.answers),
                          old_invitee=self.store.invitee_uri(old))
            self._add(event, new)
            cancellation = self._record_of_cancellation(old.name, "", "invitee")
            self._cancel_invitee(old, cancellation)
            old.rescheduled, old.new_invitee = True, self.store.invitee_uri(new)
            if not any(self.store.invitees[uuid].status == "active" for uuid in old_event.invitees):
                old_event.status, old_event.cancellation, old_event.updated_at = "canceled", cancellation, now()
            pair = [("invitee.canceled", old), ("invitee.created", new)]
            for kind, person in pair if self.reschedule_order == "canceled_first" else reversed(pair):
                self._deliver(kind, person)
            return Booked(self.store.uri("scheduled_events", event.uuid), self.store.invitee_uri(new))

    # -- plumbing -----------------------------------------------------------------------------------------------

    def _add(self, event: ScheduledEvent, person: Invitee) -> None:
        event.invitees.append(person.uuid)
        self.store.events[event.uuid] = event
        self.store.invitees[person.uuid] = person

    @staticmethod
    def _record_of_cancellation(canceled_by: str, reason: str, canceler_type: str) -> dict[str, Any]:
        return {"canceled_by": canceled_by, "reason": reason or None, "canceler_type": canceler_type,
                "created_at": stamp(now())}

    @staticmethod
    def _cancel_invitee(person: Invitee, cancellation: dict[str, Any]) -> None:
        person.status, person.cancellation, person.updated_at = "canceled", cancellation, now()

    def _deliver(self, kind: str, person: Invitee) -> None:
        """Queue `kind` of `person`, as they are now, to every subscription it matches."""
        event = self.store.events[person.event]
        organization = self.store.users[event.hosts[0]].organization
        for subscription in list(self.store.subscriptions.values()):
            if subscription.state != "active" or kind not in subscription.events \
                    or subscription.organization != organization \
                    or (subscription.scope == "user" and subscription.user not in event.hosts):
                continue
            envelope = {"event": kind, "created_at": stamp(now()),
                        "created_by": self.store.uri("users", subscription.creator),
                        "payload": self.store.delivered_invitee(person)}
            self._on_loop(self.webhooks.deliver, subscription, kind, self.store.invitee_uri(person), envelope)
