"""Reading a Microsoft calendar: calendars, delta rounds with paging, replays and removals, series occurrences
hydrated from their master, Lockstep's own events known by their marker, and expired or foreign cursors."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from aiohttp import web

from domain.graph_events import MARKER_PROPERTY_ID, PLANNED_PROPERTY_ID
from domain.intervals import Span
from providers.base import CursorExpired
from tests.fakes.microsoft import FakeMicrosoft
from tests.support.graph_contract import check_graph_traffic
from tests.support.microsoft import START, Graph, booking, by_hand, connected, microsoft_provider

WINDOW = Span(START - timedelta(days=30), START + timedelta(days=365))
DELTA = r"/calendarView/delta$"
# Lockstep's two properties, as its reads of its own events expand them
EXPAND = f"singleValueExtendedProperties($filter=id eq '{MARKER_PROPERTY_ID}' or id eq '{PLANNED_PROPERTY_ID}')"


@pytest.fixture
async def graph() -> AsyncIterator[Graph]:
    async with connected() as made:
        yield made


def marker_lookup(entry: Any) -> bool:
    """A read of one event's marker property (not a fetch of a whole event)."""
    return entry.method == "GET" and "/events/" in entry.path and "$expand" in dict(entry.query)


def payloads(changes: Any) -> dict[str, dict[str, Any]]:
    return {event.event_id: json.loads(event.payload) for event in changes.changed}


def weekly(subject: str, count: int = 3) -> dict[str, Any]:
    """A weekly series entered in Outlook, Tuesdays 9:00 in Berlin from 8 January 2030."""
    return {**by_hand(subject, 8, 9), "showAs": "tentative", "body": {"contentType": "text", "content": "Notes"},
            "recurrence": {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"]},
                           "range": {"type": "numbered", "startDate": "2030-01-08", "numberOfOccurrences": count}}}


async def test_calendars_are_listed_across_pages_with_colour_and_rights(graph: Graph) -> None:
    team = graph.fake.add_calendar("Team", can_edit=False, color="lightGreen")
    graph.fake.page_size = 1
    calendars = await graph.provider.list_calendars()
    assert [(c.calendar_id, c.name, c.colour, c.time_zone, c.writable, c.primary) for c in calendars] == [
        (graph.calendar_id, "Calendar", "", "", True, True), (team, "Team", "#87d28e", "", False, False)]
    listings = [entry for entry in graph.fake.log if entry.path.endswith("/me/calendars")]
    assert len(listings) == 2


async def test_the_account_is_labelled_by_its_address(graph: Graph) -> None:
    assert await graph.provider.account_label() == "tech@contoso.example"


async def test_a_first_round_follows_short_and_empty_pages_to_the_delta_link(graph: Graph) -> None:
    # given five events and a server answering with an empty first page, then pages of two
    ids = [graph.fake.immutable_id(graph.fake.insert_by_hand(graph.calendar_id, by_hand(f"Visit {day}", day))["id"])
           for day in range(8, 13)]
    graph.fake.page_size, graph.fake.empty_delta_page = 2, True
    # when everything in the window is fetched
    changes = await graph.provider.fetch_changes(graph.calendar_id, None, WINDOW)
    # then every event comes back once, by its immutable id, as its JSON resource, and the round is complete
    assert (changes.complete, changes.deleted) == (True, ())
    assert sorted(event.event_id for event in changes.changed) == sorted(ids)
    assert {item["subject"] for item in payloads(changes).values()} == {f"Visit {day}" for day in range(8, 13)}
    assert changes.cursor.startswith(graph.fake.api_url + "/") and "$deltatoken=" in changes.cursor
    # and the first request named the window in UTC and the preferences, the others only followed the links
    rounds = [entry for entry in graph.fake.log if "/calendarView/delta" in entry.path]
    assert dict(rounds[0].query) == {"startDateTime": "2029-12-08T09:00:00Z", "endDateTime": "2031-01-07T09:00:00Z"}
    assert rounds[0].headers["Prefer"] == 'IdType="ImmutableId", outlook.timezone="UTC", odata.maxpagesize=200'
    assert len(rounds) == 4 and all(dict(entry.query).keys() == {"$skiptoken"} for entry in rounds[1:])


