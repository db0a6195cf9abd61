"""Webhook deliveries as the fake Calendly writes them (its store renders the invitee with its scheduled event
embedded), for tests that post them to Lockstep or keep them as given state without running the fake. URIs are
under tests.support.appointments.API, so they match the appointments and event types built there."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

from tests.fakes.calendly_store import EventType, Invitee, ScheduledEvent, Store, User, now, stamp
from tests.fakes.calendly_webhooks import SIGNATURE_HEADER, signature
from tests.support.appointments import API

__all__ = ["SIGNATURE_HEADER", "delivery_body", "envelope_body", "signed"]


def _store(event: str, invitee: str, start: datetime, minutes: int, name: str) -> tuple[Store, User, Invitee]:
    store = Store(base=API)
    store.organizations.add("O1")
    user = User("U1", "Tess Tech", "tess@example.com", "Europe/Berlin", "tess-tech", "O1")
    store.users[user.uuid] = user
    store.event_types["ET1"] = EventType("ET1", user.uuid, "Boiler check", minutes, "boiler-check")
    scheduled = ScheduledEvent(event, "ET1", "Boiler check", start, start + timedelta(minutes=minutes), [user.uuid],
                               "Side door", invitees=[invitee])
    person = Invitee(invitee, event, name, "ann@example.org", "Europe/Berlin", [("Boiler make?", "Vaillant")])
    store.events[event], store.invitees[invitee] = scheduled, person
    return store, user, person


def delivery_body(kind: str = "invitee.created", *, event: str = "E1", invitee: str = "I1", start: datetime,
                  minutes: int = 60, name: str = "Ann Lee") -> bytes:
    """The exact bytes of an invitee.created (or, with the invitee and its event canceled, invitee.canceled)
    delivery of one appointment."""
    store, user, person = _store(event, invitee, start, minutes, name)
    if kind == "invitee.canceled":
        cancellation = {"canceled_by": name, "reason": "Fixed it myself", "canceler_type": "invitee",
                        "created_at": stamp(now())}
        person.status, person.cancellation = "canceled", cancellation
        scheduled = store.events[event]
        scheduled.status, scheduled.cancellation = "canceled", cancellation
    return envelope_body(kind, store.delivered_invitee(person), store.user_uri(user))


def envelope_body(kind: str, payload: object, created_by: str = f"{API}/users/U1") -> bytes:
    envelope = {"event": kind, "created_at": stamp(now()), "created_by": created_by, "payload": payload}
    return json.dumps(envelope, separators=(",", ":")).encode()


def signed(key: str, body: bytes, seconds_ago: int = 0) -> dict[str, str]:
    """The headers Calendly sends with `body`, signed under `key` now (or `seconds_ago`)."""
    return {"Content-Type": "application/json",
            SIGNATURE_HEADER: signature(key, body, int(time.time()) - seconds_ago)}
