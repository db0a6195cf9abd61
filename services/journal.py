"""The journal: one staff member's (or a whole business's) bookings, imported busy blocks and blocked time as one
list of calendar events (domain.journal), a page at a time.

Entries are ordered by start, then bookings before blocks, then by row ID, behind an opaque cursor that names the
last entry of a page. A page costs a bounded number of queries whatever its size: one per kind of row, one for the
appointments being moved, and those of services.journal_sync for the bookings' sync states.

Who sees what: the business owner reads the whole business or any one staff member; a staff member reads only
themself. Titles follow services.access.block_title (a personal event's title is the staff member's alone).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from domain.intervals import Span
from domain.journal import EventKind, EventStatus, block_status, booking_status, wanted_statuses
from models import (
    Booking,
    BookingStatus,
    Business,
    BusyBlock,
    BusyBlockSource,
    ImportedAppointment,
    Provider,
    Staff,
)
from models.database import MAX_ROW_ID, ROW_ID_DIGITS
from services.access import block_title, require_owner, require_signed_in
from services.auth import Viewer
from services.availability import window
from services.booking_queries import LOCKSTEP_SOURCE
from services.duplicate_facts import settled_duplicates
from services.errors import InvalidInputError, NotFoundError
from services.journal_sync import SyncState, sync_states
from services.sync_queries import managed_staff

MAX_PAGE = 100
MANUAL_SOURCE = "manual"
# Every source an entry can have: bookings made here, each provider's (its bookings, or its calendars' blocks), and
# blocked time. Read from the provider enum, so a new provider is a source at once.
SOURCES = (LOCKSTEP_SOURCE, *(provider.value for provider in Provider), MANUAL_SOURCE)
_CURSOR_PREFIX = "journal:"
_RANK = {EventKind.BOOKING: 0, EventKind.BUSY_BLOCK: 1, EventKind.BLOCKED_TIME: 1}  # both blocks are one table


@dataclass(frozen=True)
class JournalFilter:
    """What to list: None lists every kind and source; `statuses` as domain.journal.wanted_statuses gives them."""

    kinds: frozenset[EventKind] | None = None
    sources: frozenset[str] | None = None
    statuses: frozenset[EventStatus] = frozenset(EventStatus) - {EventStatus.CANCELLED}


# Every entry of every kind, source and status: the entries `node` may answer.
EVERY_ENTRY = JournalFilter(statuses=frozenset(EventStatus))


def journal_filter(kinds: Sequence[str] | None, sources: Sequence[str] | None, statuses: Sequence[str] | None,
                   include_cancelled: bool) -> JournalFilter:
    """The filter of these kind, source and status values (None: every value; for statuses as
    domain.journal.wanted_statuses reads them)."""
    return JournalFilter(
        kinds=None if kinds is None else frozenset(EventKind(kind) for kind in kinds),
        sources=None if sources is None else frozenset(sources),
        statuses=wanted_statuses(None if statuses is None else [EventStatus(value) for value in statuses],
                                 include_cancelled))


@dataclass(frozen=True)
class JournalEntry:
    """One calendar event. `source`: one of SOURCES. `calendar_name` and `calendar_colour` are those of an imported
    block's calendar (None otherwise); `sync_states` those of a booking (empty otherwise)."""

    kind: EventKind
    ref: int
    staff_id: int
    starts_at: datetime
    ends_at: datetime
    all_day: bool
    title: str
    source: str
    status: EventStatus
    calendar_name: str | None
    calendar_colour: str | None
    booking: Booking | None
    busy_block: BusyBlock | None
    sync_states: tuple[SyncState, ...]


@dataclass(frozen=True)
class JournalPage:
    entries: list[JournalEntry]
    cursors: list[str]
    has_next_page: bool


Position = tuple[datetime, int, int]  # start, rank of the kind, row ID


def _cursor(entry: JournalEntry) -> str:
    raw = f"{_CURSOR_PREFIX}{entry.starts_at.astimezone(UTC).isoformat()}|{_RANK[entry.kind]}|{entry.ref}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _position(cursor: str) -> Position:
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not raw.startswith(_CURSOR_PREFIX):
            raise ValueError("not a journal cursor")
        when, rank, ident = raw[len(_CURSOR_PREFIX):].split("|")
        moment = datetime.fromisoformat(when)
        if moment.utcoffset() is None or rank not in ("0", "1"):
            raise ValueError("not a journal position")
        if not ROW_ID_DIGITS.fullmatch(ident) or int(ident) > MAX_ROW_ID:
            raise ValueError("not a row ID")
        return moment.astimezone(UTC), int(rank), int(ident)
    except (ValueError, UnicodeDecodeError, binascii.Error, OverflowError) as exc:
        raise InvalidInputError(["after"], "This cursor is not valid") from exc


