"""The fake Microsoft Graph's calendar API over real HTTP: the user, calendars and their paging, calendarView
(series expanded in their own zone, exceptions, Prefer headers), events written with etags, transactionId and the
extended-property marker, instances, categories, ids across moves, injected faults and the concurrency limit.
Every test's traffic is checked against the OpenAPI subset (conforming_microsoft)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.fakes.microsoft import FakeMicrosoft
from tests.support.graph_contract import check_graph_traffic, graph_client

MARKER = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name LockstepBookingId"
MARCH = {"startDateTime": "2026-03-01T00:00:00Z", "endDateTime": "2026-05-01T00:00:00Z"}
BERLIN = "W. Europe Standard Time"


def at(day: str, clock: str, zone: str = BERLIN) -> dict[str, str]:
    return {"dateTime": f"{day}T{clock}:00", "timeZone": zone}


def event(subject: str, day: str = "2026-03-02", start: str = "09:00", end: str = "10:00",
          **more: Any) -> dict[str, Any]:
    return {"subject": subject, "start": at(day, start), "end": at(day, end), **more}


def weekly_standup(count: int = 3) -> dict[str, Any]:
    return event("Standup", "2026-03-23", "09:00", "09:15", recurrence={
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"], "firstDayOfWeek": "sunday"},
        "range": {"type": "numbered", "startDate": "2026-03-23", "numberOfOccurrences": count}})


def starts(answer: httpx.Response) -> list[tuple[str, str, str]]:
    return [(item["subject"], item["type"], item["start"]["dateTime"]) for item in answer.json()["value"]]


async def test_the_user_and_the_refusals_of_a_missing_or_expired_token(ms: FakeMicrosoft,
                                                                      graph: httpx.AsyncClient) -> None:
    me = (await graph.get("/me")).json()
    assert (me["userPrincipalName"], me["mail"], me["displayName"]) == ("tech@contoso.example",) * 2 + ("Tess Tech",)
    async with httpx.AsyncClient(base_url=ms.api_url) as anonymous:
        empty = await anonymous.get("/me")
    ms.oauth.expire_access_tokens()
    expired = await graph.get("/me/calendars")
    assert [(answer.status_code, answer.json()["error"]["code"], answer.json()["error"]["message"])
            for answer in (empty, expired)] == [
        (401, "InvalidAuthenticationToken", "Access token is empty."),
        (401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")]
    assert set(expired.json()["error"]["innerError"]) == {"date", "request-id", "client-request-id"}


async def test_calendars_come_in_pages_of_the_smaller_cap(ms: FakeMicrosoft, graph: httpx.AsyncClient) -> None:
    for number in range(11):
        ms.add_calendar(f"Team {number}", can_edit=number % 2 == 0)
    names: list[str] = []
    url: str | None = "/me/calendars"
    pages = 0
    while url:
        body = (await graph.get(url, headers={"Prefer": "odata.maxpagesize=5"})).json()
        names += [calendar["name"] for calendar in body["value"]]
        url, pages = body.get("@odata.nextLink"), pages + 1
    assert (pages, names) == (3, ["Calendar"] + [f"Team {number}" for number in range(11)])
    first = (await graph.get("/me/calendars")).json()
    assert (len(first["value"]), first["value"][0]["isDefaultCalendar"], first["value"][0]["canEdit"]) == (
        10, True, True)


async def test_a_weekly_series_stays_at_nine_local_across_dst(ms: FakeMicrosoft, graph: httpx.AsyncClient) -> None:
    ms.insert_by_hand(ms.default_calendar_id(), weekly_standup())
    view = f"/me/calendars/{ms.default_calendar_id()}/calendarView"
    in_utc = await graph.get(view, params=MARCH)
    local = await graph.get(view, params=MARCH, headers={"Prefer": f'outlook.timezone="{BERLIN}"'})
    assert starts(in_utc) == [("Standup", "occurrence", "2026-03-23T08:00:00.0000000"),
                              ("Standup", "occurrence", "2026-03-30T07:00:00.0000000"),
                              ("Standup", "occurrence", "2026-04-06T07:00:00.0000000")]
    assert [start for *_, start in starts(local)] == [
        "2026-03-23T09:00:00.0000000", "2026-03-30T09:00:00.0000000", "2026-04-06T09:00:00.0000000"]
    assert (local.headers["Preference-Applied"], local.json()["value"][0]["start"]["timeZone"]) == (
        f'outlook.timezone="{BERLIN}"', BERLIN)


async def test_an_all_day_event_keeps_its_local_midnights(ms: FakeMicrosoft, graph: httpx.AsyncClient) -> None:
    ms.insert_by_hand(ms.default_calendar_id(), event("Holiday", start="00:00", end="00:00", isAllDay=True,
                                                      showAs="oof") | {"end": at("2026-03-03", "00:00")})
    answer = await graph.get("/me/calendarView", params=MARCH,
                             headers={"Prefer": 'outlook.timezone="Pacific Standard Time"'})
    item = answer.json()["value"][0]
    assert (item["isAllDay"], item["start"], item["end"]) == (
        True, {"dateTime": "2026-03-02T00:00:00.0000000", "timeZone": "Pacific Standard Time"},
        {"dateTime": "2026-03-03T00:00:00.0000000", "timeZone": "Pacific Standard Time"})


async def test_exceptions_replace_their_occurrence_and_cancelled_ones_vanish(ms: FakeMicrosoft,
                                                                           graph: httpx.AsyncClient) -> None:
    series = ms.insert_by_hand(ms.default_calendar_id(), weekly_standup())
    ms.cancel_occurrence_by_hand(series["id"], datetime(2026, 3, 30, 7, tzinfo=UTC))
    ms.move_occurrence_by_hand(series["id"], datetime(2026, 4, 6, 7, tzinfo=UTC),
                               datetime(2026, 4, 7, 12, tzinfo=UTC), datetime(2026, 4, 7, 12, 15, tzinfo=UTC))
    answer = await graph.get("/me/calendarView", params=MARCH)
    assert starts(answer) == [("Standup", "occurrence", "2026-03-23T08:00:00.0000000"),
                              ("Standup", "exception", "2026-04-07T12:00:00.0000000")]
    moved = answer.json()["value"][1]
    assert (moved["seriesMasterId"], moved["originalStart"]) == (series["id"], "2026-04-06T07:00:00.0000000Z")


async def test_a_window_is_required_and_at_most_1825_days() -> None:
    async with FakeMicrosoft() as ms, graph_client(ms) as graph:
        missing = await graph.get("/me/calendarView", params={"startDateTime": "2026-03-01T00:00:00Z"})
        too_long = await graph.get("/me/calendarView", params={"startDateTime": "2026-01-01T00:00:00Z",
                                                               "endDateTime": "2031-01-02T00:00:00Z"})
    assert [(answer.status_code, answer.json()["error"]["code"]) for answer in (missing, too_long)] == [
        (400, "ErrorInvalidParameter"), (400, "ErrorInvalidRequest")]
    assert too_long.json()["error"]["message"].endswith("Maximum number of days: 1825")
    # the request without a window is the caller's breach of the contract, not the fake's
    assert check_graph_traffic(ms.log) == ["GET /me/calendarView: required query parameter 'endDateTime' missing"]


async def test_writes_carry_etags_and_a_stale_if_match_is_412(ms: FakeMicrosoft, graph: httpx.AsyncClient) -> None:
    created = await graph.post(f"/me/calendars/{ms.default_calendar_id()}/events", json=event("Booking"))
    first = created.json()
    changed = await graph.patch(f"/me/events/{first['id']}", json={"subject": "Booking, moved"},
                                headers={"If-Match": first["@odata.etag"]})
    stale = await graph.patch(f"/me/events/{first['id']}", json={"subject": "lost"},
                              headers={"If-Match": first["@odata.etag"]})
    assert (created.status_code, changed.status_code, changed.json()["@odata.etag"] != first["@odata.etag"]) == (
        201, 200, True)
    assert (stale.status_code, stale.json()["error"]["code"], stale.json()["error"]["message"].startswith(
        "The send or update operation could not be performed because the change key")) == (
        412, "ErrorIrresolvableConflict", True)
    deleted = await graph.delete(f"/me/events/{first['id']}")
    again = await graph.delete(f"/me/events/{first['id']}")
    assert (deleted.status_code, again.status_code, again.json()["error"]["code"]) == (204, 404, "ErrorItemNotFound")


async def test_a_retried_post_with_the_same_transaction_id_makes_one_event(ms: FakeMicrosoft,
                                                                          graph: httpx.AsyncClient) -> None:
    body = event("Booking", transactionId="booking-41-v1")
    first, second = [await graph.post("/me/events", json=body) for _ in range(2)]
    listed = (await graph.get("/me/events")).json()["value"]
    assert (first.status_code, second.json()["id"] == first.json()["id"], len(listed),
            listed[0]["transactionId"]) == (201, True, 1, "booking-41-v1")


async def test_the_marker_is_found_by_filter_and_read_by_expand(ms: FakeMicrosoft, graph: httpx.AsyncClient) -> None:
    calendar = ms.default_calendar_id()
    mine = (await graph.post(f"/me/calendars/{calendar}/events", json=event(
        "Booking", singleValueExtendedProperties=[{"id": MARKER, "value": "booking-41"}]))).json()
    ms.insert_by_hand(calendar, event("Dentist", start="11:00", end="12:00"))
    found = await graph.get(f"/me/calendars/{calendar}/events", params={
        "$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{MARKER}' and ep/value eq 'BOOKING-41')"})
    other = await graph.get(f"/me/calendars/{calendar}/events", params={
        "$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{MARKER}' and ep/value eq 'booking-42')"})
    read = await graph.get(f"/me/events/{mine['id']}", params={
        "$expand": f"singleValueExtendedProperties($filter=id eq '{MARKER}')", "$select": "subject"})
    assert ([item["id"] for item in found.json()["value"]], other.json()["value"]) == ([mine["id"]], [])
    assert read.json() == {"@odata.etag": mine["@odata.etag"], "id": mine["id"], "subject": "Booking",
                           "singleValueExtendedProperties": [{"id": MARKER, "value": "booking-41"}]}


async def test_several_properties_are_read_by_one_expand_joined_by_or(ms: FakeMicrosoft,
                                                                      graph: httpx.AsyncClient) -> None:
    # given an event with three extended properties
    planned = MARKER.replace("LockstepBookingId", "LockstepPlanned")
    other = MARKER.replace("LockstepBookingId", "Other")
    mine = (await graph.post(f"/me/calendars/{ms.default_calendar_id()}/events", json=event(
        "Booking", singleValueExtendedProperties=[{"id": MARKER, "value": "series-4"},
                                                  {"id": planned, "value": "2026-03-02T08:00:00Z"},
                                                  {"id": other, "value": "x"}]))).json()
    # when two of them are asked for in one $expand, the second with its GUID in capitals and around extra spaces
    shouted = planned.replace("66f5a359-4659-4830-9070-00047ec6ac6e", "66F5A359-4659-4830-9070-00047EC6AC6E")
    read = await graph.get(f"/me/events/{mine['id']}", params={
        "$expand": f"singleValueExtendedProperties($filter=id eq '{MARKER}'  or  id eq '{shouted}')",
        "$select": "subject"})
    # then both come back, and only they
    assert read.json()["singleValueExtendedProperties"] == [{"id": MARKER, "value": "series-4"},
                                                            {"id": planned, "value": "2026-03-02T08:00:00Z"}]
    # and an expand joined by anything but `or` of ids is refused as Graph refuses it
    refused = await graph.get(f"/me/events/{mine['id']}", params={
        "$expand": f"singleValueExtendedProperties($filter=id eq '{MARKER}' and id eq '{planned}')"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "BadRequest")


async def test_instances_of_a_series_can_be_moved_and_cancelled(ms: FakeMicrosoft, graph: httpx.AsyncClient) -> None:
    series = ms.insert_by_hand(ms.default_calendar_id(), weekly_standup())
    instances = (await graph.get(f"/me/events/{series['id']}/instances", params=MARCH)).json()["value"]
    moved = await graph.patch(f"/me/events/{instances[0]['id']}",
                              json={"start": at("2026-03-24", "10:00"), "end": at("2026-03-24", "10:15")})
    cancelled = await graph.delete(f"/me/events/{instances[1]['id']}")
    after = await graph.get(f"/me/events/{series['id']}/instances", params=MARCH)
    assert (moved.json()["type"], cancelled.status_code) == ("exception", 204)
    assert [(item["id"], item["type"], item["start"]["dateTime"]) for item in after.json()["value"]] == [
        (instances[0]["id"], "exception", "2026-03-24T09:00:00.0000000"),
        (instances[2]["id"], "occurrence", "2026-04-06T07:00:00.0000000")]


async def test_categories_and_a_taken_name(ms: FakeMicrosoft) -> None:
    async with graph_client(ms, scope="Calendars.ReadWrite MailboxSettings.ReadWrite") as graph:
        created = await graph.post("/me/outlook/masterCategories", json={"displayName": "Lockstep",
                                                                          "color": "preset7"})
        taken = await graph.post("/me/outlook/masterCategories", json={"displayName": "lockstep",
                                                                        "color": "preset1"})
        listed = await graph.get("/me/outlook/masterCategories")
    assert (created.status_code, taken.status_code, [(item["displayName"], item["color"])
                                                     for item in listed.json()["value"]]) == (
        201, 409, [("Lockstep", "preset7")])
    async with graph_client(ms) as calendars_only:
        assert (await calendars_only.get("/me/outlook/masterCategories")).status_code == 403


async def test_an_event_moved_to_another_calendar_keeps_only_its_immutable_id(ms: FakeMicrosoft,
                                                                             graph: httpx.AsyncClient) -> None:
    immutable = {"Prefer": 'IdType="ImmutableId"'}
    rest_id = ms.insert_by_hand(ms.default_calendar_id(), event("Dentist"))["id"]
    before = (await graph.get(f"/me/events/{rest_id}", headers=immutable)).json()["id"]
    new_rest_id = ms.move_by_hand(rest_id, ms.add_calendar("Personal"))
    after = await graph.get(f"/me/events/{before}", headers=immutable)
    old = await graph.get(f"/me/events/{rest_id}")
    assert (new_rest_id != rest_id, before != rest_id, after.json()["id"], after.headers["Preference-Applied"],
            old.status_code) == (True, True, before, 'IdType="ImmutableId"', 404)


async def test_injected_throttling_with_and_without_retry_after(ms: FakeMicrosoft, graph: httpx.AsyncClient) -> None:
    ms.fail("GET", r"/calendarView$", 429, retry_after="2.128")
    ms.fail("GET", r"/calendarView$", 429, code="TooManyRequests")
    ms.fail("GET", r"/calendarView$", 503, retry_after="10")
    answers = [await graph.get("/me/calendarView", params=MARCH) for _ in range(4)]
    assert [(answer.status_code, answer.headers.get("Retry-After"),
             answer.json()["error"]["code"] if answer.status_code >= 400 else None) for answer in answers] == [
        (429, "2.128", "ApplicationThrottled"), (429, None, "TooManyRequests"), (503, "10", "ServiceUnavailable"),
        (200, None, None)]


async def test_a_fifth_concurrent_request_to_one_mailbox_is_throttled(ms: FakeMicrosoft,
                                                                     graph: httpx.AsyncClient) -> None:
    ms.response_delay = 0.3
    answers = await asyncio.gather(*(graph.get("/me/calendars") for _ in range(6)))
    assert sorted(answer.status_code for answer in answers) == [200, 200, 200, 200, 429, 429]
    throttled = next(answer for answer in answers if answer.status_code == 429)
    assert (throttled.json()["error"]["message"], ms.max_concurrent_seen) == (
        "Application is over its MailboxConcurrency limit.", 4)
