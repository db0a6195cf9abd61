"""calendarView delta of the fake Microsoft Graph over real HTTP: rounds over nextLink pages to a deltaLink, bare
occurrences beside their full series master, exceptions, `@removed` stubs (also for events outside the window),
replays, empty pages and expired tokens with and without Location. Traffic checked against the contract."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.fakes.microsoft import FakeMicrosoft

WINDOW = {"startDateTime": "2026-03-01T00:00:00Z", "endDateTime": "2026-05-01T00:00:00Z"}
BARE = {"@odata.type", "@odata.etag", "id", "seriesMasterId", "type", "start", "end"}


def at(day: str, clock: str) -> dict[str, str]:
    return {"dateTime": f"{day}T{clock}:00", "timeZone": "Europe/Berlin"}


def single(subject: str, day: str) -> dict[str, Any]:
    return {"subject": subject, "start": at(day, "09:00"), "end": at(day, "10:00")}


SERIES = {"subject": "Standup", "start": at("2026-03-23", "09:00"), "end": at("2026-03-23", "09:15"), "recurrence": {
    "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"], "firstDayOfWeek": "sunday"},
    "range": {"type": "numbered", "startDate": "2026-03-23", "numberOfOccurrences": 3}}}


async def delta_round(graph: httpx.AsyncClient, url: str,
                      headers: dict[str, str] | None = None) -> tuple[list[dict[str, Any]], str, int]:
    """Follow one round to its deltaLink: (every item, the deltaLink, pages)."""
    items: list[dict[str, Any]] = []
    pages = 0
    while True:
        body = (await graph.get(url, headers=headers)).json()
        items += body["value"]
        pages += 1
        if "@odata.deltaLink" in body:
            return items, body["@odata.deltaLink"], pages
        url = body["@odata.nextLink"]


def first_url(ms: FakeMicrosoft) -> str:
    return str(httpx.URL(f"{ms.api_url}/me/calendars/{ms.default_calendar_id()}/calendarView/delta", params=WINDOW))


def kinds(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [("removed" if "@removed" in item else item["type"], item.get("subject", "")) for item in items]


async def test_a_first_round_pages_to_a_delta_link_with_bare_occurrences(ms: FakeMicrosoft,
                                                                        graph: httpx.AsyncClient) -> None:
    ms.page_size = 2
    series = ms.insert_by_hand(ms.default_calendar_id(), SERIES)
    ms.insert_by_hand(ms.default_calendar_id(), single("Dentist", "2026-03-10"))
    ms.insert_by_hand(ms.default_calendar_id(), single("Last year", "2025-03-10"))
    items, delta_link, pages = await delta_round(graph, first_url(ms))
    assert (pages, kinds(items)) == (3, [("seriesMaster", "Standup"), ("occurrence", ""), ("occurrence", ""),
                                         ("occurrence", ""), ("singleInstance", "Dentist")])
    assert all(set(item) == BARE and item["seriesMasterId"] == series["id"] for item in items[1:4])
    assert [item["start"]["dateTime"] for item in items[1:4]] == [
        "2026-03-23T08:00:00.0000000", "2026-03-30T07:00:00.0000000", "2026-04-06T07:00:00.0000000"]
    assert "$deltatoken" in parse_qs(urlsplit(delta_link).query)


async def test_a_later_round_has_the_changes_and_removals_even_outside_the_window(
        ms: FakeMicrosoft, graph: httpx.AsyncClient) -> None:
    calendar = ms.default_calendar_id()
    series = ms.insert_by_hand(calendar, SERIES)
    dentist = ms.insert_by_hand(calendar, single("Dentist", "2026-03-10"))
    _, delta_link, _ = await delta_round(graph, first_url(ms))
    outside = ms.insert_by_hand(calendar, single("Next year", "2027-03-10"))
    ms.delete_by_hand(dentist["id"])
    ms.cancel_occurrence_by_hand(series["id"], datetime(2026, 3, 30, 7, tzinfo=UTC))
    ms.move_occurrence_by_hand(series["id"], datetime(2026, 4, 6, 7, tzinfo=UTC),
                               datetime(2026, 4, 7, 12, tzinfo=UTC), datetime(2026, 4, 7, 12, 15, tzinfo=UTC))
    items, next_link, _ = await delta_round(graph, delta_link)
    assert kinds(items) == [("removed", ""), ("seriesMaster", "Standup"), ("occurrence", ""),
                            ("exception", "Standup"), ("removed", ""), ("removed", "")]
    assert [item["id"] for item in items if "@removed" in item] == [
        outside["id"], dentist["id"], ms.occurrence_id(series["id"], datetime(2026, 3, 30, 7, tzinfo=UTC))]
    assert all(item == {"@odata.type": "#microsoft.graph.event", "id": item["id"], "@removed": {"reason": "deleted"}}
               for item in items if "@removed" in item)
    assert items[3]["originalStart"] == "2026-04-06T07:00:00.0000000Z"
    assert (await delta_round(graph, next_link))[0] == []


async def test_replays_and_empty_pages_when_switched_on(ms: FakeMicrosoft, graph: httpx.AsyncClient) -> None:
    ms.empty_delta_page, ms.replay_delta = True, True
    dentist = ms.insert_by_hand(ms.default_calendar_id(), single("Dentist", "2026-03-10"))
    first = (await graph.get(first_url(ms))).json()
    assert (first["value"], "@odata.nextLink" in first) == ([], True)
    items, delta_link, pages = await delta_round(graph, first["@odata.nextLink"])
    assert ([item["id"] for item in items], pages) == ([dentist["id"]], 1)
    ms.update_by_hand(dentist["id"], {"subject": "Dentist, later"})
    items, _, pages = await delta_round(graph, delta_link)
    assert ([(item["id"], item["subject"]) for item in items], pages) == (
        [(dentist["id"], "Dentist"), (dentist["id"], "Dentist, later")], 2)


async def test_maxpagesize_and_the_immutable_ids_of_a_round(ms: FakeMicrosoft, graph: httpx.AsyncClient) -> None:
    for day in ("2026-03-10", "2026-03-11", "2026-03-12"):
        ms.insert_by_hand(ms.default_calendar_id(), single("Dentist", day))
    headers = {"Prefer": 'odata.maxpagesize=1, IdType="ImmutableId"'}
    items, _, pages = await delta_round(graph, first_url(ms), headers)
    assert (pages, [item["id"] for item in items]) == (3, [ms.immutable_id(item["id"]) for item in items])


async def test_expired_tokens_answer_410_with_or_without_location(ms: FakeMicrosoft,
                                                                 graph: httpx.AsyncClient) -> None:
    _, delta_link, _ = await delta_round(graph, first_url(ms))
    ms.expire_delta_tokens()
    plain = await graph.get(delta_link)
    ms.expire_delta_tokens(with_location=True)
    located = await graph.get(delta_link)
    assert [(answer.status_code, answer.json()["error"]["code"], "Location" in answer.headers)
            for answer in (plain, located)] == [(410, "syncStateNotFound", False), (410, "syncStateNotFound", True)]
    restart = parse_qs(urlsplit(located.headers["Location"]).query)
    assert (restart["startDateTime"], restart["endDateTime"]) == (["2026-03-01T00:00:00.0000000Z"],
                                                                  ["2026-05-01T00:00:00.0000000Z"])
    assert (await graph.get(located.headers["Location"])).status_code == 200
