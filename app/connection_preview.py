"""The live reader of the "test connection" preview, handed to the services as their `ConnectionReader`: the
connection's client built by its registry entry (as jobs.runtime.open_provider builds it), a full listing of the
preview window, and every fetched event read by the entry's reader, with provider errors turned into PreviewFailed.

Terms:
- *tokens*: the connection's access tokens as every client of it uses them (jobs.tokens.ConnectionTokens), except
  that a refresh that fails is only raised, never recorded: the preview writes no health (a refresh that works is
  stored, as always).
- *permissive policy*: the connection's BusyPolicy with tentative and all-day events blocking. A reader reports
  only the spans an event blocks, so an event is listed when it blocks under the permissive policy, and it
  `blocks` when it also does under the connection's own policy.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import cast

from app.oauth_accounts import provider_setups
from app.settings import Settings
from domain.busy import BusyPolicy
from domain.intervals import Span
from jobs.pull_reading import account_addresses
from jobs.runtime import setup_of
from jobs.tokens import ConnectionTokens
from models import CalendarConnection, Staff
from providers.base import (
    AppointmentSource,
    AuthFailed,
    CalendarProvider,
    ProviderError,
    RateLimited,
    RemoteEvent,
    Unavailable,
)
from providers.entry import ClientParts, ProviderEntry, ProviderNotAvailable, ProviderSetup
from providers.registry import entry_of
from services.connection_preview import OwnBooking, PreviewFailed, PreviewSource, SeenEvent
from services.credentials import CredentialsUnreadable, CredentialVault


def _failure(error: ProviderError) -> PreviewFailed:
    """The named failure of a provider error; provider messages are safe to show (they never carry a token)."""
    said = str(error)
    if isinstance(error, ProviderNotAvailable):
        return PreviewFailed("provider_not_available", said[:1].upper() + said[1:])
    if isinstance(error, AuthFailed):
        return PreviewFailed("reauthorization_required",
                             f"The calendar refused Lockstep's credentials; reconnect the calendar ({said})")
    if isinstance(error, RateLimited):
        wait = None if error.retry_after is None else math.ceil(error.retry_after)
        later = f"try again in {wait} seconds" if wait is not None else "try again later"
        return PreviewFailed("rate_limited", f"The calendar limits how often it is asked ({said}); {later}", wait)
    if isinstance(error, Unavailable):
        return PreviewFailed("unavailable", f"The calendar could not be reached ({said}); try again later")
    return PreviewFailed("refused", f"The calendar refused to list its events ({said})")


class LiveConnectionReader:
    """Reads a connection's calendars at its provider, with the deployment's provider setups (OAuth clients, API
    addresses) and the vault that opens the credentials; each HTTP request gives up after `timeout` seconds."""

    def __init__(self, setups: Mapping[str, ProviderSetup], vault: CredentialVault, timeout: float) -> None:
        self.setups = dict(setups)
        self.vault = vault
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings, vault: CredentialVault) -> LiveConnectionReader:
        return cls(provider_setups(settings), vault, float(settings.caldav_timeout_seconds))

    def __repr__(self) -> str:
        return f"LiveConnectionReader({sorted(self.setups)})"

    def _setup(self, entry: ProviderEntry) -> ProviderSetup:
        """The provider's configuration here (jobs.runtime.setup_of), or why it has none."""
        setup = setup_of(self.setups, entry)
        if setup is None:
            raise entry.not_available() if not entry.available or entry.open_client is None else entry.not_configured()
        return setup

    async def __call__(self, connection: CalendarConnection, staff: Staff, sources: Sequence[PreviewSource],
                       window: Span) -> list[SeenEvent]:
        entry = entry_of(connection.provider)
        try:
            setup = self._setup(entry)
            try:
                secrets = self.vault.unseal(connection.credentials)
            except CredentialsUnreadable:
                raise AuthFailed("the stored credentials cannot be opened") from None
            tokens = None
            if setup.oauth is not None:
                tokens = ConnectionTokens(connection.id, setup.oauth, self.vault, entry.label, record_failures=False)
            parts = ClientParts(secrets, tokens, setup.api_url, self.timeout, mailbox=connection.account_label)
            policy = BusyPolicy(zone=staff.time_zone, tentative_blocks=connection.tentative_blocks,
                                own_addresses=account_addresses(connection, staff,
                                                                tuple(secrets.get("own_addresses", ()))),
                                all_day_blocks=connection.all_day_blocks)
            assert entry.open_client is not None  # _setup refuses an entry without a client
            seen: list[SeenEvent] = []
            async with entry.open_client(parts) as client:
                for source in sources:
                    seen += await _read_calendar(client, entry, source, staff, policy, window)
            return seen
        except ProviderError as error:
            raise _failure(error) from None


async def _read_calendar(client: CalendarProvider, entry: ProviderEntry, source: PreviewSource, staff: Staff,
                         policy: BusyPolicy, window: Span) -> list[SeenEvent]:
    calendar = source.calendar
    if entry.appointments is not None:
        return await _read_appointments(cast(AppointmentSource, client), source, window)
    changes = await client.fetch_changes(calendar.provider_calendar_id, None, window)
    zoned = dataclasses.replace(policy, zone=entry.reading_zone(calendar.time_zone, staff.time_zone))
    permissive = dataclasses.replace(zoned, tentative_blocks=True, all_day_blocks=True)
    seen: list[SeenEvent] = []
    for remote in changes.changed:
        seen += _read_event(entry, remote, calendar.id, source.imports, zoned, permissive, window)
    return seen


async def _read_appointments(account: AppointmentSource, source: PreviewSource, window: Span) -> list[SeenEvent]:
    """An appointment provider's next appointments (the active ones): each takes its time while it is on."""
    listing = await account.appointments(window)
    return [SeenEvent(source.calendar.id, Span(item.starts_at, item.ends_at), False,
                      f"{item.event_name} with {item.invitee_name}" if item.invitee_name else item.event_name,
                      source.imports)
            for item in listing.appointments if item.event_active and item.starts_at < window.end
            and window.start < item.ends_at]


def _read_event(entry: ProviderEntry, remote: RemoteEvent, calendar_id: int, imports: bool, policy: BusyPolicy,
                permissive: BusyPolicy, window: Span) -> list[SeenEvent]:
    """The event's occurrences in the window; one the reader fails on (bad data) is left out of the preview."""
    try:
        listed = entry.read_event(remote, window, permissive, True)
        if listed.own is not None:
            return [SeenEvent(calendar_id, span, False, "", False, OwnBooking(listed.own.kind, listed.own.target_id,
                                                                                planned))
                    for planned, span in sorted(listed.own.occurrences.items())
                    if span.start < window.end and window.start < span.end]
        blocking = {busy.occurrence_key for busy in entry.read_event(remote, window, policy, imports).spans}
    except Exception:  # any event that breaks the reader (bad data, a library error): the pull marks it unreadable
        return []
    return [SeenEvent(calendar_id, busy.span, busy.all_day, busy.title, busy.occurrence_key in blocking)
            for busy in listed.spans]