async def test_an_incremental_round_lists_changes_and_removals_since_the_cursor(graph: Graph) -> None:
    fake, calendar = graph.fake, graph.calendar_id
    kept = fake.immutable_id(fake.insert_by_hand(calendar, by_hand("Dentist", 8))["id"])
    gone = fake.immutable_id(fake.insert_by_hand(calendar, by_hand("Gym", 9))["id"])
    first = await graph.provider.fetch_changes(calendar, None, WINDOW)
    # when the staff member moves one event, deletes the other and adds a third
    fake.update_by_hand(kept, {"start": {"dateTime": "2030-01-08T16:00:00", "timeZone": "Europe/Berlin"},
                               "end": {"dateTime": "2030-01-08T17:00:00", "timeZone": "Europe/Berlin"}})
    fake.delete_by_hand(gone)
    added = fake.immutable_id(fake.insert_by_hand(calendar, by_hand("Haircut", 10))["id"])
    since = await graph.provider.fetch_changes(calendar, first.cursor, WINDOW)
    # then exactly that comes back, from exactly the cursor's link
    assert since.complete is False
    read = payloads(since)
    assert sorted(read) == sorted([kept, added])
    assert read[kept]["start"] == {"dateTime": "2030-01-08T15:00:00.0000000", "timeZone": "UTC"}
    assert since.deleted == (gone,)
    token = dict(parse_qsl(urlsplit(first.cursor).query))["$deltatoken"]
    (followed,) = [entry for entry in fake.log if dict(entry.query).get("$deltatoken") == token]
    assert dict(followed.query) == {"$deltatoken": token}
    quiet = await graph.provider.fetch_changes(calendar, since.cursor, WINDOW)
    assert (quiet.changed, quiet.deleted) == ((), ())


async def test_a_replayed_item_counts_as_its_last_listing_says(graph: Graph) -> None:
    # given a round that repeats the items of the round before it, among them one deleted since
    fake, calendar = graph.fake, graph.calendar_id
    gone = fake.immutable_id(fake.insert_by_hand(calendar, by_hand("Gym", 9))["id"])
    kept = fake.immutable_id(fake.insert_by_hand(calendar, by_hand("Dentist", 8))["id"])
    first = await graph.provider.fetch_changes(calendar, None, WINDOW)
    fake.delete_by_hand(gone)
    fake.replay_delta = True
    since = await graph.provider.fetch_changes(calendar, first.cursor, WINDOW)
    # then the deleted event is deleted, and the replayed one is a change once
    assert [event.event_id for event in since.changed] == [kept]
    assert since.deleted == (gone,)


async def test_occurrences_are_hydrated_from_their_master_and_the_master_is_not_returned(graph: Graph) -> None:
    fake, calendar = graph.fake, graph.calendar_id
    master = fake.immutable_id(fake.insert_by_hand(calendar, weekly("Standup"))["id"])
    changes = await graph.provider.fetch_changes(calendar, None, WINDOW)
    read = payloads(changes)
    starts = [datetime(2030, 1, 8, 8, tzinfo=UTC) + timedelta(weeks=n) for n in range(3)]
    assert sorted(read) == sorted(fake.occurrence_id(master, start) for start in starts)
    for item in read.values():
        assert (item["type"], item["seriesMasterId"], item["subject"], item["showAs"]) == (
            "occurrence", master, "Standup", "tentative")
        assert "body" not in item and "recurrence" not in item
    # the master was in the round: nothing more was asked for it
    assert not [entry for entry in fake.log if unquote(entry.path).endswith(f"/me/events/{master}")
                and not marker_lookup(entry)]


class MasterlessDelta(FakeMicrosoft):
    """A Graph whose delta rounds list a series' occurrences without their master (the round never carries it)."""

    async def _delta(self, request: web.Request) -> web.Response:
        answer = await super()._delta(request)
        assert answer.text is not None
        body = json.loads(answer.text)
        body["value"] = [item for item in body["value"] if item.get("type") != "seriesMaster"]
        return web.json_response(body, headers={"Preference-Applied": answer.headers["Preference-Applied"]})


