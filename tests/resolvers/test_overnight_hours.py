"""Night work through the API: hours written across midnight, evenings that run into the next morning, booking a
service that crosses midnight, and what a refused schedule leaves behind."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from models import Booking, OutboxEntry, ScheduleOverride, WorkingHoursRange
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, given_shop, sign_up

SLOTS = """query($service: ID!, $from: DateTime!, $to: DateTime!, $zone: String!) {
  availableSlots(serviceId: $service, from: $from, to: $to, timeZone: $zone) { __typename
    ... on AvailableSlots { slots { start end } } } }"""
SET_HOURS = """mutation($input: SetWorkingHoursInput!) { setWorkingHours(input: $input) { __typename
  ... on StaffMember { workingHours { weekday ranges { start end } } } ... on ValidationError { message path } } }"""
OVERRIDE = """mutation($input: AddScheduleOverrideInput!) { addScheduleOverride(input: $input) { __typename
  ... on ScheduleOverride { date ranges { start end } note } ... on ValidationError { message path } } }"""

# Tokyo keeps one offset all year, so the times below never meet a clock change.
TOKYO = ZoneInfo("Asia/Tokyo")
SOON = datetime.now(UTC).date() + timedelta(days=14)
SATURDAY = SOON + timedelta(days=(5 - SOON.weekday()) % 7)
EVENING_AND_MORNING = [{"weekday": "SATURDAY", "ranges": [{"start": "20:00", "end": "24:00"}]},
                       {"weekday": "SUNDAY", "ranges": [{"start": "00:00", "end": "04:00"}]}]
OVERNIGHT = [{"weekday": "SATURDAY", "ranges": [{"start": "20:00", "end": "04:00"}]}]


def tokyo(hour: int, minute: int = 0, day: int = 0, on: date = SATURDAY) -> str:
    """A Tokyo wall-clock time on Saturday (+ days), as a client sends it and as the API answers in Tokyo time."""
    return (datetime(on.year, on.month, on.day, hour, minute, tzinfo=TOKYO) + timedelta(days=day)).isoformat()


def as_utc(local: str) -> str:
    return datetime.fromisoformat(local).astimezone(UTC).isoformat()


def slot_starts(data: dict[str, Any]) -> list[str]:
    return [slot["start"] for slot in data["availableSlots"]["slots"]]


async def stored_hours() -> list[tuple[int, int, int]]:
    return sorted(await WorkingHoursRange.all().values_list("weekday", "start_minute", "end_minute"))  # type: ignore


async def test_night_hours_are_written_across_midnight_and_read_back_as_written(api: GraphQLClient) -> None:
    # given a shop
    shop = await given_shop(api, zone="Asia/Tokyo")
    # when its technician's Friday runs 22:00-06:00 and Saturday 18:00 to midnight written as 00:00
    data = await api(SET_HOURS, {"input": {"staffId": shop.staff_id, "days": [
        {"weekday": "FRIDAY", "ranges": [{"start": "22:00", "end": "06:00"}]},
        {"weekday": "SATURDAY", "ranges": [{"start": "18:00", "end": "00:00"}]}]}}, shop.owner_token)
    # then the night reads back as written, and midnight as 24:00
    assert data["setWorkingHours"] == {"__typename": "StaffMember", "workingHours": [
        {"weekday": "FRIDAY", "ranges": [{"start": "22:00", "end": "06:00"}]},
        {"weekday": "SATURDAY", "ranges": [{"start": "18:00", "end": "24:00"}]}]}
    # and the night is stored as minutes after Friday's midnight
    assert await stored_hours() == [(4, 1320, 1800), (5, 1080, 1440)]


async def test_a_night_technician_is_offered_and_booked_across_midnight(api: GraphQLClient) -> None:
    # given Saturday 20:00-24:00 and Sunday 00:00-04:00, a 60-minute service on a 30-minute step
    shop = await given_shop(api, zone="Asia/Tokyo", hours=EVENING_AND_MORNING)
    customer = await sign_up(api, "c@example.com")
    # when a visitor asks for Saturday 22:00 to Sunday 02:00
    offered = await api(SLOTS, {"service": shop.service_id, "from": tokyo(22), "to": tokyo(2, day=1),
                                "zone": "Asia/Tokyo"})
    # then the hour across midnight is offered with the others
    assert offered["availableSlots"]["slots"][3] == {"start": tokyo(23, 30), "end": tokyo(0, 30, day=1)}
    assert slot_starts(offered) == [tokyo(22), tokyo(22, 30), tokyo(23), tokyo(23, 30), tokyo(0, day=1),
                                    tokyo(0, 30, day=1), tokyo(1, day=1), tokyo(1, 30, day=1)]
    # and the customer books it
    booked = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": tokyo(23, 30)}},
                       customer["accessToken"])
    assert booked["createBooking"]["__typename"] == "BookingPayload"
    assert (booked["createBooking"]["booking"]["startsAt"], booked["createBooking"]["booking"]["endsAt"]) == (
        as_utc(tokyo(23, 30)), as_utc(tokyo(0, 30, day=1)))
    # and the slots it overlaps on both sides of midnight are gone
    after = await api(SLOTS, {"service": shop.service_id, "from": tokyo(22), "to": tokyo(2, day=1),
                              "zone": "Asia/Tokyo"})
    assert slot_starts(after) == [tokyo(22), tokyo(22, 30), tokyo(0, 30, day=1), tokyo(1, day=1), tokyo(1, 30, day=1)]


async def test_a_time_taken_across_midnight_is_refused_and_writes_nothing(api: GraphQLClient) -> None:
    # given the night written as one range, and a walk-in booked 23:45-00:45 by the owner
    shop = await given_shop(api, zone="Asia/Tokyo", hours=OVERNIGHT)
    walk_in = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": tokyo(23, 45),
                                                   "walkIn": True}}, shop.owner_token)
    assert walk_in["createBooking"]["__typename"] == "BookingPayload"
    before = (await Booking.all().count(), await OutboxEntry.all().count())
    # when a customer asks for Sunday 00:00, inside the walk-in
    customer = await sign_up(api, "c@example.com")
    refused = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": tokyo(0, day=1)}},
                        customer["accessToken"])
    # then it is unavailable and nothing was written
    assert refused["createBooking"] == {"__typename": "SlotUnavailable", "message": "That time is not available",
                                        "unavailableStarts": [as_utc(tokyo(0, day=1))]}
    assert (await Booking.all().count(), await OutboxEntry.all().count()) == before
    # and an hour running past the night's end (03:30-04:30) is refused too
    late = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": tokyo(3, 30, day=1)}},
                     customer["accessToken"])
    assert late["createBooking"]["__typename"] == "SlotUnavailable"
    assert (await Booking.all().count(), await OutboxEntry.all().count()) == before


async def test_a_night_overlapping_the_next_days_hours_is_refused_and_old_hours_kept(api: GraphQLClient) -> None:
    shop = await given_shop(api, zone="Asia/Tokyo")
    before = await stored_hours()
    # when Saturday's night runs to 06:00 but Sunday starts at 05:00
    overlapping = await api(SET_HOURS, {"input": {"staffId": shop.staff_id, "days": [
        {"weekday": "SATURDAY", "ranges": [{"start": "22:00", "end": "06:00"}]},
        {"weekday": "SUNDAY", "ranges": [{"start": "12:00", "end": "14:00"}, {"start": "05:00", "end": "09:00"}]}]}},
        shop.owner_token)
    # or Sunday's night runs into Monday's morning (the week wraps)
    wrapping = await api(SET_HOURS, {"input": {"staffId": shop.staff_id, "days": [
        {"weekday": "MONDAY", "ranges": [{"start": "01:00", "end": "09:00"}]},
        {"weekday": "SUNDAY", "ranges": [{"start": "23:00", "end": "02:00"}]}]}}, shop.owner_token)
    # or a range ends where it starts
    empty = await api(SET_HOURS, {"input": {"staffId": shop.staff_id, "days": [
        {"weekday": "SUNDAY", "ranges": [{"start": "00:00", "end": "00:00"}]}]}}, shop.owner_token)
    # then each is a validation error naming the range, and the old hours stay
    assert overlapping["setWorkingHours"] == {
        "__typename": "ValidationError", "path": ["input", "days", "1", "ranges", "1"],
        "message": "This range overlaps the night range that runs on from Saturday"}
    assert wrapping["setWorkingHours"] == {
        "__typename": "ValidationError", "path": ["input", "days", "0", "ranges", "0"],
        "message": "This range overlaps the night range that runs on from Sunday"}
    assert empty["setWorkingHours"] == {
        "__typename": "ValidationError", "path": ["input", "days", "0", "ranges", "0", "end"],
        "message": "The end must differ from the start (00:00 to 24:00 is the whole day)"}
    assert await stored_hours() == before
    # and a night that only touches the next morning is fine
    touching = await api(SET_HOURS, {"input": {"staffId": shop.staff_id, "days": [
        {"weekday": "SATURDAY", "ranges": [{"start": "22:00", "end": "06:00"}]},
        {"weekday": "SUNDAY", "ranges": [{"start": "06:00", "end": "09:00"}]}]}}, shop.owner_token)
    assert touching["setWorkingHours"]["__typename"] == "StaffMember"


async def test_a_dates_override_may_run_into_the_next_morning(api: GraphQLClient) -> None:
    # given a technician who works no nights, and an override for Saturday 22:00-02:00
    shop = await given_shop(api, zone="Asia/Tokyo", hours=[])
    data = await api(OVERRIDE, {"input": {"staffId": shop.staff_id, "date": SATURDAY.isoformat(),
                                          "ranges": [{"start": "22:00", "end": "02:00"}], "note": "Night call"}},
                     shop.owner_token)
    assert data["addScheduleOverride"] == {"__typename": "ScheduleOverride", "date": SATURDAY.isoformat(),
                                           "ranges": [{"start": "22:00", "end": "02:00"}], "note": "Night call"}
    # then Saturday's night is offered into Sunday, though Sunday has no hours of its own
    offered = await api(SLOTS, {"service": shop.service_id, "from": tokyo(0), "to": tokyo(0, day=2),
                                "zone": "Asia/Tokyo"})
    assert slot_starts(offered) == [tokyo(22), tokyo(22, 30), tokyo(23), tokyo(23, 30), tokyo(0, day=1),
                                    tokyo(0, 30, day=1), tokyo(1, day=1)]


async def test_an_override_with_an_empty_range_is_refused_and_nothing_is_stored(api: GraphQLClient) -> None:
    shop = await given_shop(api, zone="Asia/Tokyo")
    data = await api(OVERRIDE, {"input": {"staffId": shop.staff_id, "date": SATURDAY.isoformat(),
                                          "ranges": [{"start": "22:00", "end": "22:00"}]}}, shop.owner_token)
    assert data["addScheduleOverride"] == {
        "__typename": "ValidationError", "path": ["input", "ranges", "0", "end"],
        "message": "The end must differ from the start (00:00 to 24:00 is the whole day)"}
    assert await ScheduleOverride.all().count() == 0


async def test_a_second_override_of_a_date_replaces_the_first(api: GraphQLClient) -> None:
    # given a Saturday override 09:00-12:00
    shop = await given_shop(api, zone="Asia/Tokyo")
    first = {"staffId": shop.staff_id, "date": SATURDAY.isoformat(), "ranges": [{"start": "09:00", "end": "12:00"}],
             "note": "Morning only"}
    await api(OVERRIDE, {"input": first}, shop.owner_token)
    # when another override of the same date sets 13:00-14:00
    second = {**first, "ranges": [{"start": "13:00", "end": "14:00"}], "note": "After lunch"}
    await api(OVERRIDE, {"input": second}, shop.owner_token)
    # then only the second is kept: nothing of the first is merged into it, and its slots are the day's only slots
    assert await ScheduleOverride.all().values_list("ranges", "note") == [([[780, 840]], "After lunch")]
    offered = await api(SLOTS, {"service": shop.service_id, "from": tokyo(0), "to": tokyo(0, day=1),
                                "zone": "Asia/Tokyo"})
    assert slot_starts(offered) == [tokyo(13)]


def next_midnight_spring_forward(zone: ZoneInfo, after: date) -> date:
    """The first date on or after `after` whose midnight does not exist (its clocks jump from 24:00 to 01:00)."""
    day = after
    while True:
        midnight = datetime(day.year, day.month, day.day)
        if midnight.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) != midnight:
            return day
        day += timedelta(days=1)


async def test_a_night_technician_in_santiago_works_through_the_missing_midnight(api: GraphQLClient) -> None:
    # given a Santiago technician working 22:00-24:00 and 00:00-03:00 every day, and the next night on which
    # Santiago's clocks go from 24:00 straight to 01:00
    zone = ZoneInfo("America/Santiago")
    change = next_midnight_spring_forward(zone, datetime.now(UTC).date() + timedelta(days=2))
    every_day = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
    shop = await given_shop(api, zone="America/Santiago", horizon=400, hours=[
        {"weekday": day, "ranges": [{"start": "00:00", "end": "03:00"}, {"start": "22:00", "end": "24:00"}]}
        for day in every_day])
    eve = change - timedelta(days=1)
    # when a visitor asks for that night in Santiago time
    offered = await api(SLOTS, {"service": shop.service_id, "zone": "America/Santiago",
                                "from": f"{eve}T21:00:00-04:00", "to": f"{change}T04:00:00-03:00"})
    # then the evening's last hour ends at 01:30 -03, and the morning starts at 01:00 -03: 00:00 does not exist
    assert offered["availableSlots"]["slots"][3] == {"start": f"{eve}T23:30:00-04:00",
                                                     "end": f"{change}T01:30:00-03:00"}
    assert slot_starts(offered) == [f"{eve}T22:00:00-04:00", f"{eve}T22:30:00-04:00", f"{eve}T23:00:00-04:00",
                                    f"{eve}T23:30:00-04:00", f"{change}T01:00:00-03:00", f"{change}T01:30:00-03:00",
                                    f"{change}T02:00:00-03:00"]
    # and the hour across the jump can be booked
    customer = await sign_up(api, "c@example.com")
    booked = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id,
                                                  "startsAt": f"{eve}T23:30:00-04:00"}}, customer["accessToken"])
    assert booked["createBooking"]["booking"]["endsAt"] == f"{change}T04:30:00+00:00"
