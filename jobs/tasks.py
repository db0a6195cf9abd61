"""The RQ job functions. They take IDs only and are idempotent: running one twice, late or out of order gives the
same result (the bodies reload everything and decide from the current state). They never raise: provider trouble
and unexpected errors alike are recorded on the mapping or calendar (and in the health), and the scheduler hands the
work out again when due.

A push or pull first takes its calendar's sync lease (services.sync_leases). A job that finds it held (a duplicate
job, or a push and a pull of one calendar at once) does nothing and asks to be handed out again shortly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta

from jobs import runtime
from jobs.appointments import apply_delivery, backstop_appointments
from jobs.pull import calendar_with_owner, calendars_with_owner, pull_calendar, pull_crashed, pull_refused
from jobs.push import push_crashed, push_mapping, push_refused
from jobs.tokens import refresh_access
from jobs.watch import open_channel
from models import CalendarConnection, EventMapping, EventMappingState, ExternalCalendar
from providers.base import CalendarProvider
from providers.entry import ProviderNotAvailable
from providers.registry import entry_of
from services import metrics, stage_stamps
from services.credentials import CredentialVault
from services.sync_leases import calendar_lease
from services.watch_channels import watch_failed

log = logging.getLogger("lockstep.jobs")
PUSH_TIMEOUT = timedelta(seconds=120)
PULL_TIMEOUT = timedelta(seconds=300)
WATCH_TIMEOUT = timedelta(seconds=60)
LEASE_HELD_RETRY = timedelta(seconds=2)
# Calendars per scheduled pull job: a tick's due calendars travel in few jobs, since building and storing each
# job is most of what enqueueing costs (docs/performance.md, the sync engine at scale).
PULL_BATCH = 16
# A batch starts no pull after this: well inside the claim's lease (services.sync_dispatch.LEASE, 30 s), so the
# calendars it has not reached are handed back before their claims lapse and someone else takes them.
BATCH_BUDGET = timedelta(seconds=20)
# A batch job may run its budget and then one pull as long as any pull may take.
PULL_BATCH_TIMEOUT = PULL_TIMEOUT + BATCH_BUDGET
# How a job body gets the client of a connection (runtime.open_provider; a test passes its in-memory calendar).
ProviderOpener = Callable[[CalendarConnection], AbstractAsyncContextManager[CalendarProvider]]


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def run_push(mapping_id: int, *, open_provider: ProviderOpener = runtime.open_provider,
                   clock: Callable[[], datetime] = _utc_now) -> str:
    """The push job's body, on the caller's event loop (the ORM and the runtime configured)."""
    mapping = await EventMapping.get_or_none(id=mapping_id)
    if mapping is None:
        return "skipped"
    calendar = await ExternalCalendar.get(id=mapping.external_calendar_id)
    connection = await CalendarConnection.get(id=calendar.connection_id)
    if not connection.credentials:
        return "skipped"  # disconnected: the credentials are gone
    async with calendar_lease(calendar.id, clock=clock) as held:
        now = clock()
        if not held:
            await EventMapping.filter(id=mapping_id, state=EventMappingState.PENDING).update(
                next_attempt_at=now + LEASE_HELD_RETRY)
            return "busy"
        try:
            async with open_provider(connection) as provider:
                return (await push_mapping(mapping_id, provider, now)).status
        except ProviderNotAvailable as exc:  # retried with backoff; the health says why
            return (await push_refused(mapping_id, exc, now)).status
        except Exception as exc:  # recorded and retried; a job must not fail silently in the queue
            log.exception("push of mapping %s stopped on an unexpected error", mapping_id)
            return (await push_crashed(mapping_id, type(exc).__name__, clock())).status


async def run_pull(calendar_id: int, *, open_provider: ProviderOpener = runtime.open_provider,
                   clock: Callable[[], datetime] = _utc_now) -> str:
    """The pull job's body, on the caller's event loop."""
    # The calendar, its connection and staff member in one read, handed to the pull: a pull that a push
    # notification asked for waits for each statement.
    return await _pull_loaded(calendar_id, await calendar_with_owner(calendar_id), open_provider, clock)


async def run_pulls(calendar_ids: Sequence[int], *, open_provider: ProviderOpener = runtime.open_provider,
                    clock: Callable[[], datetime] = _utc_now) -> list[str]:
    """The scheduled pull job's body: the calendars of one claim, read together in one statement and pulled one
    after another. Pulls stop starting once BATCH_BUDGET has passed, and the rest are handed back as due now (the
    next tick hands them out again), so a slow calendar never lets the others' claims lapse while they wait."""
    loaded = {calendar.id: calendar for calendar in await calendars_with_owner(calendar_ids)}
    started = clock()
    outcomes: list[str] = []
    for index, calendar_id in enumerate(calendar_ids):
        if clock() - started >= BATCH_BUDGET:
            rest = list(calendar_ids[index:])
            await ExternalCalendar.filter(id__in=rest).update(next_pull_at=clock())
            return outcomes + ["handed_back"] * len(rest)
        outcomes.append(await _pull_loaded(calendar_id, loaded.get(calendar_id), open_provider, clock))
    return outcomes