def _after(position: Position | None, rank: int) -> Q:
    """Rows of a kind of `rank` that come after `position`."""
    if position is None:
        return Q()
    when, after_rank, ident = position
    if rank < after_rank:
        return Q(starts_at__gt=when)
    if rank > after_rank:
        return Q(starts_at__gte=when)
    return Q(starts_at__gt=when) | Q(starts_at=when, id__gt=ident)


async def journal_staff(viewer: Viewer, staff_id: int | None, business_id: int | None) -> list[Staff]:
    """The staff members whose journal the viewer asks for: one (the owner's or their own), or a business's (its
    owner only)."""
    require_signed_in(viewer)
    if (staff_id is None) == (business_id is None):
        raise InvalidInputError(["staffId"], "Give exactly one of staffId and businessId")
    if staff_id is not None:
        return [await managed_staff(viewer, staff_id, ["staffId"])]
    assert business_id is not None
    if not await Business.exists(id=business_id):
        raise NotFoundError("Business", ["businessId"])
    await require_owner(viewer, business_id)
    return list(await Staff.filter(business_id=business_id).order_by("id"))


def _moving_appointments() -> QuerySet[ImportedAppointment]:
    # The old half of a reschedule at the appointment provider: still held (active), its successor named.
    return ImportedAppointment.filter(active=True).exclude(successor="")


# The two status queries below say in SQL what domain.journal's booking_status and block_status say of one row (the
# API tests check that each status filter lists exactly the entries of that status).
def _booking_statuses(wanted: Collection[EventStatus], now: datetime) -> Q:
    moving = Subquery(_moving_appointments().filter(booking_id__isnull=False).values("booking_id"))
    running = Q(status=BookingStatus.CONFIRMED, ends_at__gt=now)
    chosen = {
        EventStatus.CANCELLED: Q(status=BookingStatus.CANCELLED),
        EventStatus.COMPLETED: Q(status=BookingStatus.CONFIRMED, ends_at__lte=now),
        EventStatus.PENDING: running & Q(id__in=moving),
        EventStatus.CONFIRMED: running & ~Q(id__in=moving),
    }
    return _any([query for status, query in chosen.items() if status in wanted])


def _block_statuses(wanted: Collection[EventStatus]) -> Q:
    moving = Subquery(_moving_appointments().filter(busy_block_id__isnull=False).values("busy_block_id"))
    chosen = {
        EventStatus.PENDING: Q(id__in=moving),
        EventStatus.TENTATIVE: Q(tentative=True) & ~Q(id__in=moving),
        EventStatus.CONFIRMED: Q(tentative=False) & ~Q(id__in=moving),
    }
    return _any([query for status, query in chosen.items() if status in wanted])


def _any(queries: Sequence[Q]) -> Q:
    """Rows matching any of `queries`; none when there are none."""
    if not queries:
        return Q(id=-1)
    return Q(*queries, join_type="OR")


def _block_sources(where: JournalFilter) -> Q:
    kinds = where.kinds if where.kinds is not None else frozenset(EventKind)
    sources = frozenset(SOURCES) if where.sources is None else where.sources
    chosen = []
    if EventKind.BLOCKED_TIME in kinds and MANUAL_SOURCE in sources:
        chosen.append(Q(source=BusyBlockSource.MANUAL))
    providers = sorted(sources & {provider.value for provider in Provider})
    if EventKind.BUSY_BLOCK in kinds and providers:
        chosen.append(Q(source=BusyBlockSource.EXTERNAL, external_calendar__connection__provider__in=providers))
    return _any(chosen)


def listed_bookings(staff_ids: list[int], span: Span, where: JournalFilter, now: datetime) -> QuerySet[Booking]:
    """The bookings of these staff members that their journal lists over `span` under `where`."""
    wanted = where.kinds is None or EventKind.BOOKING in where.kinds
    query = Booking.filter(staff_id__in=staff_ids, ends_at__gt=span.start, starts_at__lt=span.end).filter(
        _booking_statuses(where.statuses, now) if wanted else _any([]))
    return query if where.sources is None else query.filter(source__in=sorted(where.sources))


async def listed_blocks(staff_ids: list[int], span: Span, where: JournalFilter) -> QuerySet[BusyBlock]:
    """The blocks of these staff members that their journal lists over `span` under `where` (a dropped duplicate
    not while it stays hidden)."""
    return BusyBlock.filter(staff_id__in=staff_ids, ends_at__gt=span.start, starts_at__lt=span.end).filter(
        _block_sources(where)).filter(_block_statuses(where.statuses)).exclude(
        id__in=await settled_duplicates(staff_ids, span))


