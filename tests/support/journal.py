"""A staff member's journal to read through the API: bookings of every status, busy time imported from a calendar
of each provider, blocked time, and the bookings' events in those calendars."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from models import (
    Booking,
    BusyBlock,
    BusyBlockSource,
    CalendarConnection,
    EventMapping,
    EventMappingState,
    ExternalCalendar,
    ImportedAppointment,
    Provider,
    Service,
    Staff,
    SyncConflict,
)
from schema.ids import decode_id, encode_id
from tests.resolvers.test_bookings import MONDAY, at
from tests.resolvers.test_privacy import BLOCK, staff_token_of
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, Shop, given_shop, sign_up

EVENT = """id kind startsAt endsAt allDay title source status statusColour calendarName calendarColour
  syncStates { connectionId calendarId calendarName state } booking { id status } busyBlock { id title allDay }
  staff { name }"""
ERRORS = """... on ValidationError { message path } ... on NotAuthorized { message } ... on NotFound { message path }"""
EVENTS = f"""query($staffId: ID, $businessId: ID, $from: DateTime!, $to: DateTime!, $filter: CalendarEventFilter,
  $first: Int!, $after: String, $timeZone: String) {{
  calendarEvents(staffId: $staffId, businessId: $businessId, from: $from, to: $to, filter: $filter, first: $first,
                 after: $after, timeZone: $timeZone) {{ __typename
    ... on CalendarEventConnection {{ timeZone edges {{ cursor node {{ {EVENT} }} }}
                                     pageInfo {{ hasNextPage endCursor }} }}
    {ERRORS} }} }}"""
NOW = datetime.now(UTC)
WINDOW = {"from": (NOW - timedelta(days=2)).isoformat(), "to": datetime.fromisoformat(at(0, day=2)).isoformat()}


def when(hour: int, minute: int = 0, day: int = 0) -> datetime:
    return datetime.fromisoformat(at(hour, minute, day))


def utc(hour: int, minute: int = 0, day: int = 0) -> str:
    """The Berlin wall-clock time on MONDAY (+ days) as the API answers it without a time zone (UTC)."""
    return when(hour, minute, day).astimezone(UTC).isoformat()


@dataclass
class Journal:
    """The shop, the staff member's token, and the rows by name: bookings, blocks, connections and calendars (whose
    IDs `gid` gives, and those of the bookings' and blocks' journal entries: BookingEntry, BlockEntry)."""

    shop: Shop
    staff_token: str
    bookings: dict[str, Booking]
    blocks: dict[str, BusyBlock]
    connections: dict[str, CalendarConnection]
    calendars: dict[str, ExternalCalendar]

    def gid(self, kind: str, name: str) -> str:
        tables: dict[str, dict[str, Any]] = {"Booking": self.bookings, "BusyBlock": self.blocks,
                                             "BookingEntry": self.bookings, "BlockEntry": self.blocks,
                                             "CalendarConnection": self.connections,
                                             "ExternalCalendar": self.calendars}
        return encode_id(kind, tables[kind][name].id)


async def _calendar(staff: Staff, provider: Provider, name: str, colour: str, *, destination: bool = False
                    ) -> tuple[CalendarConnection, ExternalCalendar]:
    connection = await CalendarConnection.create(staff=staff, provider=provider, account_label=f"sam@{provider}")
    calendar = await ExternalCalendar.create(connection=connection, provider_calendar_id=f"{provider}-1", name=name,
                                             colour=colour, is_destination=destination)
    return connection, calendar


async def imported(staff: Staff, calendar: ExternalCalendar, title: str, starts: datetime, ends: datetime,
                   **values: Any) -> BusyBlock:
    return await BusyBlock.create(staff=staff, source=BusyBlockSource.EXTERNAL, external_calendar=calendar,
                                  external_event_id=f"event-{title}", title=title, starts_at=starts, ends_at=ends,
                                  **values)


async def booked_directly(staff: Staff, service: Service, name: str, starts: datetime, **values: Any) -> Booking:
    """A booking written as an import writes one (from an appointment provider), or one from the past."""
    ends = starts + timedelta(minutes=service.duration_minutes)
    return await Booking.create(business_id=staff.business_id, staff=staff, service=service, customer_name=name,
                                starts_at=starts, ends_at=ends, buffered_start=starts, buffered_end=ends,
                                created_by_id=(await staff.business).owner_id, **values)


async def given_journal(api: GraphQLClient) -> Journal:
    shop = await given_shop(api)
    staff_token = await staff_token_of(api, shop.staff_invite)
    customer = await sign_up(api, "cleo@example.com", name="Cleo Customer")
    staff, service = await Staff.get(), await Service.get()
    connections, calendars = {}, {}
    for key, provider, name, colour in (("google", Provider.GOOGLE, "Work", "#0b8043"),
                                        ("microsoft", Provider.MICROSOFT, "Outlook", "#3a87ad"),
                                        ("caldav", Provider.CALDAV, "Home", ""),
                                        ("calendly", Provider.CALENDLY, "Calendly", "")):
        connections[key], calendars[key] = await _calendar(staff, provider, name, colour,
                                                           destination=key == "google")
    made = {}
    for name, hour in (("cancelled", 9), ("kept", 10)):
        data = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": at(hour)}},
                         customer["accessToken"])
        made[name] = await Booking.get(id=pk_of(data["createBooking"]["booking"]["id"]))
    await api("""mutation($input: CancelBookingInput!) { cancelBooking(input: $input) { __typename } }""",
              {"input": {"id": encode_id("Booking", made["cancelled"].id), "scope": "THIS_OCCURRENCE"}},
              shop.owner_token)
    made["calendly"] = await booked_directly(staff, service, "Ann Invitee", when(11), source="calendly")
    made["past"] = await booked_directly(staff, service, "Pat Past", (NOW - timedelta(days=1)).replace(microsecond=0))
    blocks = {
        "dentist": await imported(staff, calendars["google"], "Dentist", when(12), when(13)),
        "call": await imported(staff, calendars["microsoft"], "Team call", when(13), when(14), tentative=True),
        "gym": await imported(staff, calendars["caldav"], "Gym", when(14), when(15)),
        "intro": await imported(staff, calendars["calendly"], "Intro call with Bo", when(15), when(15, 30)),
        "holiday": await imported(staff, calendars["google"], "Holiday", when(0, day=1), when(0, day=2),
                                  all_day=True),
    }
    therapy = await api(BLOCK, {"input": {"staffId": shop.staff_id, "startsAt": at(16), "endsAt": at(17),
                                          "title": "Therapy"}}, staff_token)
    blocks["therapy"] = await BusyBlock.get(id=pk_of(therapy["blockTime"]["id"]))
    # the appointment provider is moving the Calendly booking and the Calendly block (the new times are to come)
    await ImportedAppointment.create(external_calendar=calendars["calendly"], event_uri="events/1",
                                     starts_at=when(11), ends_at=when(12), successor="events/1/invitees/2",
                                     booking=made["calendly"])
    await ImportedAppointment.create(external_calendar=calendars["calendly"], event_uri="events/3",
                                     starts_at=when(15), ends_at=when(15, 30), successor="events/3/invitees/4",
                                     busy_block=blocks["intro"])
    kept = made["kept"]
    await EventMapping.create(booking=kept, external_calendar=calendars["google"], state=EventMappingState.SYNCED)
    await EventMapping.create(booking=kept, external_calendar=calendars["microsoft"], state=EventMappingState.PENDING)
    await EventMapping.create(booking=kept, external_calendar=calendars["caldav"], state=EventMappingState.FAILED)
    await SyncConflict.create(staff=staff, booking=kept, connection=connections["microsoft"], kind="busy_overlap")
    await EventMapping.create(booking=made["calendly"], external_calendar=calendars["calendly"],
                              state=EventMappingState.SYNCED)
    return Journal(shop, staff_token, made, blocks, connections, calendars)


def pk_of(global_id: str) -> int:
    decoded = decode_id(global_id)
    assert decoded is not None and decoded.pk is not None
    return decoded.pk


async def listed(api: GraphQLClient, token: str, **variables: Any) -> Any:
    """The calendarEvents answer for these variables (over WINDOW, a page of 100, unless they say otherwise)."""
    data = await api(EVENTS, {**WINDOW, "first": 100, **variables}, token)
    return data["calendarEvents"]


def nodes(answer: Any) -> list[dict[str, Any]]:
    return [edge["node"] for edge in answer["edges"]]


def week_start() -> datetime:
    return datetime(MONDAY.year, MONDAY.month, MONDAY.day, tzinfo=UTC)
