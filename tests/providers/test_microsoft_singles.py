"""A series whose rule Microsoft Graph cannot repeat exactly, written as a group of single events: created with both of
Lockstep's properties and a transaction each, left alone when nothing changed, settled single by single (a moved
occurrence patched, a cancelled one deleted), deleted whole, and read back as one own event of its occurrences,
whole in an incremental round. Every exchange is checked against the Graph contract (conforming_microsoft)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import pytest

from domain.busy import BusyPolicy
from domain.graph_events import MARKER_PROPERTY_ID, PLANNED_PROPERTY_ID
from domain.intervals import Span
from domain.own_events import OwnEvent
from jobs.event_reading import gather_own
from providers.base import Changes, MovedOccurrence, NotFound, OutgoingEvent
from providers.microsoft_export import transaction_id_for
from providers.microsoft_singles import GROUP_PREFIX, is_group, single_transaction_id
from providers.readers import read_microsoft
from services.sync_edits import OwnSeen
from tests.support.microsoft import Graph, by_hand, connected, read_event

# The 1st and 15th of the month at 10:00 in Berlin, four times from 15 March 2030: across the change to summer time
# on 31 March, so the last three are an hour earlier in UTC.
RULE = "FREQ=MONTHLY;BYMONTHDAY=1,15;COUNT=4"
FIRST = datetime(2030, 3, 15, 9, tzinfo=UTC)
PLANNED = [FIRST, datetime(2030, 4, 1, 8, tzinfo=UTC), datetime(2030, 4, 15, 8, tzinfo=UTC),
           datetime(2030, 5, 1, 8, tzinfo=UTC)]
HOUR = timedelta(hours=1)
MARKER = "series-7@lockstep"
GROUP = GROUP_PREFIX + MARKER
WINDOW = Span(FIRST - timedelta(days=30), FIRST + timedelta(days=365))
POLICY = BusyPolicy(zone="Europe/Berlin")


@pytest.fixture
async def graph() -> AsyncIterator[Graph]:
    async with connected() as made:
        yield made


def series(*moved: MovedOccurrence, exdates: tuple[datetime, ...] = (), rrule: str = RULE,
           summary: str = "Pool service") -> OutgoingEvent:
    return OutgoingEvent(marker=MARKER, summary=summary, description="Gate code 4711", starts_at=FIRST,
                         ends_at=FIRST + HOUR, time_zone="Europe/Berlin", rrule=rrule, exdates=exdates, moved=moved)


def dentist() -> dict[str, Any]:
    """Someone else's event in the window, entered in Outlook."""
    return {"subject": "Dentist", "start": {"dateTime": "2030-03-20T14:00:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2030-03-20T15:00:00", "timeZone": "Europe/Berlin"}}


def writes(graph: Graph, since: int = 0) -> list[tuple[str, str, int]]:
    return [(entry.method, unquote(entry.path).removeprefix("/v1.0/"), entry.status)
            for entry in graph.fake.log[since:] if entry.method != "GET"]


def singles(graph: Graph) -> dict[datetime, dict[str, Any]]:
    """The calendar's singles standing for occurrences, as Lockstep reads them, by their planned-start property."""
    found = {}
    for event_id in graph.fake.mailbox().events:
        event = read_event(graph.fake, event_id)
        properties = {prop["id"]: prop["value"] for prop in event["singleValueExtendedProperties"]}
        if PLANNED_PROPERTY_ID in properties:
            found[datetime.fromisoformat(properties[PLANNED_PROPERTY_ID])] = event
    return found


def taking_place(graph: Graph) -> list[tuple[datetime, datetime, datetime]]:
    """(planned start, start, end) of every single."""
    return sorted((planned, datetime.fromisoformat(event["start"]["dateTime"]).replace(tzinfo=UTC),
                   datetime.fromisoformat(event["end"]["dateTime"]).replace(tzinfo=UTC))
                  for planned, event in singles(graph).items())


def own_events(changes: Changes) -> dict[str, OwnSeen]:
    """What a pull gathers of Lockstep's own events from one fetch, by own id."""
    seen: dict[str, OwnSeen] = {}
    for remote in changes.changed:
        reading = read_microsoft(remote, WINDOW, POLICY, True)
        assert reading.own is not None and reading.spans == []
        gather_own(seen, reading, remote, changes.complete or reading.own_id in changes.whole_series)
    return seen