async def _pull_loaded(calendar_id: int, calendar: ExternalCalendar | None, open_provider: ProviderOpener,
                       clock: Callable[[], datetime]) -> str:
    if calendar is None:
        return "skipped"
    connection = calendar.connection
    if not connection.credentials:
        return "skipped"
    async with calendar_lease(calendar.id, clock=clock) as held:
        now = clock()
        stage_stamps.stamp("pull.leased" if held else "pull.lease_held", calendar_id)
        if not held:
            await ExternalCalendar.filter(id=calendar_id).update(next_pull_at=now + LEASE_HELD_RETRY)
            return "busy"
        try:
            # The account's own addresses say which ATTENDEE line is the staff member's (declined means free).
            addresses = tuple(runtime.credentials_of(connection).get("own_addresses", ()))
            async with open_provider(connection) as provider:
                if entry_of(connection.provider).appointments is not None:
                    address = webhook_address(runtime.config().public_url, connection.provider)
                    return (await backstop_appointments(calendar, provider, address, now)).status
                return (await pull_calendar(calendar_id, provider, now, own_addresses=addresses,
                                            loaded=calendar)).status
        except ProviderNotAvailable as exc:  # retried with backoff; the health says why
            return (await pull_refused(calendar_id, exc, now)).status
        except Exception as exc:  # recorded and retried; a job must not fail silently in the queue
            log.exception("pull of calendar %s stopped on an unexpected error", calendar_id)
            return (await pull_crashed(calendar_id, type(exc).__name__, clock())).status


async def run_refresh(connection_id: int) -> str:
    """The token refresh job's body, on the caller's event loop: with the OAuth client of the connection's own
    provider (skipped when this deployment does not configure one for it)."""
    settings = runtime.config()
    connection = await CalendarConnection.get_or_none(id=connection_id)
    if connection is None:
        return "skipped"
    setup = settings.setup_of(entry_of(connection.provider))
    if setup is None or setup.oauth is None:
        return "skipped"  # not a provider whose tokens this deployment refreshes
    return await refresh_access(connection_id, setup.oauth, CredentialVault(settings.secret_keys),
                                datetime.now(UTC))


def webhook_address(public_url: str, provider: str) -> str:
    """Where a provider's push channels notify this deployment: its route `POST /webhooks/{provider}`."""
    return f"{public_url}/webhooks/{provider}"


async def run_watch(calendar_id: int) -> str:
    """The push channel job's body: open (or renew) the calendar's channel to this deployment's webhook."""
    settings = runtime.config()
    calendar = await ExternalCalendar.get_or_none(id=calendar_id)
    if calendar is None or not settings.public_url:
        return "skipped"
    connection = await CalendarConnection.get(id=calendar.connection_id)
    if not connection.credentials:
        return "skipped"
    try:
        async with runtime.open_provider(connection) as provider:
            return await open_channel(calendar_id, provider,
                                      webhook_address(settings.public_url, connection.provider), datetime.now(UTC))
    except Exception as exc:  # recorded and retried later; the backstop pull covers the calendar meanwhile
        log.exception("opening a push channel for calendar %s stopped on an unexpected error", calendar_id)
        await watch_failed(calendar_id, type(exc).__name__, datetime.now(UTC))
        return "retry"


def _counted(job: str, outcome: str) -> str:
    """Count the finished job in the deployment's shared tally (services.metrics), then hand its outcome to RQ."""
    metrics.record_job_outcome(runtime.redis(), job, outcome)
    return outcome


def push(mapping_id: int) -> str:
    """Write one booking's current state to one calendar."""
    return _counted("push", runtime.run(run_push(mapping_id)))


def pull(calendar_id: int) -> str:
    """Bring one calendar's changes in."""
    stage_stamps.stamp("pull.body", calendar_id)
    outcome = runtime.run(run_pull(calendar_id))
    stage_stamps.stamp("pull.done", calendar_id)
    return _counted("pull", outcome)


def pull_many(calendar_ids: list[int]) -> str:
    """Bring the changes of several calendars in (the scheduler's claims, PULL_BATCH at a time)."""
    outcomes = runtime.run(run_pulls(calendar_ids))
    metrics.record_job_outcomes(runtime.redis(), "pull", outcomes)
    return ",".join(outcomes)


async def run_delivery(delivery_id: int, *, clock: Callable[[], datetime] = _utc_now) -> str:
    """The body of an appointment delivery's job, on the caller's event loop."""
    try:
        return await apply_delivery(delivery_id, clock())
    except Exception:  # counted on the delivery; the scheduler hands it out again
        log.exception("appointment delivery %s stopped on an unexpected error", delivery_id)
        return "retry"


def deliver(delivery_id: int) -> str:
    """Apply one appointment provider's webhook delivery."""
    return _counted("delivery", runtime.run(run_delivery(delivery_id)))


def refresh(connection_id: int) -> str:
    """Refresh one OAuth connection's access token."""
    return _counted("refresh", runtime.run(run_refresh(connection_id)))


def watch(calendar_id: int) -> str:
    """Open or renew one calendar's push channel."""
    return _counted("watch", runtime.run(run_watch(calendar_id)))
