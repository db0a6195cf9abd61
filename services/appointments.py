"""Applying a report of an appointment made at an appointment provider (Calendly): the time it takes in Lockstep.

domain.appointments decides what the report does; this applies it in one transaction, under the staff member's lock
(the lock every booking change takes first): the holder is created, moved or released, the known appointment
stored, the step logged, and the live events (bookingChanged, availabilityChanged) published once it has committed.

The holder is a booking when the appointment's event type is mapped to a service (`AppointmentType.service`),
else a busy block. Its time was already given away at the provider, so only one rule of Lockstep's applies: it never
overlaps another confirmed booking. An appointment that would becomes a busy block instead (its time stays taken).
Every block over a confirmed booking (that one, an unmapped appointment's, one moved by a reschedule) goes through the
connection's conflict policy like any busy event (services.sync_edits), which notifies the staff member and the
owner: a customer's booking is never silently overwritten.

A booking held for an appointment has an event mapping in the provider's calendar (the appointment's event URI,
marked synced): cancelling the booking in Lockstep re-opens it, and the push cancels the appointment at the
provider (jobs.push). A release the provider itself reported first unlinks that mapping, so nothing is sent back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F

from domain.appointments import (
    AppointmentStep,
    KnownAppointment,
    after_plan,
    event_of_invitee,
    plan_appointment,
)
from domain.calendly import Appointment, Host
from domain.intervals import Span
from domain.sync import StoredBlock
from models import (
    AppointmentHost,
    AppointmentType,
    Booking,
    BookingStatus,
    Business,
    BusyBlock,
    BusyBlockSource,
    CalendarConnection,
    ConnectionHealth,
    EventMapping,
    EventMappingState,
    ExternalCalendar,
    ImportedAppointment,
    OutboxEntry,
    Staff,
)
from services import live, stage_stamps
from services.bookings import cancel_bookings_for_calendar
from services.locks import lock_staff
from services.sync_edits import reconcile_busy_overlaps
from services.sync_health import log_action
from services.transactions import committed

# A connection awaiting re-authorisation still takes its deliveries: they carry the appointment itself, and its
# time is taken whether or not Lockstep can call the provider back (only disconnecting ends them).
_LIVE = (ConnectionHealth.ACTIVE, ConnectionHealth.DEGRADED, ConnectionHealth.REAUTHORIZATION_REQUIRED)
MAX_NOTES = 4000


def _known(row: ImportedAppointment | None) -> KnownAppointment | None:
    if row is None:
        return None
    return KnownAppointment(row.event_uri, row.invitee_uri, row.starts_at, row.ends_at, row.active, row.successor,
                            row.remote_updated_at)


def _notes(report: Appointment) -> str:
    """The invitee's answers, as the booking's customer notes."""
    return "\n".join(f"{question}: {answer}" for question, answer in report.answers)[:MAX_NOTES]


async def _booking_overlaps(staff_id: int, start: datetime, end: datetime, db: BaseDBAsyncClient,
                            ignore: int | None = None) -> bool:
    query = Booking.filter(staff_id=staff_id, status=BookingStatus.CONFIRMED, buffered_start__lt=end,
                           buffered_end__gt=start)
    if ignore is not None:
        query = query.exclude(id=ignore)
    return await query.using_db(db).exists()


class _Apply:
    """One report being applied inside one transaction."""

    def __init__(self, calendar: ExternalCalendar, connection: CalendarConnection, staff: Staff,
                 report: Appointment, now: datetime, db: BaseDBAsyncClient) -> None:
        self.calendar, self.connection, self.staff = calendar, connection, staff
        self.report, self.now, self.db = report, now, db

    async def take_time(self) -> tuple[int | None, int | None]:
        """A new holder for the report's time: (booking id, busy block id)."""
        report = self.report
        mapped = await AppointmentType.filter(connection_id=self.connection.id, type_uri=report.event_type_uri,
                                              service_id__not_isnull=True).using_db(self.db).first()
        if mapped is not None and not await _booking_overlaps(self.staff.id, report.starts_at, report.ends_at,
                                                              self.db):
            return await self._book(mapped.service_id or 0), None
        return None, await self._block()

    async def _book(self, service_id: int) -> int:
        report = self.report
        owner_id = (await Business.get(id=self.staff.business_id, using_db=self.db)).owner_id
        booking = await Booking.create(
            using_db=self.db, business_id=self.staff.business_id, staff_id=self.staff.id, service_id=service_id,
            customer_name=report.invitee_name or "Calendly invitee", customer_email=report.invitee_email,
            starts_at=report.starts_at, ends_at=report.ends_at, buffered_start=report.starts_at,
            buffered_end=report.ends_at, customer_notes=_notes(report), created_by_id=owner_id,
            source=self.connection.provider)
        # The appointment is the booking's event in the provider's calendar, as written (nothing to push).
        await EventMapping.create(using_db=self.db, booking_id=booking.id, external_calendar_id=self.calendar.id,
                                  external_event_id=report.event_uri, version_written=booking.version,
                                  state=EventMappingState.SYNCED)
        await OutboxEntry.create(using_db=self.db, topic="booking.created", aggregate_id=booking.id,
                                 available_at=self.now)
        await live.publish_booking_rows("created", [booking])
        return booking.id

    async def _block(self) -> int:
        report = self.report
        block = await BusyBlock.create(
            using_db=self.db, staff_id=self.staff.id, source=BusyBlockSource.EXTERNAL,
            external_calendar_id=self.calendar.id, external_event_id=report.event_uri,
            title=f"{report.event_name} with {report.invitee_name}"[:500] if report.invitee_name else report.event_name,
            starts_at=report.starts_at, ends_at=report.ends_at)
        await live.publish_availability_changed(self.staff.id, [Span(report.starts_at, report.ends_at)])
        await self._settle_overlaps(block)
        return block.id

    async def _holder_is_staffs(self, row: ImportedAppointment) -> bool:
        if row.booking_id is not None:
            owners = await Booking.filter(id=row.booking_id).using_db(self.db).values_list("staff_id", flat=True)
        elif row.busy_block_id is not None:
            owners = await BusyBlock.filter(id=row.busy_block_id).using_db(self.db).values_list("staff_id", flat=True)
        else:
            return True
        return not owners or owners[0] == self.staff.id

    async def _settle_overlaps(self, block: BusyBlock) -> None:
        """A block over a confirmed booking goes through the conflict policy, whether it holds an unmapped
        appointment or a mapped one that could not be booked (the block's own query finds none when it is clear)."""
        report = self.report
        stored = StoredBlock(report.event_uri, "", Span(report.starts_at, report.ends_at), block.title, False)
        await reconcile_busy_overlaps(self.connection, self.staff.id, (stored,), self.now, incremental=True,
                                      db=self.db)

    async def release(self, row: ImportedAppointment) -> None:
        """The holder of `row` gives its time back: the provider cancelled the appointment."""
        if row.booking_id is not None:
            await EventMapping.filter(booking_id=row.booking_id, external_calendar_id=self.calendar.id).using_db(
                self.db).update(state=EventMappingState.UNLINKED)
            await cancel_bookings_for_calendar([row.booking_id], self.now, db=self.db)
        if row.busy_block_id is not None:
            block = await BusyBlock.get_or_none(id=row.busy_block_id, using_db=self.db)
            if block is not None:
                await BusyBlock.filter(id=block.id).using_db(self.db).delete()
                await live.publish_availability_changed(self.staff.id, [Span(block.starts_at, block.ends_at)])

    async def move(self, row: ImportedAppointment) -> tuple[int | None, int | None]:
        """`row`'s holder moves to the report's time and event (the new half of a reschedule pair); to another
        staff member's time when the new appointment has another host (a new holder there, the old one released)."""
        report = self.report
        if not await self._holder_is_staffs(row):
            await self.release(row)
            return await self.take_time()
        if row.booking_id is not None:
            booking = await Booking.get(id=row.booking_id, using_db=self.db)
            if booking.status == BookingStatus.CONFIRMED and not await _booking_overlaps(
                    self.staff.id, report.starts_at, report.ends_at, self.db, ignore=booking.id):
                await Booking.filter(id=booking.id).using_db(self.db).update(
                    starts_at=report.starts_at, ends_at=report.ends_at, buffered_start=report.starts_at,
                    buffered_end=report.ends_at, version=F("version") + 1)
                moved = await Booking.get(id=booking.id, using_db=self.db)
                await EventMapping.filter(booking_id=booking.id, external_calendar_id=self.calendar.id).using_db(
                    self.db).update(external_event_id=report.event_uri, version_written=moved.version,
                                    state=EventMappingState.SYNCED)
                await OutboxEntry.create(using_db=self.db, topic="booking.rescheduled", aggregate_id=booking.id,
                                         available_at=self.now)
                await live.publish_booking_rows("rescheduled", [moved], earlier=[booking])
                return booking.id, None
            # The new time overlaps another booking: the old one is released and the new time held by a block.
            await self.release(row)
            return None, await self._block()
        if row.busy_block_id is not None:
            block = await BusyBlock.get_or_none(id=row.busy_block_id, using_db=self.db)
            if block is not None:
                await BusyBlock.filter(id=block.id).using_db(self.db).update(
                    starts_at=report.starts_at, ends_at=report.ends_at, external_event_id=report.event_uri)
                await live.publish_availability_changed(
                    self.staff.id, [Span(block.starts_at, block.ends_at), Span(report.starts_at, report.ends_at)])
                await self._settle_overlaps(block)
                return None, block.id
        return await self.take_time()