async def test_a_rule_graph_cannot_say_is_written_as_one_single_per_occurrence(graph: Graph) -> None:
    # when a series on the 1st and 15th is written
    written = await graph.provider.put_event(graph.calendar_id, series())
    # then it is four singles at 10:00 in Berlin on both sides of the change, known by the group's id
    assert (written.event_id, is_group(written.event_id)) == (GROUP, True)
    assert taking_place(graph) == [(start, start, start + HOUR) for start in PLANNED]
    # each carrying the series' marker and its planned start, with a transaction of its own
    made = singles(graph)
    assert [made[start]["singleValueExtendedProperties"] for start in PLANNED] == [
        [{"id": MARKER_PROPERTY_ID, "value": MARKER},
         {"id": PLANNED_PROPERTY_ID, "value": start.isoformat().replace("+00:00", "Z")}] for start in PLANNED]
    transactions = [made[start]["transactionId"] for start in PLANNED]
    assert transactions == [single_transaction_id(MARKER, start) for start in PLANNED]
    assert len(set(transactions) | {transaction_id_for(MARKER)}) == 5
    assert {uuid.UUID(transaction).version for transaction in transactions} == {5}
    assert {(event["type"], event["subject"], event["body"]["content"], event["recurrence"])
            for event in made.values()} == {("singleInstance", "Pool service", "Gate code 4711", None)}
    assert writes(graph) == [("POST", f"me/calendars/{graph.calendar_id}/events", 201)] * 4


async def test_writing_the_series_again_unchanged_writes_nothing(graph: Graph) -> None:
    written = await graph.provider.put_event(graph.calendar_id, series())
    sent = len(graph.fake.log)
    # when it is written again, as an update (with the group's etag) and as a retried create
    again = await graph.provider.put_event(graph.calendar_id, series(), event_id=written.event_id, etag=written.etag)
    retried = await graph.provider.put_event(graph.calendar_id, series())
    # then nothing was written and the group's etag stands
    assert writes(graph, sent) == []
    assert again == retried == written
    assert len(graph.fake.mailbox().events) == 4


async def test_a_rescheduled_occurrence_patches_its_one_single(graph: Graph) -> None:
    written = await graph.provider.put_event(graph.calendar_id, series())
    sent = len(graph.fake.log)
    # when the third occurrence is rescheduled to two hours later
    moved = MovedOccurrence(PLANNED[2], PLANNED[2] + 2 * HOUR, PLANNED[2] + 3 * HOUR)
    again = await graph.provider.put_event(graph.calendar_id, series(moved), event_id=written.event_id)
    # then its single alone was patched, and the group's etag moved
    third = singles(graph)[PLANNED[2]]
    assert writes(graph, sent) == [("PATCH", f"me/events/{third['id']}", 200)]
    assert "transactionId" not in graph.fake.log[-1].body
    assert taking_place(graph) == [(PLANNED[0], PLANNED[0], PLANNED[0] + HOUR),
                                   (PLANNED[1], PLANNED[1], PLANNED[1] + HOUR),
                                   (PLANNED[2], moved.starts_at, moved.ends_at),
                                   (PLANNED[3], PLANNED[3], PLANNED[3] + HOUR)]
    assert (again.event_id, again.etag != written.etag) == (GROUP, True)


async def test_a_cancelled_occurrence_deletes_its_one_single(graph: Graph) -> None:
    written = await graph.provider.put_event(graph.calendar_id, series())
    second = singles(graph)[PLANNED[1]]
    sent = len(graph.fake.log)
    await graph.provider.put_event(graph.calendar_id, series(exdates=(PLANNED[1],)), event_id=written.event_id)
    assert writes(graph, sent) == [("DELETE", f"me/events/{second['id']}", 204)]
    assert [planned for planned, _, _ in taking_place(graph)] == [PLANNED[0], PLANNED[2], PLANNED[3]]


async def test_a_new_subject_patches_every_single_and_a_hand_moved_single_goes_back(graph: Graph) -> None:
    written = await graph.provider.put_event(graph.calendar_id, series())
    first = singles(graph)[PLANNED[0]]
    graph.fake.update_by_hand(first["id"], by_hand("Pool service", 15, 16))
    sent = len(graph.fake.log)
    await graph.provider.put_event(graph.calendar_id, series(summary="Pool service – Cleo"),
                                   event_id=written.event_id)
    assert [method for method, _, _ in writes(graph, sent)] == ["PATCH"] * 4
    assert {event["subject"] for event in singles(graph).values()} == {"Pool service – Cleo"}
    assert taking_place(graph) == [(start, start, start + HOUR) for start in PLANNED]


async def test_deleting_the_group_deletes_every_single(graph: Graph) -> None:
    written = await graph.provider.put_event(graph.calendar_id, series())
    ids = sorted(event["id"] for event in singles(graph).values())
    sent = len(graph.fake.log)
    await graph.provider.delete_event(graph.calendar_id, written.event_id, etag=written.etag)
    assert sorted(path.removeprefix("me/events/") for _, path, _ in writes(graph, sent)) == ids
    assert graph.fake.mailbox().events == {}
    # and a group with no single left is not found, to delete or to update
    with pytest.raises(NotFound):
        await graph.provider.delete_event(graph.calendar_id, written.event_id)
    with pytest.raises(NotFound):
        await graph.provider.put_event(graph.calendar_id, series(), event_id=written.event_id)
    assert graph.fake.mailbox().events == {}


