"""Appointments made at Calendly as given state for tests below the webhook: Appointment values built directly, a
staff member whose Calendly account is connected (its one calendar stands for the account: read and cancelled,
never written), an event type mapped to the staff member's service, and what is stored, for "nothing changed"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from domain.calendly import Appointment
from domain.conflicts import ConflictPolicy
from models import (
    AppointmentDelivery,
    AppointmentType,
    Booking,
    BusyBlock,
    EventMapping,
    ExternalCalendar,
    ImportedAppointment,
    Notification,
    OutboxEntry,
    Provider,
    SyncConflict,
    SyncLogEntry,
)
from tests.support.sync import ConnectedStaff, given_connected_staff

API = "https://api.calendly.com"
USER_URI = f"{API}/users/U1"
EVENT_TYPE = f"{API}/event_types/ET1"
OTHER_TYPE = f"{API}/event_types/ET2"
T0 = datetime(2030, 1, 7, 5, tzinfo=UTC)  # when the invitee booked
T1 = T0 + timedelta(minutes=30)  # when they changed it
ANSWERS = (("Boiler make?", "Vaillant"), ("Access", "Side door"))


def event_uri(event: str) -> str:
    return f"{API}/scheduled_events/{event}"


def invitee_uri(event: str, invitee: str) -> str:
    return f"{event_uri(event)}/invitees/{invitee}"


def appointment(event: str = "E1", invitee: str = "I1", *, start: datetime, minutes: int = 60, active: bool = True,
                rescheduled: bool = False, old: str = "", new: str = "", updated: datetime = T0,
                event_type: str = EVENT_TYPE, name: str = "Ann Lee", email: str = "ann@example.org",
                answers: tuple[tuple[str, str], ...] = ANSWERS, reason: str = "") -> Appointment:
    """One invitee of one scheduled event, as domain.calendly reads it. `old` / `new`: the invitee URIs of a
    reschedule pair's other half."""
    return Appointment(
        event_uri=event_uri(event), invitee_uri=invitee_uri(event, invitee), event_type_uri=event_type,
        event_name="Boiler check", starts_at=start, ends_at=start + timedelta(minutes=minutes), event_active=active,
        invitee_active=active, rescheduled=rescheduled, old_invitee=old, new_invitee=new, invitee_name=name,
        invitee_email=email, invitee_time_zone="Europe/Berlin", answers=answers, hosts=(),
        cancel_url=f"https://calendly.com/cancellations/{invitee}",
        reschedule_url=f"https://calendly.com/reschedulings/{invitee}", cancel_reason=reason, updated_at=updated,
        canceler_type="" if active else "invitee")


async def given_calendly_staff(policy: ConflictPolicy = ConflictPolicy.ASK, *, calendar_id: str = USER_URI,
                               credentials: str = "sealed") -> ConnectedStaff:
    """Given a staff member (working 8:00-20:00 in Berlin, with one service) whose Calendly account is connected:
    its calendar imports the account's appointments, and is neither writable nor the destination."""
    given = await given_connected_staff(calendar_id, provider=Provider.CALENDLY, policy=policy,
                                        credentials=credentials)
    await ExternalCalendar.filter(id=given.calendar.id).update(writable=False, is_destination=False)
    calendar = await ExternalCalendar.get(id=given.calendar.id)
    return ConnectedStaff(given.owner, given.staff, given.service, given.connection, calendar)


async def given_mapped(given: ConnectedStaff, type_uri: str = EVENT_TYPE) -> AppointmentType:
    """Given the event type mapped to the staff member's service."""
    return await AppointmentType.create(connection=given.connection, type_uri=type_uri, name="Boiler check",
                                        duration_minutes=60, service=given.service)


async def stored() -> dict[str, Any]:
    """Everything an appointment's report or delivery can change, by what it is."""
    return {
        "bookings": await Booking.all().order_by("id").values_list("id", "status", "starts_at", "ends_at",
                                                                   "version"),
        "busy_blocks": await BusyBlock.all().order_by("id").values_list("id", "starts_at", "ends_at", "title"),
        "mappings": await EventMapping.all().order_by("id").values_list("id", "booking_id", "external_event_id",
                                                                        "state", "version_written"),
        "appointments": await ImportedAppointment.all().order_by("id").values_list(
            "event_uri", "active", "successor", "booking_id", "busy_block_id"),
        "deliveries": await AppointmentDelivery.all().order_by("id").values_list("id", "key", "applied_at"),
        "outbox": await OutboxEntry.all().order_by("id").values_list("topic", "aggregate_id"),
        "sync_log": await SyncLogEntry.all().order_by("id").values_list("action", "outcome"),
        "conflicts": await SyncConflict.all().order_by("id").values_list("booking_id", "status"),
        "notifications": await Notification.all().order_by("id").values_list("user_id", "kind"),
    }


def apart_from(state: dict[str, Any], *names: str) -> dict[str, Any]:
    """`state` (of `stored`) without the parts `names`."""
    return {name: rows for name, rows in state.items() if name not in names}
