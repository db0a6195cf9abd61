"""/metrics: who may read it, and what this API process counts (GraphQL latency and errors, webhook deliveries,
throttled sign-ins). Counters belong to the process, so each test compares a scrape before and after its event."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette
from tortoise import connections

from app.main import create_app
from app.settings import Settings
from models import ExternalCalendar, Provider
from services import metrics
from services.watch_channels import record_channel
from tests.support.graphql import GraphQLClient, given_shop
from tests.support.metrics import change, scrape, value
from tests.support.sync import given_connected_staff

METRICS_TOKEN = "a-scraper-token-that-is-long-enough-0123"
LATENCY = "lockstep_graphql_request_duration_seconds_count"


def _app(**settings: object) -> Starlette:
    return create_app(dataclasses.replace(Settings.from_env(), redis_url=None, **settings))  # type: ignore[arg-type]


def _client(app: Starlette | None = None, **settings: object) -> httpx.AsyncClient:
    app = app or _app(**settings)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lockstep.test")


@pytest.fixture
async def http(db: str) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(metrics_access="open") as client:
        yield client


async def test_metrics_are_off_unless_switched_on(db: str) -> None:
    async with _client() as client:
        response = await client.get("/metrics")
    assert (response.status_code, response.text) == (404, "Not Found")


async def test_with_a_token_only_its_bearer_may_read_the_metrics(db: str) -> None:
    async with _client(metrics_access="token", metrics_token=METRICS_TOKEN) as client:
        missing = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}x"})
        samples = await scrape(client, METRICS_TOKEN)
    assert (missing.status_code, missing.headers["www-authenticate"], missing.text) == (401, "Bearer", "Unauthorized")
    assert (wrong.status_code, wrong.text) == (401, "Unauthorized")
    assert value(samples, "lockstep_scrape_source_up", source="database") == 1.0


def test_a_token_setting_without_a_long_enough_token_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCKSTEP_METRICS", "token")
    monkeypatch.setenv("LOCKSTEP_METRICS_TOKEN", "short")
    with pytest.raises(SystemExit, match="LOCKSTEP_METRICS_TOKEN of at least 32 characters"):
        Settings.from_env()
    monkeypatch.setenv("LOCKSTEP_METRICS", "public")
    with pytest.raises(SystemExit, match="LOCKSTEP_METRICS must be one of off, open, token"):
        Settings.from_env()


async def test_request_latency_is_counted_by_root_field(http: httpx.AsyncClient) -> None:
    api = GraphQLClient(http)
    before = await scrape(http)
    # when two viewer queries (one under a name the client chose), one with two root fields, and two broken ones
    await api("{ viewer { name } }")
    await api("query ChosenByTheClient_x9 { viewer { name } }")
    await api("{ __typename viewer { name } }")
    await api.raw("{ viewr { name } }")
    await api.raw("{ viewer { ")
    after = await scrape(http)
    # then each is counted under its bounded label, and nothing under the name the client chose
    counts = {labels: delta for (name, labels), delta in change(before, after).items() if name == LATENCY}
    assert counts == {
        (("operation", "viewer"), ("operation_type", "query")): 2.0,
        (("operation", "multiple"), ("operation_type", "query")): 1.0,
        (("operation", "invalid"), ("operation_type", "query")): 1.0,
        (("operation", "invalid"), ("operation_type", "unknown")): 1.0,
    }
    assert not any("ChosenByTheClient" in str(labels) for _, labels in after)
    assert value(after, "lockstep_graphql_request_duration_seconds_sum", operation="viewer",
                 operation_type="query") > value(before, "lockstep_graphql_request_duration_seconds_sum",
                                                 operation="viewer", operation_type="query")


async def test_errors_are_counted_by_type(http: httpx.AsyncClient) -> None:
    # given a shop (its set-up counted before the first scrape)
    api = GraphQLClient(http)
    shop = await given_shop(api)
    before = await scrape(http)
    # when a document does not parse, one does not validate, variables do not fit, a resolver refuses, and one fails
    await api.raw("{ viewer { ")
    await api.raw("{ viewr { name } }")
    await api.raw("query($f: BookingFilter) { bookings(filter: $f) { __typename } }",
                  {"f": {"status": "CONFIRMD"}})
    await api.raw('{ node(id: "not-an-id") { id } }')
    connection = connections.get("default")
    await connection.execute_script("ALTER TABLE busyblock RENAME TO busyblock_away")
    try:
        # (a window inside the booking horizon: one beyond it is answered without reading the database)
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        failed = await api.raw("""query($s: ID!, $from: DateTime!, $to: DateTime!) {
            availableSlots(serviceId: $s, from: $from, to: $to, timeZone: "UTC") { __typename } }""",
                               {"s": shop.service_id, "from": tomorrow.isoformat(),
                                "to": (tomorrow + timedelta(days=1)).isoformat()})
    finally:
        await connection.execute_script("ALTER TABLE busyblock_away RENAME TO busyblock")
    after = await scrape(http)
    # then each error is counted once under its type
    errors = {labels: delta for (name, labels), delta in change(before, after).items()
              if name == "lockstep_graphql_errors_total"}
    assert errors == {(("type", kind),): 1.0 for kind in ("syntax", "validation", "variables", "refused",
                                                          "unexpected")}, failed


async def test_webhook_deliveries_are_counted_by_outcome(db: str) -> None:
    app = _app(metrics_access="open")
    async with _client(app) as http:
        # given a watched Google calendar
        given = await given_connected_staff("tech@example.com", credentials="sealed", provider=Provider.GOOGLE)
        now = datetime.now(UTC)
        await ExternalCalendar.filter(id=given.calendar.id).update(next_pull_at=now + timedelta(hours=1))
        await record_channel(given.calendar.id, "chan-1", "res-1", "the-channel-token", now + timedelta(days=7))
        before = await scrape(http)
        # when Google reports a change, confirms the channel, and a stranger forges a notification
        for token, state in (("the-channel-token", "exists"), ("the-channel-token", "sync"), ("forged", "exists")):
            response = await http.post("/webhooks/google", headers={
                "X-Goog-Channel-ID": "chan-1", "X-Goog-Channel-Token": token, "X-Goog-Resource-State": state})
            assert response.status_code == 200
        # (each is counted once it has been checked, just after its answer)
        await app.state.webhook_inbox.drained()
        after = await scrape(http)
        # then one was accepted and two ignored
        deliveries = {labels: delta for (name, labels), delta in change(before, after).items()
                      if name == "lockstep_webhook_deliveries_total"}
        assert deliveries == {(("outcome", "accepted"), ("provider", "google")): 1.0,
                              (("outcome", "ignored"), ("provider", "google")): 2.0}


async def test_throttled_sign_ins_are_counted_by_a_bounded_operation(http: httpx.AsyncClient) -> None:
    before = await scrape(http)
    # when sign-in throttling refuses two sign-ins, a refresh, and a request naming an operation of its own
    for operation in ("signIn", "signIn", "refreshToken", "anything-a-client-sends"):
        metrics.record_throttled_sign_in(operation)
    after = await scrape(http)
    throttled = {labels: delta for (name, labels), delta in change(before, after).items()
                 if name == "lockstep_signin_throttled_total"}
    assert throttled == {(("operation", "signIn"),): 2.0, (("operation", "refreshToken"),): 1.0,
                         (("operation", "other"),): 1.0}