async def _store(calendar_id: int, known: dict[str, KnownAppointment], holders: dict[str, tuple[int | None,
                 int | None]], report: Appointment, stored: set[str], db: BaseDBAsyncClient) -> None:
    """Write what is now known of each appointment; `stored`: the event URIs that have a row, as read in this
    transaction under the staff member's lock (the others are inserted without an update that would find nothing)."""
    for event_uri, state in known.items():
        values: dict[str, object] = {
            "invitee_uri": state.invitee_uri, "starts_at": state.starts_at, "ends_at": state.ends_at,
            "active": state.active, "successor": state.successor, "remote_updated_at": state.updated_at}
        if event_uri == report.event_uri:
            values.update(event_type_uri=report.event_type_uri, reschedule_url=report.reschedule_url[:1000],
                          cancel_url=report.cancel_url[:1000])
        if event_uri in holders:
            values["booking_id"], values["busy_block_id"] = holders[event_uri]
        elif not state.active:
            values["booking_id"], values["busy_block_id"] = None, None
        updated = event_uri in stored and await ImportedAppointment.filter(
            external_calendar_id=calendar_id, event_uri=event_uri).using_db(db).update(**values)
        if not updated:
            await ImportedAppointment.create(using_db=db, external_calendar_id=calendar_id, event_uri=event_uri,
                                             **values)