async def test_occurrences_whose_master_is_not_in_the_round_are_hydrated_from_the_master_fetched_once() -> None:
    async with MasterlessDelta() as fake, microsoft_provider(fake) as (provider, _):
        calendar = fake.default_calendar_id()
        master = fake.immutable_id(fake.insert_by_hand(calendar, weekly("Standup"))["id"])
        changes = await provider.fetch_changes(calendar, None, WINDOW)
        problems = check_graph_traffic(fake.log)
    read = payloads(changes)
    assert len(read) == 3
    assert {(item["subject"], item["showAs"], "body" in item) for item in read.values()} == {
        ("Standup", "tentative", False)}
    fetched = [entry for entry in fake.log if unquote(entry.path).endswith(f"/me/events/{master}")
               and not marker_lookup(entry)]
    assert [(entry.method, entry.status) for entry in fetched] == [("GET", 200)]
    assert problems == []


async def test_occurrences_of_a_master_deleted_meanwhile_are_gone() -> None:
    async with MasterlessDelta() as fake, microsoft_provider(fake) as (provider, _):
        calendar = fake.default_calendar_id()
        master = fake.immutable_id(fake.insert_by_hand(calendar, weekly("Standup"))["id"])
        first = await provider.fetch_changes(calendar, None, WINDOW)
        fake.update_by_hand(master, {"subject": "Standup (new room)"})
        fake.fail("GET", f"/me/events/{re.escape(master)}$", 404)
        since = await provider.fetch_changes(calendar, first.cursor, WINDOW)
        problems = check_graph_traffic(fake.log)
    assert since.changed == ()
    assert since.deleted == tuple(sorted(event.event_id for event in first.changed))
    assert problems == []


async def test_lockstep_s_own_events_carry_their_marker(graph: Graph) -> None:
    # given an event Lockstep wrote and one the staff member wrote
    ours = await graph.provider.put_event(graph.calendar_id, booking())
    theirs = graph.fake.immutable_id(graph.fake.insert_by_hand(graph.calendar_id, by_hand("Dentist", 8))["id"])
    # when the calendar is read
    read = payloads(await graph.provider.fetch_changes(graph.calendar_id, None, WINDOW))
    # then only Lockstep's carries the marker property, read for each of the two events on its own
    assert read[ours.event_id]["singleValueExtendedProperties"] == [
        {"id": MARKER_PROPERTY_ID, "value": "booking-1@lockstep"}]
    assert "singleValueExtendedProperties" not in read[theirs]
    lookups = [entry for entry in graph.fake.log if marker_lookup(entry)]
    assert sorted(unquote(entry.path).rsplit("/", 1)[-1] for entry in lookups) == sorted([ours.event_id, theirs])
    assert {tuple(sorted(dict(entry.query).items())) for entry in lookups} == {(
        ("$expand", EXPAND), ("$select", "id"))}
    assert not [entry for entry in graph.fake.log if entry.method == "GET" and entry.path.endswith("/events")]


async def test_many_changed_events_are_marked_by_one_listing_of_the_marked_ones(graph: Graph) -> None:
    # given more changed events than are looked up one by one: Lockstep's own and the staff member's
    ours = [await graph.provider.put_event(graph.calendar_id, booking(f"booking-{n}@lockstep", hour=9 + n))
            for n in range(1, 6)]
    for hour in range(1, 6):
        graph.fake.insert_by_hand(graph.calendar_id, by_hand(f"Errand {hour}", hour))
    # when the calendar is read
    read = payloads(await graph.provider.fetch_changes(graph.calendar_id, None, WINDOW))
    # then Lockstep's five carry their marker, found by listing the marked events (no lookup one by one)
    assert sorted(event_id for event_id, item in read.items() if "singleValueExtendedProperties" in item) == sorted(
        written.event_id for written in ours)
    listings = [entry for entry in graph.fake.log if entry.method == "GET" and entry.path.endswith("/events")]
    assert dict(listings[0].query) == {
        "$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{MARKER_PROPERTY_ID}')",
        "$expand": EXPAND, "$select": "id",
        "$top": "1000"}
    assert [entry for entry in graph.fake.log if marker_lookup(entry)] == []


async def test_a_quiet_round_does_not_look_for_markers(graph: Graph) -> None:
    first = await graph.provider.fetch_changes(graph.calendar_id, None, WINDOW)
    await graph.provider.fetch_changes(graph.calendar_id, first.cursor, WINDOW)
    assert not [entry for entry in graph.fake.log if entry.path.endswith("/events")]


