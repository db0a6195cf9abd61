"""The fake Calendly's API over real HTTP follows Calendly's contract: the current user and tokens, paged listings
with all five pagination keys, filters, invitees, a host's cancellation, rate-limit headers and budgets, and faults
on demand. Every test's traffic is checked against the OpenAPI description when the fake closes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from tests.fakes.calendly import FakeCalendly
from tests.fakes.calendly_store import stamp
from tests.support.calendly import Receiver

START = datetime(2030, 1, 7, 9, tzinfo=UTC)
PAGINATION_KEYS = {"count", "next_page", "previous_page", "next_page_token", "previous_page_token"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def every_page(rest: httpx.AsyncClient, path: str, params: dict[str, str]) -> list[list[dict[str, Any]]]:
    pages = []
    answer = (await rest.get(path, params=params)).json()
    pages.append(answer["collection"])
    while answer["pagination"]["next_page"] is not None:
        answer = (await rest.get(answer["pagination"]["next_page"])).json()
        pages.append(answer["collection"])
    return pages


# -- the current user and tokens ------------------------------------------------------------------------------------

async def test_me_is_the_tokens_user_with_uris_under_the_fakes_own_base(calendly: FakeCalendly,
                                                                        rest: httpx.AsyncClient) -> None:
    answer = await rest.get("/users/me")
    resource = answer.json()["resource"]
    assert answer.status_code == 200
    assert (resource["uri"], resource["current_organization"]) == (
        f"{calendly.url}/users/{calendly.user.uuid}", f"{calendly.url}/organizations/{calendly.user.organization}")
    assert (resource["name"], resource["email"], resource["timezone"]) == ("Tess Tech", "tess@example.com",
                                                                          "Europe/Berlin")
    assert (await rest.get(resource["uri"])).json()["resource"] == resource


@pytest.mark.parametrize("case", ["unknown", "revoked", "expired"])
async def test_a_token_that_is_not_live_is_401_in_calendlys_shape(calendly: FakeCalendly, case: str) -> None:
    token = "unknown"
    if case == "revoked":
        token = calendly.personal_token()
        calendly.oauth.revoke_all()
    elif case == "expired":
        token = str(calendly.oauth.issue_tokens(calendly.user.uuid)["access_token"])
        calendly.oauth.expire_access_tokens()
    async with httpx.AsyncClient(base_url=calendly.api_url, headers=bearer(token)) as client:
        answer = await client.get("/users/me")
    assert (answer.status_code, answer.json()) == (401, {"title": "Unauthenticated",
                                                         "message": "The access token is invalid"})


async def test_a_grant_without_the_scope_a_call_needs_is_403(calendly: FakeCalendly) -> None:
    token = calendly.personal_token(scopes=("users:read",))
    async with httpx.AsyncClient(base_url=calendly.api_url, headers=bearer(token)) as client:
        assert (await client.get("/users/me")).status_code == 200
        refused = await client.get("/event_types", params={"user": calendly.user_uri})
    assert (refused.status_code, refused.json()["title"]) == (403, "Permission Denied")


# -- listings -------------------------------------------------------------------------------------------------------

async def test_scheduled_events_come_in_pages_whose_links_embed_their_tokens(calendly: FakeCalendly,
                                                                           rest: httpx.AsyncClient) -> None:
    kind = calendly.add_event_type(calendly.user, "Boiler service", 30)
    for hour in range(25):
        calendly.book(kind, START + timedelta(hours=hour))
    first = (await rest.get("/scheduled_events", params={"user": calendly.user_uri, "count": "10"})).json()
    pagination = first["pagination"]
    assert set(pagination) == PAGINATION_KEYS
    assert (pagination["count"], pagination["previous_page"], pagination["previous_page_token"]) == (10, None, None)
    link = urlsplit(pagination["next_page"])
    assert f"{link.scheme}://{link.netloc}{link.path}" == f"{calendly.url}/scheduled_events"
    assert dict(parse_qsl(link.query))["page_token"] == pagination["next_page_token"]
    second = (await rest.get(pagination["next_page"])).json()
    assert second["pagination"]["previous_page_token"] is not None
    pages = await every_page(rest, "/scheduled_events", {"user": calendly.user_uri, "count": "10"})
    assert [len(page) for page in pages] == [10, 10, 5]
    assert [event["start_time"] for page in pages for event in page] == [
        stamp(START + timedelta(hours=hour)) for hour in range(25)]


async def test_scheduled_events_are_filtered_by_status_window_and_sorted(calendly: FakeCalendly,
                                                                        rest: httpx.AsyncClient) -> None:
    kind = calendly.add_event_type(calendly.user, "Boiler service", 30)
    booked = [calendly.book(kind, START + timedelta(days=day)) for day in range(4)]
    calendly.cancel_by_invitee(booked[1].invitee_uri)

    async def uris(**params: str) -> list[str]:
        answer = await rest.get("/scheduled_events", params={"user": calendly.user_uri, **params})
        return [event["uri"] for event in answer.json()["collection"]]

    everything = [made.event_uri for made in booked]
    assert await uris() == everything
    assert await uris(status="canceled") == [booked[1].event_uri]
    assert await uris(status="active") == [everything[0], *everything[2:]]
    assert await uris(min_start_time=stamp(START + timedelta(days=1)),
                      max_start_time=stamp(START + timedelta(days=3))) == everything[1:3]
    assert await uris(sort="start_time:desc") == everything[::-1]


async def test_another_users_events_need_the_organization_too(calendly: FakeCalendly,
                                                              rest: httpx.AsyncClient) -> None:
    colleague = calendly.add_user("Ravi Repair", "ravi@example.com")
    mine = calendly.book(calendly.add_event_type(calendly.user, "Boiler service"), START)
    theirs = calendly.book(calendly.add_event_type(colleague, "Gas check"), START)
    refused = await rest.get("/scheduled_events", params={"user": calendly.store.user_uri(colleague)})
    assert (refused.status_code, refused.json()) == (403, {
        "title": "Permission Denied",
        "message": "Please also specify organization when requesting events for a user within your organization."})
    narrowed = await rest.get("/scheduled_events", params={"user": calendly.store.user_uri(colleague),
                                                          "organization": calendly.organization_uri})
    whole = await rest.get("/scheduled_events", params={"organization": calendly.organization_uri})
    assert [event["uri"] for event in narrowed.json()["collection"]] == [theirs.event_uri]
    assert {event["uri"] for event in whole.json()["collection"]} == {mine.event_uri, theirs.event_uri}


@pytest.mark.parametrize(("params", "parameter"), [
    ({"count": "0"}, "count"), ({"count": "101"}, "count"), ({"count": "ten"}, "count"),
    ({"status": "done"}, "status"), ({"min_start_time": "yesterday"}, "min_start_time"),
    ({"page_token": "forged"}, "page_token"), ({"sort": "name:asc"}, "sort")])
async def test_a_bad_listing_parameter_is_400_naming_it(calendly: FakeCalendly, rest: httpx.AsyncClient,
                                                       params: dict[str, str], parameter: str) -> None:
    with calendly.sending_bad_requests():
        answer = await rest.get("/scheduled_events", params={"user": calendly.user_uri, **params})
    assert answer.status_code == 400
    assert (answer.json()["title"], [detail["parameter"] for detail in answer.json()["details"]]) == (
        "Invalid Argument", [parameter])


async def test_event_types_are_listed_by_name_and_read_one_by_one(calendly: FakeCalendly,
                                                                 rest: httpx.AsyncClient) -> None:
    for name in ("Gas check", "Boiler service", "Annual service"):
        calendly.add_event_type(calendly.user, name, 45)
    calendly.add_event_type(calendly.user, "Retired", active=False)
    pages = await every_page(rest, "/event_types", {"user": calendly.user_uri, "count": "2"})
    assert [[kind["name"] for kind in page] for page in pages] == [["Annual service", "Boiler service"],
                                                                   ["Gas check", "Retired"]]
    active = await rest.get("/event_types", params={"user": calendly.user_uri, "active": "true"})
    assert [kind["name"] for kind in active.json()["collection"]] == ["Annual service", "Boiler service", "Gas check"]
    one = pages[0][0]
    assert (await rest.get(one["uri"])).json()["resource"] == one


async def test_an_events_invitees_are_paged_and_read_one_by_one(calendly: FakeCalendly,
                                                               rest: httpx.AsyncClient) -> None:
    kind = calendly.add_event_type(calendly.user, "Workshop", 120)
    first = calendly.book(kind, START, {"name": "Ann", "email": "ann@example.com"})
    for name in ("Bob", "Cid"):
        calendly.book(kind, START, {"name": name, "email": f"{name.lower()}@example.com"}, join=first.event_uri)
    pages = await every_page(rest, f"{first.event_uri}/invitees", {"count": "2"})
    assert [[person["name"] for person in page] for page in pages] == [["Ann", "Bob"], ["Cid"]]
    assert (await rest.get(first.invitee_uri)).json()["resource"] == pages[0][0]
    missing = await rest.get(f"{first.event_uri}/invitees/unknown")
    assert (missing.status_code, missing.json()["title"]) == (404, "Resource Not Found")


# -- a host cancels -------------------------------------------------------------------------------------------------

async def test_a_hosts_cancellation_cancels_the_event_and_its_invitees_and_tells_subscribers(
        calendly: FakeCalendly, rest: httpx.AsyncClient, receiver: Receiver) -> None:
    await rest.post("/webhook_subscriptions", json={
        "url": receiver.hook_url, "events": ["invitee.canceled"], "organization": calendly.organization_uri,
        "scope": "organization"})
    booked = calendly.book(calendly.add_event_type(calendly.user, "Boiler service"), START)
    answer = await rest.post(f"{booked.event_uri}/cancellation", json={"reason": "Van broke down"})
    assert answer.status_code == 201
    assert {key: value for key, value in answer.json()["resource"].items() if key != "created_at"} == {
        "canceled_by": "Tess Tech", "reason": "Van broke down", "canceler_type": "host"}
    event = (await rest.get(booked.event_uri)).json()["resource"]
    invitee = (await rest.get(booked.invitee_uri)).json()["resource"]
    assert (event["status"], invitee["status"], invitee["cancellation"]["canceler_type"]) == (
        "canceled", "canceled", "host")
    await calendly.deliveries_settled()
    delivered = [json.loads(received.body) for received in receiver.received]
    assert [(body["event"], body["payload"]["uri"], body["payload"]["cancellation"]["reason"],
             body["payload"]["scheduled_event"]["status"]) for body in delivered] == [
        ("invitee.canceled", booked.invitee_uri, "Van broke down", "canceled")]


async def test_cancelling_again_is_403_and_an_unknown_event_404_changing_nothing(
        calendly: FakeCalendly, rest: httpx.AsyncClient) -> None:
    booked = calendly.book(calendly.add_event_type(calendly.user, "Boiler service"), START)
    await rest.post(f"{booked.event_uri}/cancellation", json={})
    again = await rest.post(f"{booked.event_uri}/cancellation", json={})
    assert (again.status_code, again.json()) == (403, {"title": "Permission Denied",
                                                       "message": "Event is already canceled"})
    missing = await rest.post("/scheduled_events/unknown/cancellation")
    assert missing.status_code == 404
    past = calendly.book(calendly.add_event_type(calendly.user, "Old"), datetime(2020, 1, 1, tzinfo=UTC))
    refused = await rest.post(f"{past.event_uri}/cancellation")
    assert (refused.status_code, refused.json()["message"]) == (403, "Event in the past")
    assert calendly.store.events[past.event_uri.rsplit("/", 1)[-1]].status == "active"


# -- rate limits and faults -----------------------------------------------------------------------------------------

async def test_every_answer_carries_the_rate_limit_headers(calendly: FakeCalendly, rest: httpx.AsyncClient) -> None:
    answers = [await rest.get("/users/me"), await rest.get("/scheduled_events/unknown")]
    async with httpx.AsyncClient(base_url=calendly.api_url, headers=bearer("unknown")) as stranger:
        answers.append(await stranger.get("/users/me"))
    assert [(answer.status_code, answer.headers["X-RateLimit-Limit"], answer.headers["X-RateLimit-Remaining"])
            for answer in answers] == [(200, "500", "499"), (404, "500", "498"), (401, "500", "500")]
    assert all(1 <= int(answer.headers["X-RateLimit-Reset"]) <= 60 for answer in answers)


async def test_over_the_users_budget_the_api_answers_429(calendly: FakeCalendly, rest: httpx.AsyncClient) -> None:
    calendly.set_budget(3)
    answers = [await rest.get("/users/me") for _ in range(4)]
    assert [(answer.status_code, answer.headers["X-RateLimit-Remaining"]) for answer in answers] == [
        (200, "2"), (200, "1"), (200, "0"), (429, "0")]
    assert answers[3].json()["title"] == "Too Many Requests"
    assert 1 <= int(answers[3].headers["X-RateLimit-Reset"]) <= 60
    # another user's budget is their own
    other = calendly.personal_token(calendly.add_user("Ravi Repair", "ravi@example.com"))
    async with httpx.AsyncClient(base_url=calendly.api_url, headers=bearer(other)) as client:
        assert (await client.get("/users/me")).status_code == 200


async def test_faults_on_demand_answer_the_next_matching_requests(calendly: FakeCalendly,
                                                                 rest: httpx.AsyncClient) -> None:
    calendly.fail("GET", r"^/users/me$", 429, reset=37, retry_after="12")
    calendly.fail("GET", r"^/users/me$", 500)
    throttled, failed, fine = [await rest.get("/users/me") for _ in range(3)]
    assert (throttled.status_code, throttled.headers["X-RateLimit-Remaining"],
            throttled.headers["X-RateLimit-Reset"], throttled.headers["Retry-After"]) == (429, "0", "37", "12")
    assert (failed.status_code, failed.json()["title"], fine.status_code) == (500, "Internal Server Error", 200)
    calendly.stall("GET", r"^/users/me$", 5)
    with pytest.raises(httpx.TimeoutException):
        await rest.get("/users/me", timeout=0.2)
