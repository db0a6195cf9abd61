"""A value that is not of its scalar type (a DateTime "tomorrow", a Date "2027-02-30") is refused before any
resolver runs, with a message that names the argument, whether it was written in the document or sent as a
variable, and without the parser's own text."""

from __future__ import annotations

from typing import Any

from models import Booking, ScheduleOverride
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, given_shop

SLOTS = """query($from: DateTime!, $to: DateTime!, $s: ID!) {
  availableSlots(serviceId: $s, from: $from, to: $to, timeZone: "UTC") { __typename } }"""
EXAMPLE = "e.g. 2027-02-01T09:00:00+01:00"


def spot(document: str, text: str, occurrence: int = 1) -> tuple[int, int]:
    """Line and column (from 1) where `text` stands in `document` the `occurrence`th time."""
    at = -1
    for _ in range(occurrence):
        at = document.index(text, at + 1)
    before = document[:at]
    return before.count("\n") + 1, at - (before.rfind("\n") + 1) + 1


def refused(message: str, locations: list[tuple[int, int]], field: list[str], argument: list[str],
            variable: str | None = None) -> dict[str, Any]:
    extensions: dict[str, Any] = {"code": "BAD_USER_INPUT", "fieldPath": field, "argumentPath": argument}
    if variable is not None:
        extensions["variable"] = variable
    return {"message": message, "locations": [{"line": line, "column": column} for line, column in locations],
            "extensions": extensions}


async def test_variables_that_are_not_date_times_name_their_arguments(api: GraphQLClient) -> None:
    # given a shop
    shop = await given_shop(api)
    # when a slot query sends "tomorrow" and an impossible day as its window
    body = await api.raw(SLOTS, {"s": shop.service_id, "from": "tomorrow", "to": "2027-02-30T09:00:00+01:00"})
    # then each argument is named, with what to give instead, and nothing ran
    assert body == {"data": None, "errors": [
        refused(f'Argument "from" (DateTime): "tomorrow" is not an ISO 8601 date-time with offset, {EXAMPLE}',
                [spot(SLOTS, "$from"), spot(SLOTS, "$from", 2)], ["availableSlots"], ["from"], "from"),
        refused('Argument "to" (DateTime): "2027-02-30T09:00:00+01:00" is not a date-time that exists (February '
                f"2027 has 28 days); give an ISO 8601 date-time with offset, {EXAMPLE}",
                [spot(SLOTS, "$to"), spot(SLOTS, "$to", 2)], ["availableSlots"], ["to"], "to")]}


async def test_a_field_of_an_input_variable_is_named_by_its_path_and_nothing_is_written(api: GraphQLClient) -> None:
    # given a shop
    shop = await given_shop(api)
    # when a booking's start is sent as a word
    body = await api.raw(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": "next Monday",
                                                    "walkIn": True}}, shop.owner_token)
    # then the error names input.startsAt, not the parser's text, and no booking exists
    assert body == {"data": None, "errors": [refused(
        f'Argument "input.startsAt" (DateTime): "next Monday" is not an ISO 8601 date-time with offset, {EXAMPLE}',
        [spot(CREATE_BOOKING, "$input"), spot(CREATE_BOOKING, "$input", 2)], ["createBooking"], ["input", "startsAt"],
        "input")]}
    assert await Booking.all().count() == 0


async def test_literals_are_named_too_and_an_impossible_date_says_why(api: GraphQLClient) -> None:
    # given a shop
    shop = await given_shop(api)
    # when an override is written for February 30th, and a slot query's window is a number
    add = f"""mutation {{ addScheduleOverride(input: {{staffId: "{shop.staff_id}",
        date: "2027-02-30", ranges: []}}) {{ __typename }} }}"""
    slot_query = f"""{{ availableSlots(serviceId: "{shop.service_id}", from: 5,
        to: "2027-02-01T09:00:00+01:00", timeZone: "UTC") {{ __typename }} }}"""
    override = await api.raw(add, token=shop.owner_token)
    slots = await api.raw(slot_query)
    again = await api.raw(slot_query)  # a document seen before is answered from the document memory
    # then each names the argument and the value, at the value's place in the document, and nothing is written
    assert override == {"data": None, "errors": [refused(
        'Argument "input.date" (Date): "2027-02-30" is not a date that exists (February 2027 has 28 days); give an '
        "ISO 8601 date, e.g. 2027-02-01", [spot(add, '"2027-02-30"')], ["addScheduleOverride"], ["input", "date"])]}
    assert slots == {"data": None, "errors": [refused(
        f'Argument "from" (DateTime): 5 is not an ISO 8601 date-time with offset, {EXAMPLE}', [spot(slot_query, "5,")],
        ["availableSlots"], ["from"])]}
    assert again == slots
    assert await ScheduleOverride.all().count() == 0


async def test_a_variable_used_in_two_arguments_and_in_a_fragment_names_each(api: GraphQLClient) -> None:
    # given a shop
    shop = await given_shop(api)
    query = """query($d: DateTime) { early: bookings(filter: {from: $d}) { __typename } ...Late }
      fragment Late on Query { late: bookings(filter: {to: $d}) { __typename } }"""
    # when the variable is not a date-time
    body = await api.raw(query, {"d": "soon"}, shop.owner_token)
    # then each argument it stands for is named, under the field's response key
    message = f'"soon" is not an ISO 8601 date-time with offset, {EXAMPLE}'
    assert body == {"data": None, "errors": [
        refused(f'Argument "filter.from" (DateTime): {message}', [spot(query, "$d"), spot(query, "$d", 2)],
                ["early"], ["filter", "from"], "d"),
        refused(f'Argument "filter.to" (DateTime): {message}', [spot(query, "$d"), spot(query, "$d", 3)], ["late"],
                ["filter", "to"], "d")]}


async def test_other_variable_errors_pass_unchanged(api: GraphQLClient) -> None:
    # given a slot query missing a variable, with another one that is not a date-time
    body = await api.raw(SLOTS, {"s": "x", "from": "later"})
    # then the missing one keeps its own message, and the other is named
    assert [error["message"] for error in body["errors"]] == [
        f'Argument "from" (DateTime): "later" is not an ISO 8601 date-time with offset, {EXAMPLE}',
        "Variable '$to' has invalid value: Expected a value of non-null type 'DateTime!' to be provided."]