@pytest.mark.parametrize("with_location", [False, True])
async def test_an_expired_delta_token_is_an_expired_cursor(graph: Graph, with_location: bool) -> None:
    graph.fake.insert_by_hand(graph.calendar_id, by_hand("Dentist", 8))
    first = await graph.provider.fetch_changes(graph.calendar_id, None, WINDOW)
    graph.fake.expire_delta_tokens(with_location=with_location)
    with pytest.raises(CursorExpired) as raised:
        await graph.provider.fetch_changes(graph.calendar_id, first.cursor, WINDOW)
    assert str(raised.value).startswith("calendarView.delta: Microsoft Graph answered 410 syncStateNotFound")
    assert ("Location" in graph.fake.log[-1].response_headers) is with_location
    # and a full round afterwards gives a cursor that is accepted
    again = await graph.provider.fetch_changes(graph.calendar_id, None, WINDOW)
    assert len(again.changed) == 1
    assert (await graph.provider.fetch_changes(graph.calendar_id, again.cursor, WINDOW)).changed == ()


@pytest.mark.parametrize(("status", "code"), [(400, "SyncStateNotFound"), (400, "resyncRequired"),
                                              (404, "syncStateNotFound")])
async def test_a_sync_state_error_is_an_expired_cursor(graph: Graph, status: int, code: str) -> None:
    first = await graph.provider.fetch_changes(graph.calendar_id, None, WINDOW)
    graph.fake.fail("GET", DELTA, status, code=code)
    with pytest.raises(CursorExpired):
        await graph.provider.fetch_changes(graph.calendar_id, first.cursor, WINDOW)


async def test_a_cursor_not_under_the_api_root_is_never_followed(graph: Graph) -> None:
    first = await graph.provider.fetch_changes(graph.calendar_id, None, WINDOW)
    foreign = first.cursor.replace(graph.fake.api_url, "https://graph.example.net/v1.0")
    sent = len(graph.fake.log)
    for cursor in (foreign, graph.fake.api_url + ".example.net/me/calendarView/delta?$deltatoken=x"):
        with pytest.raises(CursorExpired):
            await graph.provider.fetch_changes(graph.calendar_id, cursor, WINDOW)
    assert len(graph.fake.log) == sent


async def test_a_lockstep_series_changed_in_outlook_is_listed_whole(graph: Graph) -> None:
    # given a weekly series of three that Lockstep wrote, read once
    series = dataclasses.replace(booking(), rrule="FREQ=WEEKLY;COUNT=3")
    written = await graph.provider.put_event(graph.calendar_id, series)
    first = await graph.provider.fetch_changes(graph.calendar_id, None, WINDOW)
    assert first.whole_series == ()
    # when the technician deletes its second occurrence in Outlook, and the calendar is read again
    graph.fake.cancel_occurrence_by_hand(written.event_id, series.starts_at + timedelta(weeks=1))
    since = await graph.provider.fetch_changes(graph.calendar_id, first.cursor, WINDOW)
    # then the series is named as listed whole, with the two occurrences left, each marked as Lockstep's
    assert since.whole_series == (written.event_id,)
    remaining = [json.loads(event.payload) for event in since.changed]
    assert sorted((item["seriesMasterId"], item["start"]["dateTime"][:16]) for item in remaining) == [
        (written.event_id, "2030-01-07T09:00"), (written.event_id, "2030-01-21T09:00")]
    assert all(item["singleValueExtendedProperties"] == [{"id": MARKER_PROPERTY_ID, "value": "booking-1@lockstep"}]
               for item in remaining)


async def test_a_personal_series_changed_in_outlook_is_not_read_whole(graph: Graph) -> None:
    # given a personal weekly series, read once
    made = graph.fake.insert_by_hand(graph.calendar_id, {**by_hand("Gym", 8), "recurrence": {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"], "firstDayOfWeek": "sunday"},
        "range": {"type": "numbered", "startDate": "2030-01-08", "numberOfOccurrences": 3}}})
    first = await graph.provider.fetch_changes(graph.calendar_id, None, WINDOW)
    series_id = graph.fake.immutable_id(made["id"])
    graph.fake.update_by_hand(series_id, {"subject": "Gym class"})
    since = await graph.provider.fetch_changes(graph.calendar_id, first.cursor, WINDOW)
    # then only Lockstep's series are read whole
    assert since.whole_series == ()
    assert not [entry for entry in graph.fake.log if entry.path.endswith("/instances")]
