"""/graphql refuses request bodies that are not one operation with 400, never an internal error."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.main import create_app
from app.settings import Settings


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(Settings.from_env()), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://lockstep.test") as client:
        yield client


@pytest.mark.parametrize("body", ["null", "3", "-0.5", '"{ __typename }"', "true", " \n null "])
async def test_a_json_body_that_is_not_an_object_is_a_bad_request(http: httpx.AsyncClient, body: str) -> None:
    response = await http.post("/graphql", content=body, headers={"Content-Type": "application/json"})
    assert (response.status_code, response.text) == (400, "The request body must be a JSON object")


async def test_a_list_body_is_refused_as_a_batch(http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", content='[{"query": "{ __typename }"}]',
                               headers={"Content-Type": "application/json"})
    assert (response.status_code, response.text) == (400, "Batching is not enabled")


async def test_an_object_body_still_runs(http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", content='{"query": "{ __typename }", "variables": null}',
                               headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()) == (200, {"data": {"__typename": "Query"}})


async def test_null_variables_in_a_query_string_are_still_accepted(http: httpx.AsyncClient) -> None:
    response = await http.get("/graphql", params={"query": "{ __typename }", "variables": "null"},
                              headers={"Accept": "application/json"})
    assert (response.status_code, response.json()) == (200, {"data": {"__typename": "Query"}})
