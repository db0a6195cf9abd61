"""The RQ job functions. They take IDs only and are idempotent: running one twice, late or out of order gives the
same result (the bodies reload everything and decide from the current state). They never raise for provider
trouble: the outcome is recorded on the mapping or calendar, and the scheduler hands the work out again when due."""

from __future__ import annotations

from datetime import UTC, datetime

from jobs import runtime
from jobs.pull import pull_calendar
from jobs.push import push_mapping
from models import CalendarConnection, EventMapping, ExternalCalendar


async def run_push(mapping_id: int) -> str:
    """The push job's body, on the caller's event loop (the ORM and the runtime configured)."""
    mapping = await EventMapping.get_or_none(id=mapping_id)
    if mapping is None:
        return "skipped"
    calendar = await ExternalCalendar.get(id=mapping.external_calendar_id)
    connection = await CalendarConnection.get(id=calendar.connection_id)
    if not connection.credentials:
        return "skipped"  # disconnected: the credentials are gone
    async with runtime.open_provider(connection) as provider:
        return (await push_mapping(mapping_id, provider, datetime.now(UTC))).status


async def run_pull(calendar_id: int) -> str:
    """The pull job's body, on the caller's event loop."""
    calendar = await ExternalCalendar.get_or_none(id=calendar_id)
    if calendar is None:
        return "skipped"
    connection = await CalendarConnection.get(id=calendar.connection_id)
    if not connection.credentials:
        return "skipped"
    # The account's own addresses say which ATTENDEE line is the staff member's (a declined invitation is free).
    addresses = tuple(runtime.credentials_of(connection).get("own_addresses", ()))
    async with runtime.open_provider(connection) as provider:
        return (await pull_calendar(calendar_id, provider, datetime.now(UTC), own_addresses=addresses)).status


def push(mapping_id: int) -> str:
    """Write one booking's current state to one calendar."""
    return runtime.run(run_push(mapping_id))


def pull(calendar_id: int) -> str:
    """Bring one calendar's changes in."""
    return runtime.run(run_pull(calendar_id))