async def test_a_series_written_as_one_event_before_is_replaced_by_its_singles(graph: Graph) -> None:
    # given the series written as one weekly event (a rule Graph can say)
    weekly = await graph.provider.put_event(graph.calendar_id, series(rrule="FREQ=WEEKLY;COUNT=4"))
    # when its rule becomes one Graph cannot say and it is written over that event
    written = await graph.provider.put_event(graph.calendar_id, series(), event_id=weekly.event_id)
    # then the singles stand in its place
    assert written.event_id == GROUP
    assert weekly.event_id not in graph.fake.mailbox().events
    assert taking_place(graph) == [(start, start, start + HOUR) for start in PLANNED]


async def test_the_group_reads_back_as_one_own_event_of_its_occurrences(graph: Graph) -> None:
    # given the series written with its third occurrence moved
    moved = MovedOccurrence(PLANNED[2], PLANNED[2] + 2 * HOUR, PLANNED[2] + 3 * HOUR)
    await graph.provider.put_event(graph.calendar_id, series(moved))
    # when the calendar is read in full
    changes = await graph.provider.fetch_changes(graph.calendar_id, None, WINDOW)
    # then the four singles are one own event of the series, keyed by planned start, none of it busy time
    assert own_events(changes) == {GROUP: OwnSeen("", OwnEvent("series", 7, {
        PLANNED[0]: Span(PLANNED[0], PLANNED[0] + HOUR), PLANNED[1]: Span(PLANNED[1], PLANNED[1] + HOUR),
        PLANNED[2]: Span(moved.starts_at, moved.ends_at), PLANNED[3]: Span(PLANNED[3], PLANNED[3] + HOUR)}))}


async def test_a_single_changed_in_outlook_brings_its_whole_group_in_an_incremental_round(graph: Graph) -> None:
    # given the series written and the calendar read once, with someone else's event beside it
    await graph.provider.put_event(graph.calendar_id, series())
    graph.fake.insert_by_hand(graph.calendar_id, dentist())
    first = await graph.provider.fetch_changes(graph.calendar_id, None, WINDOW)
    assert first.whole_series == ()
    # when the technician moves the second single an hour later in Outlook, and the calendar is read again
    second = singles(graph)[PLANNED[1]]
    graph.fake.update_by_hand(second["id"], {
        "start": {"dateTime": "2030-04-01T11:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2030-04-01T12:00:00", "timeZone": "Europe/Berlin"}})
    since = await graph.provider.fetch_changes(graph.calendar_id, first.cursor, WINDOW)
    # then the whole group is listed, each single with both properties, and named as listed whole
    assert since.whole_series == (GROUP,)
    assert sorted(event.event_id for event in since.changed) == sorted(
        event["id"] for event in singles(graph).values())
    assert {json.dumps(sorted(item["id"] for item in json.loads(event.payload)["singleValueExtendedProperties"]))
            for event in since.changed} == {json.dumps(sorted([MARKER_PROPERTY_ID, PLANNED_PROPERTY_ID]))}
    assert own_events(since)[GROUP].event.occurrences[PLANNED[1]] == Span(PLANNED[1] + HOUR, PLANNED[1] + 2 * HOUR)
    assert own_events(since)[GROUP].partial is False


async def test_a_single_deleted_in_outlook_is_missing_from_its_whole_group(graph: Graph) -> None:
    await graph.provider.put_event(graph.calendar_id, series())
    first = await graph.provider.fetch_changes(graph.calendar_id, None, WINDOW)
    third = singles(graph)[PLANNED[2]]
    # when the technician deletes the third single in Outlook, and the calendar is read again
    graph.fake.delete_by_hand(third["id"])
    since = await graph.provider.fetch_changes(graph.calendar_id, first.cursor, WINDOW)
    # then the deletion is listed, and the group whole without it
    assert (since.deleted, since.whole_series) == ((third["id"],), (GROUP,))
    assert sorted(own_events(since)[GROUP].event.occurrences) == [PLANNED[0], PLANNED[1], PLANNED[3]]


async def test_an_incremental_round_without_removals_or_singles_does_not_list_the_groups(graph: Graph) -> None:
    await graph.provider.put_event(graph.calendar_id, series())
    first = await graph.provider.fetch_changes(graph.calendar_id, None, WINDOW)
    theirs = graph.fake.insert_by_hand(graph.calendar_id, dentist())
    sent = len(graph.fake.log)
    since = await graph.provider.fetch_changes(graph.calendar_id, first.cursor, WINDOW)
    assert ([event.event_id for event in since.changed], since.whole_series) == (
        [graph.fake.immutable_id(theirs["id"])], ())
    assert not [entry for entry in graph.fake.log[sent:] if "$filter" in dict(entry.query)]


def test_a_retried_single_names_the_same_transaction() -> None:
    assert single_transaction_id(MARKER, PLANNED[0]) == single_transaction_id(MARKER, PLANNED[0])
    assert single_transaction_id(MARKER, PLANNED[0]) != single_transaction_id(MARKER, PLANNED[1])
    assert single_transaction_id(MARKER, PLANNED[0]) != single_transaction_id("series-8@lockstep", PLANNED[0])
