"""Appointment providers' accounts (Calendly): connecting one with a personal access token, the signing key of a
subscription made by hand, and which service each event type books."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers.calendars import connection_checks, connection_out
from resolvers.errors import optional_pk, pk, typed_errors
from resolvers.permissions import IS_BUSINESS_SIDE, permission, viewer_of
from schema.appointment_types import (
    CalendlyConnected,
    CalendlyEventType,
    CalendlyEventTypeList,
    CalendlyEventTypeResult,
    CalendlyEventTypesResult,
    CalendlyHostLink,
    CalendlyHostLinkResult,
    ConnectCalendlyInput,
    ConnectCalendlyResult,
    LinkCalendlyHostInput,
    MapCalendlyEventTypeInput,
    SetCalendlySigningKeyInput,
)
from schema.sync_payloads import CalendarConnectionResult
from services import appointment_connections
from services.appointment_connections import AppointmentGateway
from services.connections import ConnectionCheckError


def _gateway(info: Info) -> AppointmentGateway:
    """The deployment's appointment accounts; connecting one is refused where none can be."""
    gateway = info.context.appointment_accounts
    if gateway is None or not gateway.provider:
        raise ConnectionCheckError("unreachable", "Calendly accounts cannot be connected on this server")
    return gateway


@permission(IS_BUSINESS_SIDE)
@typed_errors
@connection_checks
async def connect_calendly(input: ConnectCalendlyInput, info: Info) -> ConnectCalendlyResult:
    """Connect a staff member's Calendly account with a personal access token: the token is checked, the event
    types read, and Calendly asked to deliver the account's appointments to Lockstep."""
    gateway = _gateway(info)
    connected = await appointment_connections.connect_personal_token(
        viewer_of(info), pk(input.staff_id, "StaffMember", ["input", "staffId"]), gateway.provider,
        input.personal_access_token, gateway.probe, gateway.subscribe, info.context.vault,
        gateway.webhook_address(gateway.provider), info.context.now(), organization_wide=input.organization_wide)
    types = await appointment_connections.event_types(viewer_of(info), connected.connection.id)
    return CalendlyConnected(connection=await connection_out(connected.connection, info.context.now()),
                             webhook_url=connected.webhook_url, webhook_refusal=connected.refusal,
                             event_types=[CalendlyEventType.from_model(row) for row in types])


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def set_calendly_signing_key(input: SetCalendlySigningKeyInput, info: Info) -> CalendarConnectionResult:
    """Keep the signing key of a webhook subscription made by hand in Calendly (sealed; never shown again)."""
    row = await appointment_connections.set_signing_key(
        viewer_of(info), pk(input.connection_id, "CalendarConnection", ["input", "connectionId"]), input.signing_key,
        info.context.vault, info.context.appointment_accounts.provider if info.context.appointment_accounts else "")
    return await connection_out(row, info.context.now())


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def map_calendly_event_type(input: MapCalendlyEventTypeInput, info: Info) -> CalendlyEventTypeResult:
    """Book an event type's appointments as a service from now on (or, with no service, block the time)."""
    row = await appointment_connections.map_event_type(
        viewer_of(info), pk(input.connection_id, "CalendarConnection", ["input", "connectionId"]),
        input.event_type_uri, optional_pk(input.service_id, "Service", ["input", "serviceId"]))
    return CalendlyEventType.from_model(row)


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def calendly_event_types(connection_id: strawberry.ID, info: Info) -> CalendlyEventTypesResult:
    """A Calendly connection's event types, and the service each books."""
    rows = await appointment_connections.event_types(
        viewer_of(info), pk(connection_id, "CalendarConnection", ["connectionId"]))
    return CalendlyEventTypeList(event_types=[CalendlyEventType.from_model(row) for row in rows])


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def link_calendly_host(input: LinkCalendlyHostInput, info: Info) -> CalendlyHostLinkResult:
    """Have an organization-wide connection's appointments of one host take one staff member's time."""
    staff_id = optional_pk(input.staff_id, "StaffMember", ["input", "staffId"])
    await appointment_connections.link_host(
        viewer_of(info), pk(input.connection_id, "CalendarConnection", ["input", "connectionId"]), input.host_uri,
        staff_id)
    return CalendlyHostLink(host_uri=input.host_uri.strip(), staff_id=input.staff_id if staff_id else None)
