"""Connecting an appointment provider's account (Calendly) with a personal access token, the key its webhook
deliveries are signed with, and which service each of its event types books.

Terms:
- *probe*: checks a token and reads the account: its user, organization and event types (the app injects one,
  services do not talk to providers); it raises services.connections.ConnectionCheckError saying why not.
- *subscriber*: asks the provider to deliver the account's appointments to Lockstep's webhook (the app injects it:
  the sync engine's own watch step, run at once); it answers "" when the subscription stands, else the provider's
  refusal, which the answer passes on with the webhook URL to paste into the provider by hand.
- *event type*: what an invitee books at the provider; one mapped to a service makes its appointments bookings of
  that service, an unmapped one makes busy blocks.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import urlsplit

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from domain.calendly import CalendlyEventType
from models import (
    ORGANIZATION_WIDE,
    AppointmentHost,
    AppointmentType,
    CalendarConnection,
    ExternalCalendar,
    Service,
    Staff,
    WatchChannel,
)
from services.auth import Viewer
from services.connections import ProbedCalendar, save_connection
from services.credentials import CredentialsUnreadable, CredentialVault
from services.errors import InvalidInputError, NotFoundError
from services.sync_health import log_action
from services.sync_queries import managed_connection, managed_staff

MAX_TOKEN_LENGTH = 4000
MAX_EVENT_TYPES = 500
# A channel recorded for a subscription that does not expire (or one pasted by hand).
NEVER_EXPIRES = datetime(2100, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ProbedAppointmentAccount:
    provider: str
    user_uri: str
    organization_uri: str
    name: str
    email: str
    time_zone: str
    event_types: tuple[CalendlyEventType, ...]


AppointmentProbe = Callable[[str, str], Awaitable[ProbedAppointmentAccount]]  # (provider, token) -> account
Subscriber = Callable[[int], Awaitable[str]]  # calendar id -> "" when subscribed, else the refusal


class AppointmentGateway(Protocol):
    """The probe and the subscriber (see the terms above), and the provider's webhook address (without a channel).
    `provider` is the appointment provider whose accounts are connected with a personal access token (the
    registry's, as the app found it)."""

    provider: str

    def webhook_address(self, provider: str) -> str:
        ...

    async def probe(self, provider: str, token: str) -> ProbedAppointmentAccount:
        ...

    async def subscribe(self, calendar_id: int) -> str:
        ...


@dataclass(frozen=True)
class ConnectedAppointments:
    connection: CalendarConnection
    webhook_url: str  # where deliveries go; to paste into the provider when it refused to subscribe
    refusal: str  # "" when the subscription stands


def _token(value: str) -> str:
    token = value.strip()
    if not token or len(token) > MAX_TOKEN_LENGTH or any(character.isspace() for character in token):
        raise InvalidInputError(["input", "personalAccessToken"],
                                f"Paste the personal access token as it was shown (one word of at most "
                                f"{MAX_TOKEN_LENGTH} characters)")
    return token


async def store_event_types(connection_id: int, types: Sequence[CalendlyEventType],
                            db: BaseDBAsyncClient | None = None) -> None:
    """Keep the account's event types as the provider lists them now (new ones added, the others renamed or made
    (in)active; their services stay as mapped)."""
    for event_type in types[:MAX_EVENT_TYPES]:
        values = {"name": event_type.name[:200], "duration_minutes": event_type.duration_minutes,
                  "active": event_type.active}
        if not await AppointmentType.filter(connection_id=connection_id, type_uri=event_type.uri).using_db(
                db).update(**values):
            await AppointmentType.create(using_db=db, connection_id=connection_id, type_uri=event_type.uri[:500],
                                         **values)


async def connect_personal_token(viewer: Viewer, staff_id: int, provider: str, token: str,
                                 probe: AppointmentProbe, subscribe: Subscriber, vault: CredentialVault,
                                 webhook_address: str, now: datetime, *, organization_wide: bool = False
                                 ) -> ConnectedAppointments:
    """Connect the staff member's account with a personal access token (again, to replace the token): check it,
    keep it sealed with a new signing key, store the event types, and subscribe to its appointments.
    `organization_wide`: an organization admin's token whose connection holds every member's appointments, each
    for the staff member its host is (linked by hand, or by email)."""
    staff = await managed_staff(viewer, staff_id, ["input", "staffId"])
    clean = _token(token)
    account = await probe(provider, clean)
    key = secrets.token_urlsafe(32)
    sealed = vault.seal({"personal_access_token": clean, "signing_keys": [key], "user_uri": account.user_uri,
                         "organization_uri": account.organization_uri, "user_name": account.name,
                         "time_zone": account.time_zone, "scope": ORGANIZATION_WIDE if organization_wide else "user"})
    # The account calendar stands for the user's appointments, or the organization's.
    account_uri = account.organization_uri if organization_wide else account.user_uri

    async def same_account(db: BaseDBAsyncClient) -> CalendarConnection | None:
        return await CalendarConnection.filter(staff_id=staff.id, provider=provider,
                                               account_label=account_uri[:254]).using_db(db).order_by("id").first()

    calendar = ProbedCalendar(account_uri, account.name, "#006bff", account.time_zone, False, True)
    connection = await save_connection(staff.id, same_account, {
        "provider": provider, "account_label": account_uri[:254], "credentials": sealed,
        "account_scope": ORGANIZATION_WIDE if organization_wide else ""}, (calendar,), now)
    account_calendar = await ExternalCalendar.get(connection_id=connection.id, provider_calendar_id=account_uri)
    async with in_transaction() as db:
        await store_event_types(connection.id, account.event_types, db)
        # A reconnection's old subscription is let go (signed with a key no longer kept); a new one replaces it.
        await WatchChannel.filter(external_calendar_id=account_calendar.id, stopped_at=None).using_db(db).update(
            stopped_at=now)
    refusal = await subscribe(account_calendar.id)
    channel = await WatchChannel.filter(external_calendar_id=account_calendar.id, stopped_at=None).first()
    if channel is None:
        # Refused: a channel of its own all the same, so a subscription made by hand names this connection.
        channel = await WatchChannel.create(external_calendar_id=account_calendar.id,
                                            channel_id=secrets.token_hex(16), resource_id="", token_hash="",
                                            expires_at=NEVER_EXPIRES)
    return ConnectedAppointments(connection, f"{webhook_address}?channel={channel.channel_id}", refusal)


async def set_signing_key(viewer: Viewer, connection_id: int, signing_key: str, vault: CredentialVault,
                          provider: str) -> CalendarConnection:
    """Keep the signing key of a subscription made by hand at the provider (sealed, first of the keys tried)."""
    connection = await managed_connection(viewer, connection_id, ["input", "connectionId"])
    if connection.provider != provider or not connection.credentials:
        raise NotFoundError("Calendly connection", ["input", "connectionId"])
    key = signing_key.strip()
    if not key or len(key) > 500 or any(character.isspace() for character in key):
        raise InvalidInputError(["input", "signingKey"], "Paste the signing key as it was shown (one word)")
    try:
        stored = vault.unseal(connection.credentials)
    except CredentialsUnreadable as exc:
        raise InvalidInputError(["input", "connectionId"], "Connect the account again first") from exc
    keys = [key, *(old for old in stored.get("signing_keys", []) if old != key)][:3]
    async with in_transaction() as db:
        await CalendarConnection.filter(id=connection.id).using_db(db).update(
            credentials=vault.seal({**stored, "signing_keys": keys}))
        await log_action(connection.id, "none", "signing_key", "ok", detail="webhook signing key replaced",
                         using_db=db)
    return await CalendarConnection.get(id=connection.id)


async def map_event_type(viewer: Viewer, connection_id: int, type_uri: str, service_id: int | None
                         ) -> AppointmentType:
    """Book the event type's appointments as the service from now on (None: as busy blocks). The service must be
    one of the staff member's business."""
    connection = await managed_connection(viewer, connection_id, ["input", "connectionId"])
    event_type = await AppointmentType.get_or_none(connection_id=connection.id, type_uri=type_uri)
    if event_type is None:
        raise NotFoundError("Event type", ["input", "eventTypeUri"])
    if service_id is not None:
        staff = await connection.staff
        service = await Service.get_or_none(id=service_id, business_id=staff.business_id)
        if service is None:
            raise NotFoundError("Service", ["input", "serviceId"])
    await AppointmentType.filter(id=event_type.id).update(service_id=service_id)
    await log_action(connection.id, "none", "map_event_type", "ok",
                     detail=f"{event_type.name}: {'a service' if service_id else 'busy time'}")
    return await AppointmentType.get(id=event_type.id)


async def link_host(viewer: Viewer, connection_id: int, host_uri: str, staff_id: int | None) -> None:
    """An organization-wide connection's appointments hosted by `host_uri` take `staff_id`'s time (None: the
    link goes, and the host is matched by email again). The staff member must be of the connection's business."""
    connection = await managed_connection(viewer, connection_id, ["input", "connectionId"])
    uri = host_uri.strip()
    parts = urlsplit(uri)
    if parts.scheme not in ("https", "http") or not parts.netloc or len(uri) > 500 or any(
            character.isspace() for character in uri):
        raise InvalidInputError(["input", "hostUri"], "Give the host's Calendly user URI (https://...)")
    if staff_id is None:
        await AppointmentHost.filter(connection_id=connection.id, host_uri=uri).delete()
        return
    owner = await connection.staff
    if not await Staff.filter(id=staff_id, business_id=owner.business_id).exists():
        raise NotFoundError("StaffMember", ["input", "staffId"])
    if not await AppointmentHost.filter(connection_id=connection.id, host_uri=uri).update(staff_id=staff_id):
        await AppointmentHost.create(connection_id=connection.id, host_uri=uri, staff_id=staff_id)
    await log_action(connection.id, "none", "link_host", "ok", detail="a host linked to a staff member")


async def event_types(viewer: Viewer, connection_id: int) -> list[AppointmentType]:
    connection = await managed_connection(viewer, connection_id, ["connectionId"])
    return await AppointmentType.filter(connection_id=connection.id).order_by("name", "id")
