"""GraphQL types of appointment providers' accounts (Calendly): what connecting answers, event types and the
services they book, and the inputs that set them."""

from __future__ import annotations

from typing import Annotated

import strawberry

from models import AppointmentType as AppointmentTypeModel
from schema.errors import ConnectionCheckFailed, NotAuthorized, NotFound, ValidationError
from schema.ids import encode_id
from schema.sync_types import CalendarConnection


@strawberry.type(description="One event type of a Calendly account: what its invitees book. Mapped to a service, "
                             "its appointments are bookings of that service; unmapped, they are busy time.")
class CalendlyEventType:
    uri: str
    name: str
    duration_minutes: int
    active: bool
    service_id: strawberry.ID | None

    @classmethod
    def from_model(cls, row: AppointmentTypeModel) -> CalendlyEventType:
        return cls(uri=row.type_uri, name=row.name, duration_minutes=row.duration_minutes, active=row.active,
                   service_id=encode_id("Service", row.service_id) if row.service_id else None)


@strawberry.type(description="A connected Calendly account. `webhookRefusal` is empty when Calendly delivers its "
                             "appointments to Lockstep; otherwise it says why Calendly refused to subscribe, and a "
                             "subscription made by hand goes to `webhookUrl`, with its signing key given to "
                             "setCalendlySigningKey. Either way the backstop reads the appointments every 15 minutes.")
class CalendlyConnected:
    connection: CalendarConnection
    webhook_url: str
    webhook_refusal: str
    event_types: list[CalendlyEventType]


@strawberry.type
class CalendlyEventTypeList:
    event_types: list[CalendlyEventType]


@strawberry.input
class ConnectCalendlyInput:
    staff_id: strawberry.ID
    personal_access_token: str = strawberry.field(description="From Calendly: Integrations, API and webhooks")
    organization_wide: bool = strawberry.field(
        default=False, description="An organization admin's token: the connection holds every member's "
                                   "appointments, each for the staff member its host is (linkCalendlyHost, else by "
                                   "email)")


@strawberry.input
class SetCalendlySigningKeyInput:
    connection_id: strawberry.ID
    signing_key: str


@strawberry.input
class MapCalendlyEventTypeInput:
    connection_id: strawberry.ID
    event_type_uri: str
    service_id: strawberry.ID | None = strawberry.field(default=None, description="null: its appointments are busy "
                                                                                  "time, not bookings")


@strawberry.input
class LinkCalendlyHostInput:
    connection_id: strawberry.ID
    host_uri: str = strawberry.field(description="The host's Calendly user URI")
    staff_id: strawberry.ID | None = strawberry.field(default=None, description="null: match the host by email")


@strawberry.type(description="Appointments hosted by `hostUri` take `staffId`'s time (null: the host's email picks)")
class CalendlyHostLink:
    host_uri: str
    staff_id: strawberry.ID | None


CalendlyHostLinkResult = Annotated[CalendlyHostLink | ValidationError | NotAuthorized | NotFound,
                                   strawberry.union("CalendlyHostLinkResult")]
ConnectCalendlyResult = Annotated[CalendlyConnected | ValidationError | NotAuthorized | NotFound
                                  | ConnectionCheckFailed, strawberry.union("ConnectCalendlyResult")]
CalendlyEventTypeResult = Annotated[CalendlyEventType | ValidationError | NotAuthorized | NotFound,
                                    strawberry.union("CalendlyEventTypeResult")]
CalendlyEventTypesResult = Annotated[CalendlyEventTypeList | ValidationError | NotAuthorized | NotFound,
                                     strawberry.union("CalendlyEventTypesResult")]
