"""Dates at the edges of the calendar: refused with a typed error before anything is written, and a committed
change is never answered with an error by what is announced after it."""

from __future__ import annotations

from datetime import date

from models import ScheduleOverride, Staff
from schema.ids import encode_id
from services import live
from tests.support.graphql import GraphQLClient, given_shop

ADD = """mutation($input: AddScheduleOverrideInput!) { addScheduleOverride(input: $input) { __typename
  ... on ScheduleOverride { date } ... on ValidationError { message path } } }"""
REMOVE = """mutation($input: RemoveScheduleOverrideInput!) { removeScheduleOverride(input: $input) { __typename
  ... on ScheduleOverride { date note } } }"""


async def test_override_dates_outside_1970_to_2999_are_refused_and_nothing_is_written(api: GraphQLClient) -> None:
    # given a shop
    shop = await given_shop(api)
    answers = []
    for day in ("0001-01-01", "1969-12-31", "3000-01-01", "9999-12-31"):
        # when the owner sets the hours of a date at the edge of the calendar
        answers.append(await api(ADD, {"input": {"staffId": shop.staff_id, "date": day, "ranges": []}},
                                 shop.owner_token))
    # then each is a validation error of the date, and no override exists
    refused = {"__typename": "ValidationError", "message": "Use a date between the years 1970 and 2999",
               "path": ["input", "date"]}
    assert answers == [{"addScheduleOverride": refused}] * 4
    assert await ScheduleOverride.all().count() == 0
    # while the first and last supported years work
    for day in ("1970-01-01", "2999-12-31"):
        ok = await api(ADD, {"input": {"staffId": shop.staff_id, "date": day, "ranges": []}}, shop.owner_token)
        assert ok["addScheduleOverride"] == {"__typename": "ScheduleOverride", "date": day}


async def test_removing_an_override_of_a_far_off_date_answers_with_the_removed_override(api: GraphQLClient) -> None:
    # given overrides of dates whose local day cannot be worked out (stored before dates were checked)
    shop = await given_shop(api)
    staff = await Staff.get()
    rows = [await ScheduleOverride.create(staff=staff, date=day, ranges=[], note="old")
            for day in (date(1, 1, 1), date(9999, 12, 31))]
    # when the owner removes them
    answers = [await api(REMOVE, {"input": {"id": encode_id("ScheduleOverride", row.id)}}, shop.owner_token)
               for row in rows]
    # then the committed removals are answered as done
    assert answers == [{"removeScheduleOverride": {"__typename": "ScheduleOverride", "date": day, "note": "old"}}
                       for day in ("0001-01-01", "9999-12-31")]
    assert await ScheduleOverride.all().count() == 0


async def test_an_announcement_that_cannot_be_worked_out_is_dropped_not_raised() -> None:
    # given no publisher at all, when a day past the calendar's end is announced, then nothing is raised
    await live.publish_day_changed(1, date(9999, 12, 31), "Pacific/Kiritimati")