async def host_staff(connection_id: int, hosts: Sequence[Host]) -> int | None:
    """The staff member whose time an organization's appointment takes: the first host linked by hand to one
    (AppointmentHost), else the first whose email is a staff member's of the connection's business; None when no
    host is one of the business's."""
    uris = [host.user_uri for host in hosts]
    linked = {row.host_uri: row.staff_id for row in await AppointmentHost.filter(connection_id=connection_id,
                                                                                 host_uri__in=uris)}
    for uri in uris:
        if uri in linked:
            return linked[uri]
    business_id = (await CalendarConnection.get(id=connection_id).prefetch_related("staff")).staff.business_id
    emails = [host.email.strip().lower() for host in hosts if host.email]
    if not emails:
        return None
    staff = {row.email.lower(): row.id for row in await Staff.filter(business_id=business_id)}
    return next((staff[email] for email in emails if email in staff), None)


async def apply_appointment(calendar_id: int, report: Appointment, now: datetime,
                            staff_id: int | None = None) -> AppointmentStep:
    """Apply one report of an appointment to the calendar that stands for the provider account; idempotent (the
    same report twice, or an older one, changes nothing). `staff_id`: the staff member whose time it is, when the
    caller picked them among an organisation's hosts; else the connection's. A calendar whose connection is not
    syncing (disconnected, awaiting re-authorisation) or that imports nothing is left alone."""
    calendar = await calendar_to_apply(calendar_id)
    if calendar is None:
        return AppointmentStep.NOTHING
    return await apply_appointment_to(calendar, report, now, staff_id)


async def calendar_to_apply(calendar_id: int) -> ExternalCalendar | None:
    """The calendar with its connection and the connection's staff member, as apply_appointment_to takes it."""
    return await ExternalCalendar.get_or_none(id=calendar_id).select_related("connection__staff")


async def apply_appointment_to(calendar: ExternalCalendar, report: Appointment, now: datetime,
                               staff_id: int | None = None) -> AppointmentStep:
    """apply_appointment, for a calendar its caller has read already (calendar_to_apply), so that a delivery's job
    reads it once."""
    if calendar.connection.health not in _LIVE or not calendar.import_busy:
        return AppointmentStep.NOTHING
    connection = calendar.connection
    staff = connection.staff if staff_id is None else await Staff.get(id=staff_id)
    async with committed() as db:
        await lock_staff(staff.id, db)
        stage_stamps.stamp("appointment.locked", staff.id)
        own = await ImportedAppointment.get_or_none(external_calendar_id=calendar.id, event_uri=report.event_uri,
                                                    using_db=db)
        predecessor = None
        if report.old_invitee:
            predecessor = await ImportedAppointment.get_or_none(
                external_calendar_id=calendar.id, event_uri=event_of_invitee(report.old_invitee), using_db=db)
        plan = plan_appointment(report, _known(own), _known(predecessor))
        work = _Apply(calendar, connection, staff, report, now, db)
        holders: dict[str, tuple[int | None, int | None]] = {}
        if plan.step in (AppointmentStep.CREATE, AppointmentStep.REVIVE):
            holders[report.event_uri] = await work.take_time()
        elif plan.step == AppointmentStep.MOVE:
            assert predecessor is not None
            holders[report.event_uri] = await work.move(predecessor)
            holders[predecessor.event_uri] = (None, None)
        elif plan.step == AppointmentStep.CANCEL:
            assert own is not None
            await work.release(own)
        stored = {row.event_uri for row in (own, predecessor) if row is not None}
        await _store(calendar.id, after_plan(report, plan, _known(own), _known(predecessor)), holders, report,
                     stored, db)
        if plan.step != AppointmentStep.NOTHING:
            booking_id = holders.get(report.event_uri, (None, None))[0] or (own.booking_id if own else None)
            await log_action(connection.id, "import", f"appointment_{plan.step.value}", "ok",
                             booking_id=booking_id, detail=f"{report.event_name} at {report.starts_at.isoformat()}",
                             using_db=db)
        stage_stamps.stamp("appointment.written", staff.id)
    stage_stamps.stamp("appointment.committed", staff.id)  # and its live events published
    return plan.step
