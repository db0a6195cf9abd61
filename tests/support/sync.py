"""A business with one staff member whose calendar is connected, built straight through models and services, for
tests of the sync engine below GraphQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.conflicts import ConflictPolicy
from models import (
    Booking,
    Business,
    CalendarConnection,
    ExternalCalendar,
    Provider,
    Service,
    Staff,
    User,
    UserRole,
    WorkingHoursRange,
)
from services.auth import Viewer
from services.booking_party import BookingRequest, CustomerDetails
from services.bookings import create_booking


@dataclass(frozen=True)
class ConnectedStaff:
    owner: Viewer
    staff: Staff
    service: Service
    connection: CalendarConnection
    calendar: ExternalCalendar


async def given_connected_staff(calendar_id: str = "work", *, zone: str = "Europe/Berlin",
                                policy: ConflictPolicy = ConflictPolicy.ASK, credentials: str = "",
                                provider: Provider = Provider.CALDAV, duration: int = 60) -> ConnectedStaff:
    """Given an owner, a staff member working 8:00-20:00 every day in `zone`, a service, and a CalDAV connection
    whose one calendar imports busy time and is the destination."""
    owner = await User.create(email="owner@example.com", name="Olga Owner", password_hash="-", role=UserRole.OWNER)
    member = await User.create(email="sam@example.com", name="Sam Tech", password_hash="-", role=UserRole.STAFF)
    business = await Business.create(name="Fix-It", time_zone=zone, owner=owner)
    staff = await Staff.create(business=business, user=member, name="Sam Tech", email="sam@example.com",
                               time_zone=zone)
    for weekday in range(7):
        await WorkingHoursRange.create(staff=staff, weekday=weekday, start_minute=8 * 60, end_minute=20 * 60)
    service = await Service.create(business=business, name="Boiler check", duration_minutes=duration,
                                   slot_step_minutes=30, booking_horizon_days=400, colour="#3366cc")
    await service.staff.add(staff)
    connection = await CalendarConnection.create(staff=staff, provider=provider, account_label="sam@example.com",
                                                 credentials=credentials, conflict_policy=policy)
    calendar = await ExternalCalendar.create(connection=connection, provider_calendar_id=calendar_id, name="Work",
                                             time_zone=zone, import_busy=True, is_destination=True, primary=True)
    return ConnectedStaff(Viewer(owner.id, UserRole.OWNER), staff, service, connection, calendar)


async def book(given: ConnectedStaff, starts_at: datetime, now: datetime, *, recurrence: str | None = None,
               name: str = "Cleo Customer") -> list[Booking]:
    request = BookingRequest(service_id=given.service.id, starts_at=starts_at, staff_id=given.staff.id,
                             customer=CustomerDetails(name=name, email="cleo@example.com"), recurrence=recurrence)
    return await create_booking(given.owner, request, now)


def personal_event(uid: str, start: datetime, minutes: int = 60, *, summary: str = "Dentist",
                   extra: str = "") -> str:
    """A plain iCalendar object as a calendar app would write it (UTC times)."""
    end = start + timedelta(minutes=minutes)
    stamp = "20260101T000000Z"
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:{stamp}\r\nDTSTART:{start:%Y%m%dT%H%M%SZ}\r\nDTEND:{end:%Y%m%dT%H%M%SZ}\r\n"
            f"SUMMARY:{summary}\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n")
