"""Writing Lockstep's events to Microsoft Graph: the marker property, the transaction id, categories for colours,
If-Match, deletions, and series whose occurrences are settled on the instances Graph lists."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import pytest

from domain.graph_events import MARKER_PROPERTY_ID
from providers.base import MovedOccurrence, NotFound, OutgoingEvent, PreconditionFailed
from providers.microsoft_export import category_for, transaction_id_for
from tests.support.microsoft import (
    SCOPES_WITH_CATEGORIES,
    Graph,
    booking,
    by_hand,
    connected,
    read_event,
    read_instances,
)

# A weekly series of four at 10:00 in Berlin, across the change to summer time on Sunday 31 March 2030.
SERIES_START = datetime(2030, 3, 18, 9, tzinfo=UTC)
PLANNED = [SERIES_START, SERIES_START + timedelta(weeks=1), datetime(2030, 4, 1, 8, tzinfo=UTC),
           datetime(2030, 4, 8, 8, tzinfo=UTC)]


@pytest.fixture
async def graph() -> AsyncIterator[Graph]:
    async with connected() as made:
        yield made


@pytest.fixture
async def coloured() -> AsyncIterator[Graph]:
    """A grant that may also keep the master category list (a scope Lockstep does not ask for by default)."""
    async with connected(SCOPES_WITH_CATEGORIES) as made:
        yield made


def stored(graph: Graph, event_id: str) -> dict[str, Any]:
    return read_event(graph.fake, event_id)


def writes(graph: Graph) -> list[tuple[str, str, int]]:
    return [(entry.method, unquote(entry.path).removeprefix("/v1.0/"), entry.status) for entry in graph.fake.log
            if entry.method != "GET"]


def test_the_transaction_id_is_a_name_based_uuid_of_the_marker() -> None:
    first, again = transaction_id_for("booking-1@lockstep"), transaction_id_for("booking-1@lockstep")
    assert first == again != transaction_id_for("booking-2@lockstep")
    assert uuid.UUID(first).version == 5


@pytest.mark.parametrize(("colour", "category", "preset"), [
    ("#d50000", "Lockstep Red", "preset0"), ("#0b8043", "Lockstep DarkGreen", "preset19"),
    ("#039be5", "Lockstep Blue", "preset7"), ("#000000", "Lockstep Black", "preset14")])
def test_a_colour_is_written_as_the_category_of_the_nearest_preset(colour: str, category: str, preset: str) -> None:
    assert category_for(colour) == (category, preset)


async def test_a_booking_is_created_with_its_marker_transaction_zone_and_category(coloured: Graph) -> None:
    graph = coloured
    written = await graph.provider.put_event(graph.calendar_id, booking(colour="#d50000"))
    event = stored(graph, written.event_id)
    assert (written.event_id, written.etag) == (graph.fake.immutable_id(written.event_id), event["@odata.etag"])
    assert {key: event[key] for key in ("subject", "start", "end", "categories", "transactionId",
                                        "singleValueExtendedProperties")} == {
        "subject": "Boiler check – Cleo",
        "start": {"dateTime": "2030-01-07T09:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2030-01-07T10:00:00.0000000", "timeZone": "UTC"},
        "categories": ["Lockstep Red"], "transactionId": transaction_id_for("booking-1@lockstep"),
        "singleValueExtendedProperties": [{"id": MARKER_PROPERTY_ID, "value": "booking-1@lockstep"}]}
    # the wall clock and zone were sent as Lockstep knows them, and the category was made first
    create = next(entry for entry in graph.fake.log if entry.method == "POST" and entry.path.endswith("/events"))
    assert (create.body["start"], create.body["body"], create.status) == (
        {"dateTime": "2030-01-07T10:00:00", "timeZone": "Europe/Berlin"},
        {"contentType": "text", "content": "Side door"}, 201)
    assert [category for category in graph.fake.mailbox().categories if category["displayName"] == "Lockstep Red"
            ] == [{"id": graph.fake.mailbox().categories[-1]["id"], "displayName": "Lockstep Red",
                   "color": "preset0"}]
    assert writes(graph) == [("POST", "me/outlook/masterCategories", 201),
                             ("POST", f"me/calendars/{graph.calendar_id}/events", 201)]


async def test_a_category_already_there_is_used_and_looked_up_once(coloured: Graph) -> None:
    graph = coloured
    graph.fake.mailbox().add_category("lockstep red", "preset0")
    await graph.provider.put_event(graph.calendar_id, booking(colour="#d50000"))
    await graph.provider.put_event(graph.calendar_id, booking("booking-2@lockstep", colour="#d50000"))
    lookups = [entry for entry in graph.fake.log if entry.path.endswith("/masterCategories")]
    assert [(entry.method, entry.status) for entry in lookups] == [("GET", 200)]


async def test_with_the_least_scopes_the_category_is_named_on_the_event_and_the_list_left_alone(
        graph: Graph) -> None:
    # given a grant of only what Lockstep asks for (the master list needs MailboxSettings.ReadWrite)
    # when two bookings of one colour are written
    first = await graph.provider.put_event(graph.calendar_id, booking(colour="#d50000"))
    await graph.provider.put_event(graph.calendar_id, booking("booking-2@lockstep", colour="#d50000"))
    # then each carries the category's name, the list was asked once (refused) and never written
    assert stored(graph, first.event_id)["categories"] == ["Lockstep Red"]
    lookups = [(entry.method, entry.status) for entry in graph.fake.log if entry.path.endswith("/masterCategories")]
    assert lookups == [("GET", 403)]
    assert [category["displayName"] for category in graph.fake.mailbox().categories
            if category["displayName"].startswith("Lockstep")] == []


async def test_a_category_another_writer_just_made_is_fine(coloured: Graph) -> None:
    graph = coloured
    graph.fake.fail("POST", r"/masterCategories$", 409, code="ErrorDuplicateItem")
    written = await graph.provider.put_event(graph.calendar_id, booking(colour="#d50000"))
    assert stored(graph, written.event_id)["categories"] == ["Lockstep Red"]


async def test_a_retried_create_yields_the_one_event_brought_up_to_date(graph: Graph) -> None:
    # given a first create that reached Graph though its answer was lost
    first = await graph.provider.put_event(graph.calendar_id, booking())
    # when it is retried unchanged, and once more with the booking moved meanwhile
    again = await graph.provider.put_event(graph.calendar_id, booking())
    moved = await graph.provider.put_event(graph.calendar_id, booking(hour=11))
    # then Graph gave back the same event each time, and the moved one was patched to the new time
    assert first.event_id == again.event_id == moved.event_id
    assert writes(graph)[-2:] == [("POST", f"me/calendars/{graph.calendar_id}/events", 201),
                                  ("PATCH", f"me/events/{first.event_id}", 200)]
    patch = graph.fake.log[-1]
    assert "transactionId" not in patch.body
    assert [event.immutable_id for event in graph.fake.mailbox().events.values()] == [first.event_id]
    assert stored(graph, first.event_id)["start"]["dateTime"] == "2030-01-07T11:00:00.0000000"


async def test_an_update_is_conditional_on_the_etag(graph: Graph) -> None:
    written = await graph.provider.put_event(graph.calendar_id, booking())
    moved = await graph.provider.put_event(graph.calendar_id, booking(hour=11), event_id=written.event_id,
                                           etag=written.etag)
    assert moved.etag != written.etag
    graph.fake.update_by_hand(written.event_id, {"subject": "Boiler check (moved by phone)"})
    # when Lockstep writes from the etag it had
    with pytest.raises(PreconditionFailed):
        await graph.provider.put_event(graph.calendar_id, booking(hour=13), event_id=written.event_id,
                                       etag=moved.etag)
    # then it sent If-Match, and the hand edit stands
    patches = [entry for entry in graph.fake.log if entry.method == "PATCH"]
    assert [(entry.headers["If-Match"], entry.status) for entry in patches] == [(written.etag, 200),
                                                                                 (moved.etag, 412)]
    assert stored(graph, written.event_id)["subject"] == "Boiler check (moved by phone)"


async def test_updating_an_event_deleted_in_outlook_is_not_found(graph: Graph) -> None:
    written = await graph.provider.put_event(graph.calendar_id, booking())
    graph.fake.delete_by_hand(written.event_id)
    with pytest.raises(NotFound):
        await graph.provider.put_event(graph.calendar_id, booking(hour=11), event_id=written.event_id,
                                       etag=written.etag)
    with pytest.raises(NotFound):
        await graph.provider.put_event(graph.calendar_id, booking(hour=11), event_id=written.event_id)
    assert graph.fake.mailbox().events == {}


async def test_deleting_is_conditional_and_a_deleted_event_is_not_found(graph: Graph) -> None:
    written = await graph.provider.put_event(graph.calendar_id, booking())
    moved = await graph.provider.put_event(graph.calendar_id, booking(hour=11), event_id=written.event_id,
                                           etag=written.etag)
    with pytest.raises(PreconditionFailed):
        await graph.provider.delete_event(graph.calendar_id, written.event_id, etag=written.etag)
    await graph.provider.delete_event(graph.calendar_id, written.event_id, etag=moved.etag)
    with pytest.raises(NotFound):
        await graph.provider.delete_event(graph.calendar_id, written.event_id)
    deletes = [(entry.headers.get("If-Match"), entry.status) for entry in graph.fake.log if entry.method == "DELETE"]
    assert deletes == [(written.etag, 412), (moved.etag, 204), (None, 404)]


async def test_a_hand_written_event_is_never_touched_by_a_create(graph: Graph) -> None:
    theirs = graph.fake.insert_by_hand(graph.calendar_id, by_hand("Dentist", 7, 10))
    await graph.provider.put_event(graph.calendar_id, booking())
    assert len(graph.fake.mailbox().events) == 2
    assert stored(graph, theirs["id"])["subject"] == "Dentist"


def series(*moved: MovedOccurrence, exdates: tuple[datetime, ...] = (), rrule: str = "FREQ=WEEKLY;COUNT=4"
           ) -> OutgoingEvent:
    return OutgoingEvent(marker="series-7@lockstep", summary="Pool service", description="", starts_at=SERIES_START,
                         ends_at=SERIES_START + timedelta(hours=1), time_zone="Europe/Berlin", rrule=rrule,
                         exdates=exdates, moved=moved)


def taking_place(graph: Graph, series_id: str) -> list[tuple[datetime, datetime, datetime]]:
    """(planned start, start, end) of every live instance, as the instances listing says."""
    found = []
    for instance in read_instances(graph.fake, series_id, SERIES_START - timedelta(days=7),
                                   SERIES_START + timedelta(days=60)):
        found.append((datetime.fromisoformat(instance["originalStart"]),
                      datetime.fromisoformat(instance["start"]["dateTime"]).replace(tzinfo=UTC),
                      datetime.fromisoformat(instance["end"]["dateTime"]).replace(tzinfo=UTC)))
    return sorted(found)


async def test_a_series_across_a_dst_change_has_its_cancelled_and_moved_occurrences(graph: Graph) -> None:
    # given a series whose second occurrence is cancelled and whose third (the first in summer time) moved two hours
    moved = MovedOccurrence(PLANNED[2], PLANNED[2] + timedelta(hours=2), PLANNED[2] + timedelta(hours=3))
    written = await graph.provider.put_event(graph.calendar_id, series(moved, exdates=(PLANNED[1],)))
    master = stored(graph, written.event_id)
    assert master["recurrence"]["pattern"]["daysOfWeek"] == ["monday"]
    assert master["recurrence"]["range"]["numberOfOccurrences"] == 4
    hour = timedelta(hours=1)
    assert taking_place(graph, written.event_id) == [
        (PLANNED[0], PLANNED[0], PLANNED[0] + hour), (PLANNED[2], moved.starts_at, moved.ends_at),
        (PLANNED[3], PLANNED[3], PLANNED[3] + hour)]
    assert written.etag == master["@odata.etag"]
    # when the staff member moves the last occurrence by hand and Lockstep writes the series as planned again
    graph.fake.move_occurrence_by_hand(written.event_id, PLANNED[3], PLANNED[3] + hour, PLANNED[3] + 2 * hour)
    again = await graph.provider.put_event(graph.calendar_id, series(), event_id=written.event_id,
                                           etag=stored(graph, written.event_id)["@odata.etag"])
    # then every occurrence is where the rule puts it (10:00 in Berlin on both sides of the change)
    assert taking_place(graph, written.event_id) == [(start, start, start + hour) for start in PLANNED]
    assert again.etag == stored(graph, written.event_id)["@odata.etag"]


async def test_a_series_created_as_planned_needs_no_look_at_its_instances(graph: Graph) -> None:
    await graph.provider.put_event(graph.calendar_id, series())
    assert not [entry for entry in graph.fake.log if entry.path.endswith("/instances")]
