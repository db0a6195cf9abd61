"""What a booking request asks for, checked before anything is written: who may take it, the starts of a (recurring)
request, and which of them cannot be booked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.availability import StaffAvailability, why_unbookable
from domain.intervals import Span
from domain.recurrence import RecurrenceError, occurrence_starts
from models import Service, Staff
from services import validation
from services.availability import slot_rules
from services.errors import InvalidInputError, NotFoundError, ServiceArchivedError, StaffInactiveError


def occurrences(recurrence: str | None, first: datetime, zone: str) -> list[datetime]:
    """The starts a booking request asks for: `first` alone, or every occurrence of its RRULE in the staff member's
    zone."""
    if recurrence is None:
        return [first]
    try:
        starts = occurrence_starts(recurrence, first, zone)
    except RecurrenceError as exc:
        raise InvalidInputError(["input", "recurrence"], exc.reason) from exc
    if starts[-1].year > validation.LATEST_YEAR:
        raise InvalidInputError(["input", "recurrence"], f"The series runs past the year {validation.LATEST_YEAR}")
    return starts


def unbookable_starts(
    availability: StaffAvailability, service: Service, starts: Sequence[datetime], now: datetime, customer_rules: bool
) -> list[datetime]:
    """Starts that cannot be booked, counting earlier occurrences of the same request as taken."""
    rules = slot_rules(service)
    taken: list[datetime] = []
    for start in starts:
        if why_unbookable(availability, rules, start, now, customer_rules=customer_rules) is not None:
            taken.append(start)
            continue
        buffered = Span(start - rules.buffer_before, start + rules.duration + rules.buffer_after)
        availability = replace(availability, busy=(*availability.busy, buffered))
    return taken


async def qualified_staff(service: Service, staff_ids: Sequence[int] | None, path: list[str | int],
                          *, indexed: bool = True) -> list[Staff]:
    """The staff who take bookings of the service, narrowed to `staff_ids` when given (each must perform it and
    be active, else NotFoundError or StaffInactiveError). Without `staff_ids`, inactive staff are skipped.

    `path` names the input field; `indexed` says it is a list, so an error names the offending position."""
    if staff_ids is None:
        return list(await service.staff.filter(active=True).order_by("id"))
    performing = await service.staff.filter(id__in=list(staff_ids))
    by_id = {member.id: member for member in performing}
    chosen = []
    for index, staff_id in enumerate(staff_ids):
        where = [*path, index] if indexed else path
        if staff_id not in by_id:
            raise NotFoundError("Staff performing this service", where)
        if not by_id[staff_id].active:
            raise StaffInactiveError(where)
        chosen.append(by_id[staff_id])
    return chosen


async def refuse_withdrawn(service_id: int, staff_id: int, staff_path: list[str | int],
                           db: BaseDBAsyncClient) -> None:
    """Refuse new time for a service that was archived, or for a staff member who was deactivated, as the database
    has them under the staff member's lock (taken first, and also taken by archiving and deactivating): either
    change committed before this booking's transaction and is seen here, or it waits until the booking is made (it
    is then one of the bookings that stay)."""
    await refuse_archived(service_id, db)
    await refuse_inactive(staff_id, staff_path, db)


async def refuse_archived(service_id: int, db: BaseDBAsyncClient) -> None:
    """ServiceArchivedError when the service was archived (read under the staff locks, as refuse_withdrawn says)."""
    if await Service.filter(id=service_id, archived_at__not_isnull=True).using_db(db).exists():
        raise ServiceArchivedError(["input", "serviceId"])


async def refuse_inactive(staff_id: int, staff_path: list[str | int], db: BaseDBAsyncClient) -> None:
    """StaffInactiveError when the staff member was deactivated (read under their lock, as refuse_withdrawn says)."""
    if not await Staff.filter(id=staff_id, active=True).using_db(db).exists():
        raise StaffInactiveError(staff_path)
