"""Connecting a staff member's calendar account, choosing what each calendar does, and letting go of it.

Terms:
- *probe*: checks an account's credentials and lists its calendars. Services may not talk to providers, so the app
  injects one (an `AccountProbe`); it reports what it found as a `ProbedAccount`, or why not as `ConnectionCheckError`.
- *the same account*: one staff member's connection of one provider, server URL and username. Connecting it again
  replaces its credentials in place (how a connection that needs re-authorisation is revived) instead of adding a
  second copy that would import every busy block twice.
Credentials are sealed by the vault before they are stored; the password never reaches a log line or an answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from domain.intervals import Span
from models import (
    Booking,
    BusyBlock,
    CalendarConnection,
    ConnectionHealth,
    EventMapping,
    EventMappingState,
    ExternalCalendar,
)
from services import validation
from services.auth import Viewer
from services.credentials import CredentialsUnreadable, CredentialVault
from services.errors import FieldProblem, InvalidInputError, NotFoundError, ServiceError
from services.locks import lock_staff
from services.sync_dispatch import anchor_id, owe_upcoming_bookings
from services.sync_health import announce_health, log_action
from services.sync_queries import managed_connection, managed_staff
from services.sync_recovery import send_what_waited

SERVER_TYPES = ("icloud", "fastmail", "nextcloud", "generic")
CONNECTION_PROBLEMS = ("wrong_password", "wrong_url", "not_caldav", "tls_error", "timeout", "unreachable",
                       "bad_token", "revoked")


@dataclass(frozen=True)
class ProbedCalendar:
    calendar_id: str
    name: str
    colour: str
    time_zone: str
    writable: bool
    primary: bool


@dataclass(frozen=True)
class ProbedAccount:
    """What a probe found: the provider whose account it checked (the value a connection of it stores), the server
    URL discovery started from (defaults filled in), the account's principal and calendar home, its own calendar
    addresses and its calendars."""

    provider: str
    server_url: str
    principal_url: str
    home_url: str
    own_addresses: tuple[str, ...]
    calendars: tuple[ProbedCalendar, ...]


class ConnectionCheckError(ServiceError):
    """The account could not be set up; `problem` is one of CONNECTION_PROBLEMS, the message is safe to show."""

    def __init__(self, problem: str, message: str) -> None:
        super().__init__(message)
        self.problem = problem


class AccountProbe(Protocol):
    async def __call__(self, server_type: str, server_url: str | None, username: str, password: str
                       ) -> ProbedAccount:
        """Check the credentials and list the calendars; raises ConnectionCheckError (or InvalidInputError for a
        server URL it cannot use)."""
        ...


def require_connected(connection: CalendarConnection, path: Sequence[str | int]) -> None:
    """Refuse changes to a disconnected connection (its credentials are gone)."""
    if connection.health == ConnectionHealth.DISCONNECTED:
        raise InvalidInputError(path, "This calendar connection is disconnected; connect the account again")


def _account_fields(server_type: str, server_url: str | None, username: str, password: str
                    ) -> tuple[str, str | None, str]:
    checks = validation.FieldChecks()
    if server_type not in SERVER_TYPES:
        checks.problems.append(FieldProblem(("input", "providerType"), "Unknown CalDAV server type"))
    clean_user = checks.check(validation.text, username, ["input", "username"], max_length=254)
    checks.check(_password, password)
    url = (server_url or "").strip() or None
    checks.check(_server_url, url)
    checks.done()
    return server_type, url, clean_user


def _server_url(url: str | None) -> None:
    if url is not None:
        parts = urlsplit(url)
        if len(url) > 2000 or parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInputError(["input", "serverUrl"], "Give the server's http:// or https:// address")


def _password(password: str) -> None:
    if not password.strip():
        raise InvalidInputError(["input", "password"], "Must not be empty")
    if len(password) > 1000:
        raise InvalidInputError(["input", "password"], "Use at most 1000 characters")


async def test_calendar_connection(viewer: Viewer, staff_id: int, server_type: str, server_url: str | None,
                                   username: str, password: str, probe: AccountProbe) -> ProbedAccount:
    """Check an account as connect_caldav would, and save nothing."""
    await managed_staff(viewer, staff_id, ["input", "staffId"])
    kind, url, user = _account_fields(server_type, server_url, username, password)
    return await probe(kind, url, user, password)


async def connect_caldav(viewer: Viewer, staff_id: int, server_type: str, server_url: str | None, username: str,
                         password: str, probe: AccountProbe, vault: CredentialVault, now: datetime
                         ) -> CalendarConnection:
    """Connect a CalDAV account (or the same account again) and make each calendar due for its first import."""
    staff = await managed_staff(viewer, staff_id, ["input", "staffId"])
    kind, url, user = _account_fields(server_type, server_url, username, password)
    account = await probe(kind, url, user, password)
    # This exact shape is what the sync worker unseals.
    sealed = vault.seal({"server_url": account.server_url, "username": user, "password": password,
                         "home_url": account.home_url, "principal_url": account.principal_url,
                         "own_addresses": list(account.own_addresses)})
    return await save_connection(
        staff.id, lambda db: _same_account(staff.id, account.provider, account.server_url, user, vault, db),
        {"provider": account.provider, "server_type": kind, "account_label": user, "credentials": sealed},
        account.calendars, now)


SameAccount = Callable[[BaseDBAsyncClient], Awaitable[CalendarConnection | None]]


async def save_connection(staff_id: int, same_account: SameAccount, fields: dict[str, Any],
                          calendars: tuple[ProbedCalendar, ...], now: datetime) -> CalendarConnection:
    """Store a connected account: a new connection, or the staff member's connection of the same account (found by
    `same_account`) revived in place with the new `fields` (credentials), so its calendars, mappings and history
    stay and what was waiting is written at once. Then its calendars (store_calendars), the sync log, and the new
    health announced."""
    async with in_transaction() as db:
        await lock_staff(staff_id, db)  # one connect per staff member at a time: no duplicate, one destination
        connection = await same_account(db)
        if connection is None:
            connection = await CalendarConnection.create(staff_id=staff_id, using_db=db, **fields)
            action = "connect"
        else:
            await CalendarConnection.filter(id=connection.id).using_db(db).update(
                health=ConnectionHealth.ACTIVE, last_error="", consecutive_failures=0, **fields)
            # Pending items, and items given up while the calendar could not be reached, go out at once.
            await send_what_waited(connection.id, now, db)
            action = "reconnect"
        added = await store_calendars(connection, staff_id, calendars, now, db)
        await log_action(connection.id, "none", action, "ok", using_db=db,
                         detail=f"{len(calendars)} calendars found, {added} new")
    connected = await CalendarConnection.get(id=connection.id)
    await announce_health(connected)
    return connected


async def _same_account(staff_id: int, provider: str, server_url: str, username: str, vault: CredentialVault,
                        db: BaseDBAsyncClient) -> CalendarConnection | None:
    """The staff member's connection of this account (of the provider being connected) that still holds
    credentials, if any."""
    candidates = await CalendarConnection.filter(staff_id=staff_id, provider=provider, account_label=username
                                                 ).exclude(credentials="").using_db(db).order_by("id")
    for candidate in candidates:
        try:
            stored = vault.unseal(candidate.credentials)
        except CredentialsUnreadable:
            continue  # sealed under a key that was dropped: it cannot be this account's usable connection
        if stored.get("server_url") == server_url and stored.get("username") == username:
            return candidate
    return None


async def store_calendars(connection: CalendarConnection, staff_id: int, found: tuple[ProbedCalendar, ...],
                           now: datetime, db: BaseDBAsyncClient) -> int:
    """Add the calendars not known yet and refresh the others; every one is due a pull now. Returns how many are new.
    Only the primary calendar imports busy time at first; it becomes the destination if nothing else is."""
    known = {row.provider_calendar_id: row for row in
             await ExternalCalendar.filter(connection_id=connection.id).using_db(db)}
    has_destination = await ExternalCalendar.filter(
        is_destination=True, connection__staff_id=staff_id).exclude(
        connection__health=ConnectionHealth.DISCONNECTED).using_db(db).exists()
    added = 0
    for calendar in found:
        looks = {"name": calendar.name[:200], "colour": calendar.colour[:9], "time_zone": calendar.time_zone[:64],
                 "writable": calendar.writable, "primary": calendar.primary}
        if calendar.calendar_id in known:
            await ExternalCalendar.filter(id=known[calendar.calendar_id].id).using_db(db).update(**looks)
            continue
        destination = calendar.primary and calendar.writable and not has_destination
        has_destination = has_destination or destination
        created = await ExternalCalendar.create(
            connection_id=connection.id, provider_calendar_id=calendar.calendar_id, import_busy=calendar.primary,
            is_destination=destination, using_db=db, **looks)
        if destination:
            await owe_upcoming_bookings(created.id, staff_id, now, db)
        added += 1
    # Due a pull, and looked at again for a push channel (services.watch_channels).
    await ExternalCalendar.filter(connection_id=connection.id).using_db(db).update(next_pull_at=now,
                                                                                   watch_due_at=None)
    return added


async def list_connections(viewer: Viewer, staff_id: int) -> list[CalendarConnection]:
    """Every connection of the staff member, the disconnected ones too, oldest first."""
    staff = await managed_staff(viewer, staff_id, ["staffId"])
    return await CalendarConnection.filter(staff_id=staff.id).order_by("id")


async def disconnect_calendar(viewer: Viewer, connection_id: int, remove_imported_blocks: bool, now: datetime
                              ) -> CalendarConnection:
    """Forget the credentials at once and stop syncing. Imported busy time stays in force unless asked to remove it;
    the events already written stay in the calendar, no longer linked."""
    connection = await managed_connection(viewer, connection_id, ["input", "connectionId"])
    async with in_transaction() as db:
        await lock_staff(connection.staff_id, db)
        calendar_ids = list(await ExternalCalendar.filter(connection_id=connection.id).using_db(db).values_list(
            "id", flat=True))
        await CalendarConnection.filter(id=connection.id).using_db(db).update(
            credentials="", health=ConnectionHealth.DISCONNECTED,
            disconnected_at=connection.disconnected_at or now)
        # No longer pulled: what its last pulls could not read must not outlive it (a reconnection reads anew).
        await ExternalCalendar.filter(id__in=calendar_ids).using_db(db).update(is_destination=False,
                                                                              unreadable_event_ids=[])
        await EventMapping.filter(external_calendar_id__in=calendar_ids).using_db(db).update(
            state=EventMappingState.UNLINKED, next_attempt_at=None)
        freed = []
        if remove_imported_blocks:
            blocks = BusyBlock.filter(external_calendar_id__in=calendar_ids).using_db(db)
            freed = [Span(start, end) for start, end in await blocks.values_list("starts_at", "ends_at")]
            await blocks.delete()
        await log_action(connection.id, "none", "disconnect", "ok", using_db=db,
                         detail=f"imported busy blocks removed: {len(freed)}" if remove_imported_blocks
                         else "imported busy blocks kept")
    disconnected = await CalendarConnection.get(id=connection.id)
    await announce_health(disconnected, freed=freed)
    return disconnected


async def unlink_booking_event(viewer: Viewer, booking_id: int, connection_id: int) -> EventMapping:
    """Stop syncing one booking with one connection's calendars; the booking and the event both stay as they are."""
    connection = await managed_connection(viewer, connection_id, ["input", "connectionId"])
    booking = await Booking.get_or_none(id=booking_id)
    mapping = None
    if booking is not None:
        mapping = await EventMapping.get_or_none(booking_id=await anchor_id(booking),
                                                 external_calendar__connection_id=connection.id)
    if mapping is None:
        raise NotFoundError("Synced event of this booking", ["input", "bookingId"])
    async with in_transaction() as db:
        await EventMapping.filter(id=mapping.id).using_db(db).update(state=EventMappingState.UNLINKED,
                                                                     next_attempt_at=None)
        await log_action(connection.id, "none", "unlink", "ok", booking_id=mapping.booking_id, mapping_id=mapping.id,
                         detail="no longer synced; the booking and the event both stay", using_db=db)
    return await EventMapping.get(id=mapping.id)

