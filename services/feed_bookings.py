"""The bookings of a calendar feed or an export, read from the database and written as iCalendar
(domain.calendar_feeds), within the bound of one answer (domain.feed_window).

Terms: the *scope* is whose bookings: a staff member's, a business's (every staff member's) or a customer's (the
bookings they made, at any business). Only confirmed bookings are shown; busy blocks (time imported from personal
calendars, or blocked by hand) are never in a feed or an export. A feed holds its window around now, nearest
first as far as its bound allows; an export holds exactly its range, or is refused when that is over the bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.expressions import Q
from tortoise.functions import Count

from domain.calendar_feeds import FeedBooking, FeedSeries, FeedView, entry_text, feed_entries, feed_ics
from domain.feed_window import MAX_EXPORT_DAYS, Candidate, Selection, feed_window, select_within
from models import Booking, BookingSeries, BookingStatus, Business, CalendarFeed, Staff
from services import validation
from services.access import is_owner, manages_schedule, require_signed_in
from services.auth import Viewer
from services.errors import InvalidInputError, NotAuthorizedError, NotFoundError, ServiceError

CUSTOMER_CALENDAR = "My bookings"


class ExportTooLargeError(ServiceError):
    """The range holds more bookings than one export may (each occurrence of a series counted)."""

    def __init__(self, booking_count: int, max_bookings: int) -> None:
        super().__init__(f"This range holds {booking_count:,} bookings (each occurrence of a series counted); an "
                         f"export holds at most {max_bookings:,}. Ask for a shorter range.")
        self.booking_count, self.max_bookings = booking_count, max_bookings


@dataclass(frozen=True)
class Scope:
    view: FeedView
    subject_id: int

    def where(self) -> Q:
        if self.view == FeedView.STAFF:
            return Q(staff_id=self.subject_id)
        if self.view == FeedView.BUSINESS:
            return Q(business_id=self.subject_id)
        return Q(customer_id=self.subject_id)

    def holds(self, booking: Booking) -> bool:
        value = {FeedView.STAFF: booking.staff_id, FeedView.BUSINESS: booking.business_id,
                 FeedView.CUSTOMER: booking.customer_id}[self.view]
        return value == self.subject_id


@dataclass(frozen=True)
class Export:
    ics: bytes
    booking_count: int  # the bookings shown (each occurrence of a series one)


def _candidates(rows: Sequence[dict[str, object]]) -> list[Candidate]:
    return [Candidate(int(str(row["id"])), None if row["series_id"] is None else int(str(row["series_id"])))
            for row in rows]


async def _series_sizes(candidates: Sequence[Candidate]) -> dict[int, int]:
    ids = sorted({candidate.series_id for candidate in candidates if candidate.series_id is not None})
    if not ids:
        return {}
    rows = await Booking.filter(series_id__in=ids).annotate(occurrences=Count("id")).group_by(
        "series_id").values("series_id", "occurrences")
    return {int(row["series_id"]): int(row["occurrences"]) for row in rows}


async def _selection(candidates: list[Candidate], budget: int) -> Selection:
    return select_within(candidates, await _series_sizes(candidates), budget)


async def _rows(selection: Selection) -> list[Booking]:
    if not selection.booking_ids and not selection.series_ids:
        return []
    return await Booking.filter(Q(id__in=list(selection.booking_ids)) | Q(series_id__in=list(selection.series_ids))
                                ).select_related("service", "staff", "business").order_by("starts_at", "id")


async def _ics(name: str, scope: Scope, rows: Sequence[Booking], host: str,
               shown_span: tuple[datetime, datetime] | None = None) -> tuple[bytes, int]:
    """The calendar called `name` of the rows in `scope` (within `shown_span` when given: an export's range), and
    how many bookings it shows."""

    def shown(row: Booking) -> bool:
        inside = shown_span is None or (row.ends_at > shown_span[0] and row.starts_at < shown_span[1])
        return row.status == BookingStatus.CONFIRMED and scope.holds(row) and inside

    series_ids = sorted({row.series_id for row in rows if row.series_id is not None})
    series = {item.id: FeedSeries(item.id, item.rrule, item.time_zone, item.starts_at or first_start(rows, item.id))
              for item in await BookingSeries.filter(id__in=series_ids)} if series_ids else {}
    bookings = [FeedBooking(
        id=row.id, starts_at=row.starts_at, ends_at=row.ends_at, time_zone=row.staff.time_zone, version=row.version,
        changed_at=row.updated_at, shown=shown(row), series_id=row.series_id, occurrence_index=row.occurrence_index,
        text=entry_text(scope.view, service=row.service.name, customer=row.customer_name, staff=row.staff.name,
                        business=row.business.name, address=row.business.address,
                        business_phone=row.business.phone)) for row in rows]
    # Writing a large calendar takes CPU (about half a millisecond an event): off the event loop, like password
    # hashing, so other requests go on meanwhile.
    body = await asyncio.to_thread(lambda: feed_ics(name, feed_entries(bookings, series, host)))
    return body, sum(1 for booking in bookings if booking.shown)


def first_start(rows: Sequence[Booking], series_id: int) -> datetime:
    """A series' first planned start for a series stored without one: its first occurrence's start."""
    return min((row for row in rows if row.series_id == series_id),
               key=lambda row: row.occurrence_index or 0).starts_at


async def _name(scope: Scope) -> str:
    if scope.view == FeedView.STAFF:
        staff = await Staff.get(id=scope.subject_id).select_related("business")
        return f"{staff.name} – {staff.business.name}"
    if scope.view == FeedView.BUSINESS:
        return (await Business.get(id=scope.subject_id)).name
    return CUSTOMER_CALENDAR


async def feed_calendar(feed: CalendarFeed, now: datetime, host: str, budget: int) -> bytes:
    """The feed's calendar as it is now: its scope's confirmed bookings overlapping the window, nearest first
    while they fit `budget` (booking rows, see domain.feed_window)."""
    scope = Scope(FeedView(feed.kind.value), feed.subject_id)
    starts, ends = feed_window(now)
    query = Booking.filter(scope.where(), status=BookingStatus.CONFIRMED)
    coming = await query.filter(ends_at__gt=now, starts_at__lt=ends).order_by("starts_at", "id").limit(
        budget).values("id", "series_id")
    over = await query.filter(ends_at__lte=now, ends_at__gt=starts).order_by("-starts_at", "-id").limit(
        budget).values("id", "series_id")
    selection = await _selection(_candidates([*coming, *over]), budget)
    body, _shown = await _ics(await _name(scope), scope, await _rows(selection), host)
    return body


async def _export_scope(viewer: Viewer, staff_id: int | None, business_id: int | None) -> Scope:
    require_signed_in(viewer)
    if (staff_id is None) == (business_id is None):
        raise InvalidInputError([], "Give exactly one of staffId and businessId")
    if staff_id is not None:
        staff = await Staff.get_or_none(id=staff_id)
        if staff is None:
            raise NotFoundError("Staff", ["staffId"])
        if not await manages_schedule(viewer, staff):
            raise NotAuthorizedError("Only the owner or this staff member may export this staff member's bookings")
        return Scope(FeedView.STAFF, staff.id)
    assert business_id is not None
    if not await Business.exists(id=business_id):
        raise NotFoundError("Business", ["businessId"])
    if not await is_owner(viewer, business_id):
        raise NotAuthorizedError("Only the business owner may export the whole business's bookings")
    return Scope(FeedView.BUSINESS, business_id)


async def export_bookings(viewer: Viewer, staff_id: int | None, business_id: int | None, starts: datetime,
                          ends: datetime, host: str, budget: int) -> Export:
    """The confirmed bookings of a staff member (the owner, or that staff member) or of a business (its owner)
    overlapping [starts, ends), at most MAX_EXPORT_DAYS long, as one calendar; ExportTooLargeError when they are
    more than `budget` booking rows (domain.feed_window)."""
    scope = await _export_scope(viewer, staff_id, business_id)
    start = validation.instant(starts, ["from"]).astimezone(UTC)
    end = validation.instant(ends, ["to"]).astimezone(UTC)
    if end <= start:
        raise InvalidInputError(["to"], "The end of the range must be after its start")
    if (end - start).total_seconds() > MAX_EXPORT_DAYS * 86400:
        raise InvalidInputError(["to"], f"Ask for at most {MAX_EXPORT_DAYS} days at once")
    query = Booking.filter(scope.where(), status=BookingStatus.CONFIRMED, ends_at__gt=start, starts_at__lt=end)
    count = await query.count()
    if count > budget:
        raise ExportTooLargeError(count, budget)
    selection = await _selection(_candidates(await query.order_by("starts_at", "id").values("id", "series_id")),
                                 budget)
    if not selection.complete:
        raise ExportTooLargeError(selection.needed, budget)
    body, shown = await _ics(await _name(scope), scope, await _rows(selection), host, (start, end))
    return Export(body, shown)

