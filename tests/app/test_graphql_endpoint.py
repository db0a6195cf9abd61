"""The GraphQL endpoint: safety limits, error masking, GraphiQL and health."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from tortoise import connections

from app.main import create_app
from app.settings import Settings
from tests.resolvers.test_bookings import at
from tests.support.graphql import GraphQLClient, given_shop


@pytest.fixture
async def strict_api(db: str) -> AsyncIterator[GraphQLClient]:
    """The app with small limits, so each limit can be crossed with a short query."""
    settings = dataclasses.replace(Settings.from_env(), max_query_depth=3, max_query_tokens=40, max_query_aliases=2,
                                   introspection=False)
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://lockstep.test") as http:
        yield GraphQLClient(http)


async def test_graphiql_is_served_to_browsers(api: GraphQLClient) -> None:
    response = await api.http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_a_query_deeper_than_the_limit_is_refused(strict_api: GraphQLClient) -> None:
    within = await strict_api.raw("{ bookings { ... on NotAuthorized { message } "
                                  "... on BookingConnection { pageInfo { hasNextPage } } } }")
    beyond = await strict_api.raw("{ bookings { ... on BookingConnection { edges { node { staff { name } } } } } }")
    assert within == {"data": {"bookings": {"message": "Sign in first"}}}  # ran: the depth was allowed
    assert beyond["errors"][0]["message"] == "'anonymous' exceeds maximum operation depth of 3"
    assert beyond.get("data") is None


async def test_too_many_aliases_or_tokens_are_refused(strict_api: GraphQLClient) -> None:
    aliases = await strict_api.raw("{ a: viewer { name } b: viewer { name } c: viewer { name } }")
    tokens = await strict_api.raw("{ " + " ".join(["viewer { name }"] * 12) + " }")
    assert aliases["errors"][0]["message"] == "3 aliases found. Allowed: 2"
    assert tokens["errors"][0]["message"] == "Syntax Error: Document contains more than 40 tokens. Parsing aborted."


async def test_introspection_can_be_switched_off(strict_api: GraphQLClient) -> None:
    body = await strict_api.raw("{ __schema { queryType { name } } }")
    assert body["errors"][0]["message"] == (
        "GraphQL introspection has been disabled, but the requested query contained the field '__schema'.")


async def test_unexpected_errors_are_masked_and_leak_nothing(api: GraphQLClient) -> None:
    # given a shop whose busy-block table has gone missing (a real fault, not a stub)
    shop = await given_shop(api)
    connection = connections.get("default")
    await connection.execute_script("ALTER TABLE busyblock RENAME TO busyblock_away")
    try:
        # when availability is asked
        # (a day inside the booking horizon: beyond it the answer is empty without reading anything)
        body = await api.raw("""query($s: ID!, $from: DateTime!, $to: DateTime!) { availableSlots(serviceId: $s,
            from: $from, to: $to, timeZone: "UTC") { __typename } }""",
                             {"s": shop.service_id, "from": at(0), "to": at(0, day=1)})
    finally:
        await connection.execute_script("ALTER TABLE busyblock_away RENAME TO busyblock")
    # then the client learns only that something unexpected happened
    assert body["data"] is None
    assert [error["message"] for error in body["errors"]] == ["Unexpected error."]
    assert "busyblock" not in str(body)


async def test_health_reports_the_database(api: GraphQLClient) -> None:
    response = await api.http.get("/health")
    assert (response.status_code, response.json()["database"]) == (200, "ok")
