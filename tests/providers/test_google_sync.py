"""Reading a Google calendar: full sync over the window with paging, incremental sync with the sync token, 410."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from domain.intervals import Span
from providers.base import CancelledOccurrence, CursorExpired
from providers.google import GoogleProvider
from tests.fakes.google import FakeGoogle
from tests.providers.google_fixtures import CALENDAR, START, by_hand

WINDOW = Span(START - timedelta(days=30), START + timedelta(days=365))


def listings(google: FakeGoogle) -> list[dict[str, str]]:
    return [dict(entry.query) for entry in google.log if entry.method == "GET" and entry.path.endswith("/events")]


async def test_a_full_sync_follows_short_and_empty_pages_to_the_sync_token(google: FakeGoogle,
                                                                          provider: GoogleProvider) -> None:
    # given five events and a server answering with an empty first page, then pages of two
    ids = [google.insert_by_hand(CALENDAR, by_hand(f"Visit {day}", day))["id"] for day in range(8, 13)]
    google.page_limit, google.empty_first_page = 2, True
    # when everything in the window is fetched
    changes = await provider.fetch_changes(CALENDAR, None, WINDOW)
    # then every event comes back once, as its JSON resource, and the listing is complete
    assert (changes.complete, changes.deleted) == (True, ())
    assert sorted(event.event_id for event in changes.changed) == sorted(ids)
    assert {json.loads(event.payload)["summary"] for event in changes.changed} == {f"Visit {d}" for d in range(8, 13)}
    assert changes.cursor.startswith("CP")
    # and the first request asked for expanded instances of the window, the others only for the next page
    queries = listings(google)
    assert queries[0] == {"singleEvents": "true", "maxResults": "250", "timeMin": "2029-12-08T09:00:00Z",
                          "timeMax": "2031-01-07T09:00:00Z"}
    assert len(queries) == 4 and all("pageToken" in query for query in queries[1:])


async def test_an_incremental_sync_lists_changes_and_deletions_since_the_token(google: FakeGoogle,
                                                                              provider: GoogleProvider) -> None:
    kept = google.insert_by_hand(CALENDAR, by_hand("Dentist", 8))
    gone = google.insert_by_hand(CALENDAR, by_hand("Gym", 9))
    first = await provider.fetch_changes(CALENDAR, None, WINDOW)
    # when the staff member moves one event, deletes the other and adds a third
    moved = google.update_by_hand(CALENDAR, kept["id"], {"start": {"dateTime": "2030-01-08T16:00:00+01:00"},
                                                         "end": {"dateTime": "2030-01-08T17:00:00+01:00"}})
    google.delete_by_hand(CALENDAR, gone["id"])
    added = google.insert_by_hand(CALENDAR, by_hand("Haircut", 10))
    since = await provider.fetch_changes(CALENDAR, first.cursor, WINDOW)
    # then exactly that comes back, with the sync token and nothing else restricting the request
    assert since.complete is False
    assert sorted((event.event_id, event.etag) for event in since.changed) == sorted(
        [(kept["id"], moved["etag"]), (added["id"], added["etag"])])
    assert since.deleted == (gone["id"],)
    assert listings(google)[-1] == {"singleEvents": "true", "maxResults": "250", "syncToken": first.cursor}
    quiet = await provider.fetch_changes(CALENDAR, since.cursor, WINDOW)
    assert (quiet.changed, quiet.deleted) == ((), ())


async def test_a_recurring_event_is_read_as_instances_and_a_deleted_instance_as_a_deletion(
        google: FakeGoogle, provider: GoogleProvider) -> None:
    # given a weekly series of three whose second instance the staff member cancels later
    series = google.insert_by_hand(CALENDAR, {**by_hand("Standup", 8, 9), "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"],
                                              "start": {"dateTime": "2030-01-08T09:00:00+01:00",
                                                        "timeZone": "Europe/Berlin"},
                                              "end": {"dateTime": "2030-01-08T10:00:00+01:00",
                                                      "timeZone": "Europe/Berlin"}})
    first = await provider.fetch_changes(CALENDAR, None, WINDOW)
    assert [event.event_id for event in first.changed] == [
        f"{series['id']}_20300108T080000Z", f"{series['id']}_20300115T080000Z", f"{series['id']}_20300122T080000Z"]
    assert {json.loads(event.payload)["recurringEventId"] for event in first.changed} == {series["id"]}
    google.delete_by_hand(CALENDAR, f"{series['id']}_20300115T080000Z")
    # when the changes are fetched
    since = await provider.fetch_changes(CALENDAR, first.cursor, WINDOW)
    # then the cancelled instance is a deletion and nothing else changed, and it is known as that series' occurrence
    assert (since.changed, since.deleted) == ((), (f"{series['id']}_20300115T080000Z",))
    assert since.cancelled_occurrences == (
        CancelledOccurrence(series["id"], datetime(2030, 1, 15, 8, tzinfo=UTC)),)


async def test_an_expired_sync_token_asks_for_a_full_sync(google: FakeGoogle, provider: GoogleProvider) -> None:
    google.insert_by_hand(CALENDAR, by_hand("Dentist", 8))
    first = await provider.fetch_changes(CALENDAR, None, WINDOW)
    google.expire_sync_tokens()
    with pytest.raises(CursorExpired) as raised:
        await provider.fetch_changes(CALENDAR, first.cursor, WINDOW)
    assert str(raised.value) == "events.list: Google answered 410 fullSyncRequired"
    # and a full sync afterwards works and gives a token that is accepted
    again = await provider.fetch_changes(CALENDAR, None, WINDOW)
    assert len(again.changed) == 1
    assert (await provider.fetch_changes(CALENDAR, again.cursor, WINDOW)).changed == ()


async def test_calendars_are_listed_with_role_colour_and_zone(google: FakeGoogle, provider: GoogleProvider) -> None:
    google.add_calendar("team@group.calendar.google.com", "Team", "America/New_York", access_role="reader",
                        colour="#ff7537")
    calendars = {calendar.calendar_id: calendar for calendar in await provider.list_calendars()}
    assert [(c.name, c.colour, c.time_zone, c.writable, c.primary) for c in calendars.values()] == [
        ("tech@example.com", "#9fe1e7", "Europe/Berlin", True, True),
        ("Team", "#ff7537", "America/New_York", False, False)]
