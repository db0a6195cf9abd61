"""An appointment provider's work: applying a kept webhook delivery, and the backstop that repairs what deliveries
missed (DESIGN.md path 3 for an import-and-cancel provider; docs/calendly.md).

A delivery job takes the delivery's ID, reads what was kept and applies it (services.appointments); applying it
again changes nothing, so a job that runs twice, or after the scheduler handed the delivery out again, is harmless.

The backstop runs where a calendar's pull would (the scheduler claims the calendar every `BACKSTOP`, whatever the
staff member's hours: deliveries, not polls, bring changes within a second). It lists the account's appointments
over the import window, active and canceled, and applies each as if it had been delivered, oldest change first, so
a lost delivery, or a reschedule whose new half never came, is repaired within one period. It also checks the
webhook subscription: one the provider disabled after a day of failed deliveries, or deleted, is created again,
and the sync log says so.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from tortoise.transactions import in_transaction

from domain.calendly import Appointment, UnreadableDelivery
from jobs.pull import PullOutcome, import_window, pull_refused
from models import ORGANIZATION_WIDE, ExternalCalendar, SyncFrequency, WatchChannel
from providers.base import AppointmentSource, CalendarProvider, ProviderError, Subscription
from providers.registry import entry_of
from services import stage_stamps
from services.appointment_connections import store_event_types
from services.appointment_inbox import delivery, mark_applied, mark_failed
from services.appointments import apply_appointment_to, calendar_to_apply, host_staff
from services.sync_health import log_action, record_success
from services.sync_schedule import TIMING

BACKSTOP = timedelta(minutes=15)


async def apply_delivery(delivery_id: int, now: datetime) -> str:
    """Apply one kept delivery: its step (domain.appointments.AppointmentStep), or skipped / ignored."""
    stage_stamps.stamp("delivery.started", delivery_id)
    row = await delivery(delivery_id)
    if row is None or row.applied_at is not None:
        return "skipped"
    calendar = await calendar_to_apply(row.external_calendar_id)
    description = entry_of(calendar.connection.provider).appointments if calendar is not None else None
    if calendar is None or description is None:
        return "skipped"
    try:
        read = description.read(row.body.encode())
    except UnreadableDelivery:
        await mark_applied(row.id, now)
        return "ignored"
    stage_stamps.stamp("delivery.read", delivery_id)
    try:
        step = await _apply(calendar, read.appointment, now)
    except Exception:
        # Handed out again by the scheduler (services.appointment_inbox), up to its attempts.
        await mark_failed(row.id)
        raise
    await mark_applied(row.id, now)
    stage_stamps.stamp("delivery.applied", delivery_id)
    return step


async def _apply(calendar: ExternalCalendar, appointment: Appointment, now: datetime) -> str:
    """Apply one appointment to its staff member: the connection's, or for an organization-wide connection the one
    its host is (services.appointments.host_staff). An appointment none of whose hosts is one of the business's
    staff is not Lockstep's to hold ("no_host", logged)."""
    staff_id = None
    if calendar.connection.account_scope == ORGANIZATION_WIDE:
        staff_id = await host_staff(calendar.connection_id, appointment.hosts)
        if staff_id is None:
            await log_action(calendar.connection_id, "import", "appointment", "skipped",
                             detail=f"{appointment.event_name}: no host is one of the business's staff")
            return "no_host"
    return (await apply_appointment_to(calendar, appointment, now, staff_id)).value


def _next_backstop(frequency: str, now: datetime) -> datetime:
    return now + (TIMING.manual_recheck if frequency == SyncFrequency.MANUAL else BACKSTOP)


async def backstop_appointments(calendar: ExternalCalendar, provider: CalendarProvider, address: str,
                                now: datetime) -> PullOutcome:
    """List and apply the account's appointments of the import window, and repair its webhook subscription.
    `address` is the provider's webhook URL (without the channel)."""
    source = cast(AppointmentSource, provider)
    connection = calendar.connection
    window = import_window(now, entry_of(connection.provider).window_roll_days)
    try:
        _, types = await source.account()
        listing = await source.appointments(window)
        repaired = await _repair_subscription(calendar, source, address, now)
    except ProviderError as exc:
        return await pull_refused(calendar.id, exc, now)
    # An OAuth connection learns its event types here (and every connection the ones added since).
    await store_event_types(connection.id, types)
    steps: dict[str, int] = {}
    for appointment in sorted(listing.appointments, key=lambda item: item.updated_at):
        step = await _apply(calendar, appointment, now)
        steps[step] = steps.get(step, 0) + 1
    applied = ", ".join(f"{count} {step}" for step, count in sorted(steps.items()) if step != "nothing")
    count = len(listing.appointments)
    detail = f"{count} appointment{'' if count == 1 else 's'} listed" + (f": {applied}" if applied else ", none new")
    if listing.unreadable:
        detail += f"; {len(listing.unreadable)} could not be read and keep what was known of them"
    async with in_transaction() as db:
        await ExternalCalendar.filter(id=calendar.id).using_db(db).update(
            last_pulled_at=now, next_pull_at=_next_backstop(connection.frequency, now), window_start=window.start,
            window_end=window.end)
        await log_action(connection.id, "import", "backstop", "ok", detail=detail, using_db=db)
        if repaired:
            await log_action(connection.id, "import", "resubscribe", "ok", detail=repaired, using_db=db)
        await record_success(connection.id, now, db=db)
    return PullOutcome("done")


async def _repair_subscription(calendar: ExternalCalendar, source: AppointmentSource, address: str,
                               now: datetime) -> str:
    """Recreate the calendar's webhook subscription if the provider disabled or deleted it; what was done ("" for
    nothing). A calendar without a live channel is left to the watch schedule, which opens one."""
    channel = await WatchChannel.filter(external_calendar_id=calendar.id, stopped_at=None,
                                        expires_at__gt=now).exclude(resource_id="").order_by("-id").first()
    if channel is None:
        return ""
    repair = await source.repair_subscription(
        Subscription(channel.channel_id, channel.resource_id, channel.expires_at), address)
    if not repair.recreated:
        return ""
    await WatchChannel.filter(id=channel.id).update(resource_id=repair.resource_id)
    return f"the webhook subscription was {repair.reason or 'gone'} and has been created again"
