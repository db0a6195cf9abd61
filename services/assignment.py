"""Who performs a new booking, decided inside its transaction: the staff member it names, or, when it names none,
the one the service's assignment policy picks among those who perform it and are free (domain.assignment).

Before anything is read, the candidates' staff locks are taken: the named staff member's own lock, or every
candidate's held at once, in id order (services.locks.hold_staff_pool). Bookings of a staff member (made, moved,
cancelled, imported) all take that staff member's lock, so until this booking commits neither the candidates'
schedules nor the figures the policy weighs (their bookings of the service) can change, and two bookings of one
pool choose one after the other, each seeing what the one before it booked: fair under concurrency. The chosen
staff member then takes their lock proper (services.locks.lock_staff: their schedule gets a new version).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.functions import Count

from domain.assignment import AssignmentPolicy, Candidate, balance_window, choose_staff, figures_needed
from domain.intervals import Span
from models import Booking, BookingStatus, Service, Staff, StaffPriority
from services.availability import load_availability, slot_rules
from services.booking_rules import refuse_archived, refuse_withdrawn, unbookable_starts
from services.errors import SlotUnavailableError
from services.locks import hold_staff_pool, lock_staff


@dataclass(frozen=True)
class Assignment:
    """The staff member a booking goes to, and the starts it asks of them (a series' occurrences in their zone)."""

    staff: Staff
    starts: list[datetime]


async def assign_staff(service: Service, candidates: Sequence[Staff], starts_of: Mapping[int, list[datetime]],
                       now: datetime, customer_rules: bool, connection: BaseDBAsyncClient, *, named: bool
                       ) -> Assignment:
    """The candidate (in id order) who gets the booking, with their staff lock taken in `connection`'s
    transaction; SlotUnavailableError when none of them is free (naming the starts taken for the candidate who
    came closest: the fewest taken, the first of those).

    `named`: the booking names its staff member (the one candidate), who must still be active; otherwise candidates
    deactivated since they were listed are passed over. Either way the service must still be offered. Both are read
    under the locks, which archiving and deactivating take too."""
    pooled = len(candidates) > 1
    if not pooled:
        await lock_staff(candidates[0].id, connection)
    else:
        await hold_staff_pool([member.id for member in candidates], connection)
    if named:
        await refuse_withdrawn(service.id, candidates[0].id, ["input", "staffId"], connection)
    else:
        candidates = await _still_offered(service, candidates, starts_of, connection)
    rules = slot_rules(service)
    around = Span(min(starts[0] for starts in starts_of.values()) - rules.buffer_before,
                  max(starts[-1] for starts in starts_of.values()) + rules.duration + rules.buffer_after)
    loaded = await load_availability(candidates, around, connection=connection)
    taken = {schedule.staff_id: unbookable_starts(schedule, service, starts_of[schedule.staff_id], now,
                                                  customer_rules) for schedule in loaded}
    free = [member.id for member in candidates if not taken[member.id]]
    if not pooled:  # named, or a pool of one: their lock is taken already, and nothing is weighed
        chosen = free[0] if free else None
    else:
        first = starts_of[candidates[0].id][0]  # the booking's first start: the same instant in every zone
        policy = AssignmentPolicy(service.assignment_policy)
        weighed = await _free_candidates(service.id, free, figures_needed(policy), first, connection)
        chosen = choose_staff(policy, [weighed.get(member.id, Candidate(member.id, free=False))
                                       for member in candidates])
        if chosen is not None:
            await lock_staff(chosen, connection)
    if chosen is None:
        raise SlotUnavailableError(min(taken.values(), key=len))
    (staff,) = [member for member in candidates if member.id == chosen]
    return Assignment(staff, starts_of[chosen])


async def _still_offered(service: Service, candidates: Sequence[Staff], starts_of: Mapping[int, list[datetime]],
                         connection: BaseDBAsyncClient) -> Sequence[Staff]:
    """The pool's candidates who are still active, under their held locks; ServiceArchivedError when the service
    was archived meanwhile, SlotUnavailableError when nobody is left."""
    await refuse_archived(service.id, connection)
    active = set(await Staff.filter(id__in=[member.id for member in candidates], active=True).using_db(
        connection).values_list("id", flat=True))
    left = [member for member in candidates if member.id in active]
    if not left:
        raise SlotUnavailableError(starts_of[candidates[0].id])
    return left


async def _free_candidates(service_id: int, staff_ids: list[int], needed: frozenset[str], first: datetime,
                           connection: BaseDBAsyncClient) -> dict[int, Candidate]:
    """The free candidates with the figures the policy weighs, read under their held locks."""
    if not staff_ids:
        return {}
    found = {staff_id: Candidate(staff_id, free=True) for staff_id in staff_ids}
    confirmed = Booking.filter(service_id=service_id, status=BookingStatus.CONFIRMED).using_db(connection)
    if "last_assignment" in needed:
        for staff_id in staff_ids:
            # One index seek each (service, staff, status, id), however many bookings they have had.
            latest = await confirmed.filter(staff_id=staff_id).order_by("-id").first().values_list("id", flat=True)
            if latest is not None:
                found[staff_id] = replace(found[staff_id], last_assignment=int(str(latest)))
    if "load" in needed:
        week = balance_window(first)
        counts = await confirmed.filter(staff_id__in=staff_ids, starts_at__gte=week.start,
                                        starts_at__lt=week.end).annotate(load=Count("id")).group_by(
            "staff_id").values_list("staff_id", "load")
        for staff_id, load in counts:
            found[int(str(staff_id))] = replace(found[int(str(staff_id))], load=int(str(load)))
    if "priority" in needed:
        for staff_id, priority in await StaffPriority.filter(service_id=service_id, staff_id__in=staff_ids).using_db(
                connection).values_list("staff_id", "priority"):
            found[int(str(staff_id))] = replace(found[int(str(staff_id))], priority=int(str(priority)))
    return found