async def _bookings(staff_ids: list[int], span: Span, where: JournalFilter, position: Position | None,
                    limit: int, now: datetime) -> list[Booking]:
    query = listed_bookings(staff_ids, span, where, now).filter(_after(position, _RANK[EventKind.BOOKING]))
    return list(await query.order_by("starts_at", "id").limit(limit).select_related("service"))


async def _blocks(staff_ids: list[int], span: Span, where: JournalFilter, position: Position | None,
                  limit: int) -> list[BusyBlock]:
    query = (await listed_blocks(staff_ids, span, where)).filter(_after(position, _RANK[EventKind.BUSY_BLOCK]))
    return list(await query.order_by("starts_at", "id").limit(limit).select_related("external_calendar__connection"))


async def _moving(bookings: list[Booking], blocks: list[BusyBlock]) -> tuple[set[int], set[int]]:
    """Which of these bookings and blocks an appointment provider is moving."""
    if not bookings and not blocks:
        return set(), set()
    rows = await _moving_appointments().filter(
        Q(booking_id__in=[row.id for row in bookings]) | Q(busy_block_id__in=[row.id for row in blocks])
    ).values_list("booking_id", "busy_block_id")
    return {booking for booking, _ in rows if booking is not None}, {block for _, block in rows if block is not None}


def _booking_entry(row: Booking, now: datetime, moving: set[int], states: tuple[SyncState, ...]) -> JournalEntry:
    status = booking_status(cancelled=row.status == BookingStatus.CANCELLED, ends_at=row.ends_at, now=now,
                            moving=row.id in moving)
    return JournalEntry(EventKind.BOOKING, row.id, row.staff_id, row.starts_at, row.ends_at, False,
                        f"{row.service.name} – {row.customer_name}", row.source, status, None, None, row, None,
                        states)


def _block_entry(viewer: Viewer, row: BusyBlock, staff: Staff, moving: set[int]) -> JournalEntry:
    calendar = row.external_calendar
    status = block_status(tentative=row.tentative, moving=row.id in moving)
    if row.source == BusyBlockSource.MANUAL or calendar is None:
        return JournalEntry(EventKind.BLOCKED_TIME, row.id, row.staff_id, row.starts_at, row.ends_at, row.all_day,
                            block_title(viewer, row, staff), MANUAL_SOURCE, status, None, None, None, row, ())
    return JournalEntry(EventKind.BUSY_BLOCK, row.id, row.staff_id, row.starts_at, row.ends_at, row.all_day,
                        block_title(viewer, row, staff), str(calendar.connection.provider.value), status,
                        calendar.name, calendar.colour or None, None, row, ())


def _row_order(row: Booking | BusyBlock) -> Position:
    kind = EventKind.BOOKING if isinstance(row, Booking) else EventKind.BUSY_BLOCK
    return row.starts_at.astimezone(UTC), _RANK[kind], row.id


async def entries_of(viewer: Viewer, staff: Sequence[Staff], rows: Sequence[Booking | BusyBlock],
                     now: datetime) -> list[JournalEntry]:
    """The entries of these bookings (with their services) and blocks (with their calendars and connections) of
    `staff`, in their order, as `viewer` may see them."""
    bookings = [row for row in rows if isinstance(row, Booking)]
    blocks = [row for row in rows if isinstance(row, BusyBlock)]
    moving_bookings, moving_blocks = await _moving(bookings, blocks)
    states = await sync_states(bookings, now)
    by_id = {member.id: member for member in staff}
    return [_booking_entry(row, now, moving_bookings, states.get(row.id, ())) if isinstance(row, Booking)
            else _block_entry(viewer, row, by_id[row.staff_id], moving_blocks) for row in rows]


async def journal(viewer: Viewer, staff: Sequence[Staff], starts: datetime, ends: datetime, where: JournalFilter,
                  first: int, after: str | None, now: datetime) -> JournalPage:
    """A page of the journal of `staff` (as journal_staff gave them) between `starts` and `ends`: every entry that
    overlaps the window, first by start."""
    if not 1 <= first <= MAX_PAGE:
        raise InvalidInputError(["first"], f"Ask for between 1 and {MAX_PAGE} entries")
    span = window(starts, ends)
    position = _position(after) if after else None
    staff_ids = [member.id for member in staff]
    bookings = await _bookings(staff_ids, span, where, position, first + 1, now)
    blocks = await _blocks(staff_ids, span, where, position, first + 1)
    # Each list is already in order and holds at least a page: the page is the first rows of the two together.
    rows: list[Booking | BusyBlock] = sorted([*bookings, *blocks], key=_row_order)
    page = rows[:first]
    entries = await entries_of(viewer, staff, page, now)
    return JournalPage(entries, [_cursor(entry) for entry in entries], len(rows) > first)
