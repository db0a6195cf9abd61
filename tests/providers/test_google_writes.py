"""Writing Lockstep's events to Google: deterministic ids, the marker property, colours, If-Match, series."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, strategies as st

from providers.base import MovedOccurrence, NotFound, OutgoingEvent, PreconditionFailed
from providers.google import GoogleProvider
from providers.google_export import event_id_for
from tests.fakes.google import FakeGoogle
from tests.providers.google_fixtures import CALENDAR, START, booking


def test_the_event_id_is_the_marker_in_base32hex() -> None:
    assert event_id_for("booking-1@lockstep") == "c9nmuqr9dpjiqca0dhnm6qrjehin0"
    assert event_id_for("series-12@lockstep") == "edin4qb5ecmj2ci0dhnm6qrjehin0"


@given(st.text(min_size=1, max_size=640).filter(lambda marker: 4 <= len(marker.encode()) <= 640))
def test_every_marker_gives_a_valid_google_id_that_names_only_it(marker: str) -> None:
    event_id = event_id_for(marker)
    assert re.fullmatch(r"[a-v0-9]{5,1024}", event_id)
    padded = event_id.upper() + "=" * (-len(event_id) % 8)
    assert base64.b32hexdecode(padded).decode() == marker


@pytest.mark.parametrize("marker", ["abc", "x" * 641])
def test_a_marker_too_short_or_too_long_for_an_id_is_refused(marker: str) -> None:
    with pytest.raises(ValueError):
        event_id_for(marker)


async def test_a_booking_is_written_with_its_marker_zone_and_nearest_colour(google: FakeGoogle,
                                                                           provider: GoogleProvider) -> None:
    written = await provider.put_event(CALENDAR, booking(colour="#d50000"))
    stored = google.get_event(CALENDAR, written.event_id)
    assert (written.event_id, written.etag) == ("c9nmuqr9dpjiqca0dhnm6qrjehin0", stored["etag"])
    assert {key: stored[key] for key in ("summary", "description", "start", "end", "extendedProperties",
                                         "colorId", "status")} == {
        "summary": "Boiler check – Cleo", "description": "Side door",
        "start": {"dateTime": "2030-01-07T10:00:00+01:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2030-01-07T11:00:00+01:00", "timeZone": "Europe/Berlin"},
        "extendedProperties": {"private": {"lockstepMarker": "booking-1@lockstep"}},
        "colorId": "11", "status": "confirmed"}


async def test_a_retried_insert_patches_the_event_the_first_attempt_made(google: FakeGoogle,
                                                                        provider: GoogleProvider) -> None:
    # given a first insert that reached Google though its answer was lost
    first = await provider.put_event(CALENDAR, booking())
    # when the push is retried, with the booking moved meanwhile
    again = await provider.put_event(CALENDAR, booking(hour=11))
    # then Google refused the copy (409) and the one event now shows the new time
    assert [(entry.method, entry.status) for entry in google.log[-2:]] == [("POST", 409), ("PATCH", 200)]
    assert again.event_id == first.event_id
    assert [event["start"]["dateTime"] for event in google.live_events(CALENDAR)] == ["2030-01-07T12:00:00+01:00"]


async def test_an_update_is_conditional_on_the_etag(google: FakeGoogle, provider: GoogleProvider) -> None:
    written = await provider.put_event(CALENDAR, booking())
    google.update_by_hand(CALENDAR, written.event_id, {"summary": "Boiler check (moved by phone)"})
    # when Lockstep writes from the etag it had
    with pytest.raises(PreconditionFailed):
        await provider.put_event(CALENDAR, booking(hour=11), event_id=written.event_id, etag=written.etag)
    # then it sent If-Match and the hand edit stands
    patch = next(entry for entry in google.log if entry.method == "PATCH")
    assert (patch.headers["If-Match"], patch.status) == (written.etag, 412)
    assert google.get_event(CALENDAR, written.event_id)["summary"] == "Boiler check (moved by phone)"


async def test_deleting_is_conditional_and_a_deleted_event_is_not_found(google: FakeGoogle,
                                                                       provider: GoogleProvider) -> None:
    written = await provider.put_event(CALENDAR, booking())
    moved = await provider.put_event(CALENDAR, booking(hour=11), event_id=written.event_id, etag=written.etag)
    with pytest.raises(PreconditionFailed):
        await provider.delete_event(CALENDAR, written.event_id, etag=written.etag)
    await provider.delete_event(CALENDAR, written.event_id, etag=moved.etag)
    # deleting again meets Google's 410, deleting what never was its 404: both NotFound
    with pytest.raises(NotFound):
        await provider.delete_event(CALENDAR, written.event_id)
    with pytest.raises(NotFound):
        await provider.delete_event(CALENDAR, "neverexisted0")
    assert [entry.status for entry in google.log if entry.method == "DELETE"] == [412, 204, 410, 404]


async def test_an_event_deleted_by_hand_is_written_again_when_created_anew(google: FakeGoogle,
                                                                          provider: GoogleProvider) -> None:
    # given the booking's event deleted in Google (Google keeps its id, so it cannot be inserted again)
    written = await provider.put_event(CALENDAR, booking())
    google.delete_by_hand(CALENDAR, written.event_id)
    # when it is updated without an etag it stays deleted
    with pytest.raises(NotFound):
        await provider.put_event(CALENDAR, booking(), event_id=written.event_id)
    # and when it is created again (export only writes Lockstep's copy back) it is live again
    again = await provider.put_event(CALENDAR, booking())
    assert again.event_id == written.event_id
    assert google.get_event(CALENDAR, written.event_id)["status"] == "confirmed"


def series(*moved: MovedOccurrence, exdates: tuple[datetime, ...] = ()) -> OutgoingEvent:
    return OutgoingEvent(marker="series-7@lockstep", summary="Pool service", description="", starts_at=START,
                         ends_at=START + timedelta(hours=1), time_zone="Europe/Berlin", rrule="FREQ=WEEKLY;COUNT=4",
                         exdates=exdates, moved=moved)


def starts(google: FakeGoogle) -> list[datetime]:
    return [datetime.fromisoformat(event["start"]["dateTime"]).astimezone(UTC)
            for event in google.live_events(CALENDAR)]


async def test_a_series_is_one_recurring_event_with_cancelled_and_patched_instances(google: FakeGoogle,
                                                                                    provider: GoogleProvider) -> None:
    weeks = [START + timedelta(weeks=n) for n in range(4)]
    moved = MovedOccurrence(weeks[2], weeks[2] + timedelta(hours=2), weeks[2] + timedelta(hours=3))
    written = await provider.put_event(CALENDAR, series(moved, exdates=(weeks[1],)))
    master = google.get_event(CALENDAR, written.event_id)
    assert master["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=4"]
    assert starts(google) == [weeks[0], moved.starts_at, weeks[3]]
    every = google.store.instances(google.store.calendar(CALENDAR), master, show_deleted=True)
    (cancelled,) = [instance for instance in every if instance["status"] == "cancelled"]
    assert cancelled["originalStartTime"]["dateTime"] == "2030-01-14T10:00:00+01:00"
    # when the moved occurrence is moved back to its planned time and the cancelled one restored
    again = await provider.put_event(CALENDAR, series(), event_id=written.event_id, etag=written.etag)
    # then every instance is where the rule puts it, and the etag returned is the master's newest
    assert starts(google) == weeks
    assert again.etag == google.get_event(CALENDAR, written.event_id)["etag"]
