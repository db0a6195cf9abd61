"""The "sync is working again" message: it names the bookings made meanwhile whole, within the length a notification
keeps, and a deleted customer's name can be found in it again and replaced, leaving other names as they are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.notification_mail import erase_line_names
from services.sync_recovery import MESSAGE_LIMIT, erase_listed_names, recovery_message
from tests.support.sync import book, given_connected_staff

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)
TEN_BERLIN = datetime(2030, 1, 8, 9, tzinfo=UTC)


async def test_long_names_are_listed_whole_as_far_as_they_fit_and_the_rest_counted(db: str) -> None:
    # given three bookings whose customers have names of 150 characters
    given = await given_connected_staff()
    names = [letter * 150 for letter in "ABC"]
    ids = [(await book(given, TEN_BERLIN + timedelta(hours=hour), NOW, name=name))[0].id
           for hour, name in enumerate(names)]
    # when the message is written
    message = await recovery_message(given.staff.id, ids, None)
    # then it names the first two whole (a third would pass the limit) and counts the last
    assert message == ("Calendar sync is working again; 3 bookings made while it was down are being written: "
                       f"{names[0]} Tue 08 Jan 10:00, {names[1]} Tue 08 Jan 11:00 and 1 more")
    assert len(message) <= MESSAGE_LIMIT


def test_a_name_is_replaced_where_it_is_listed_and_nowhere_else() -> None:
    message = ("Calendar sync is working again; 3 bookings made while it was down are being written: "
               "Jo Smith Tue 08 Jan 10:00, Jo Tue 08 Jan 11:00 and 1 more")
    assert erase_listed_names(message, ["Jo"], "Former customer") == (
        "Calendar sync is working again; 3 bookings made while it was down are being written: "
        "Jo Smith Tue 08 Jan 10:00, Former customer Tue 08 Jan 11:00 and 1 more")
    lines = ["Tuesday 8 January 2030, 10:00: Jo Smith, Boiler check", "Tuesday 8 January 2030, 11:00: Jo, Jo, Jo",
             "and 1 more"]
    assert erase_line_names(lines, ["Jo"], "Former customer") == [
        "Tuesday 8 January 2030, 10:00: Jo Smith, Boiler check",
        "Tuesday 8 January 2030, 11:00: Former customer, Jo, Jo", "and 1 more"]
