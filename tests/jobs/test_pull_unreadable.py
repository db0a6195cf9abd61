"""A calendar with an object that cannot be read, on a real Xandikos (whose window query fails on a malformed
RRULE): the rest of the calendar is imported, the unreadable event keeps the busy time it had, and the connection's
health is degraded and says how many events could not be read, until a later pull reads everything again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.conflicts import ConflictPolicy
from jobs.tasks import run_pull
from models import BusyBlock, CalendarConnection, ConnectionHealth, ExternalCalendar
from services.sync_health import health_report
from tests.jobs.test_caldav_end_to_end import blocks, connect, in_days, local
from tests.support.caldav_servers import CaldavServer, write_by_hand
from tests.support.sync import personal_event


def broken(uid: str, start: datetime) -> str:
    """The event as a calendar app with a bug might save it: a weekly series with an RRULE no one can evaluate."""
    return personal_event(uid, start, extra="RRULE:FREQ=SOMETIMES;COUNT=3\r\n")


async def health() -> tuple[ConnectionHealth, str, int]:
    connection = await CalendarConnection.get()
    report = await health_report(connection, datetime.now(UTC))
    return report.status, report.last_error, report.unreadable


async def test_an_unreadable_object_keeps_its_busy_time_and_degrades_health_until_it_is_fixed(
        db: str, xandikos_server: CaldavServer) -> None:
    # Given a calendar with a dentist appointment and a weekly gym series, imported
    synced = await connect(db, xandikos_server, ConflictPolicy.ASK)
    calendar_id = synced.given.calendar.id
    dentist, gym = local(in_days(3), 10), local(in_days(4), 18)
    await write_by_hand(xandikos_server, synced.calendar_url, "dentist", personal_event("dentist", dentist))
    await write_by_hand(xandikos_server, synced.calendar_url, "gym",
                        personal_event("gym", gym, extra="RRULE:FREQ=WEEKLY;COUNT=2\r\n"))
    assert await run_pull(calendar_id) == "done"
    gym_blocks = [(gym, gym + timedelta(hours=1)), (gym + timedelta(days=7), gym + timedelta(days=7, hours=1))]
    assert await blocks() == [(dentist, dentist + timedelta(hours=1)), *gym_blocks]
    assert await health() == (ConnectionHealth.ACTIVE, "", 0)

    # When the gym series is saved with an RRULE the server cannot evaluate, a new event is added, and the window is
    # listed in full again (the day rolled on)
    await write_by_hand(xandikos_server, synced.calendar_url, "gym", broken("gym", gym))
    errand = local(in_days(5), 12)
    await write_by_hand(xandikos_server, synced.calendar_url, "errand", personal_event("errand", errand))
    await ExternalCalendar.filter(id=calendar_id).update(window_start=None)
    assert await run_pull(calendar_id) == "done"

    # Then the rest of the calendar is imported, the gym keeps its last busy time, and health says why it is degraded
    assert await blocks() == [(dentist, dentist + timedelta(hours=1)), *gym_blocks[:1],
                              (errand, errand + timedelta(hours=1)), *gym_blocks[1:]]
    assert await health() == (ConnectionHealth.DEGRADED,
                              "1 event could not be read; it keeps the busy time last read", 1)
    assert (await ExternalCalendar.get(id=calendar_id)).unreadable_event_ids == [f"{synced.calendar_url}gym.ics"]

    # When a pull finds nothing new (the cheap check), the event is still unreadable
    assert await run_pull(calendar_id) == "done"
    assert (await health())[0] == ConnectionHealth.DEGRADED

    # When the staff member fixes the series, the next (incremental) pull reads everything and health is active again
    await write_by_hand(xandikos_server, synced.calendar_url, "gym", personal_event("gym", gym))
    assert await run_pull(calendar_id) == "done"
    assert await blocks() == [(dentist, dentist + timedelta(hours=1)), (gym, gym + timedelta(hours=1)),
                              (errand, errand + timedelta(hours=1))]
    assert await health() == (ConnectionHealth.ACTIVE, "", 0)
    assert await BusyBlock.filter(external_event_id=f"{synced.calendar_url}gym.ics").count() == 1
