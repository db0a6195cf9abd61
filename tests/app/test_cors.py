"""CORS over HTTP: only the browser origins in LOCKSTEP_ALLOWED_ORIGINS may call /graphql from their pages."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from app.main import create_app
from app.settings import Settings

SHOP_FRONT = "https://book.example-salon.com"
STRANGER = "https://evil.example.net"
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    settings = dataclasses.replace(Settings.from_env(), allowed_origins=(SHOP_FRONT,))
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://lockstep.test") as client:
        yield client


async def test_a_preflight_from_an_allowed_origin_is_answered(http: httpx.AsyncClient) -> None:
    # when the shop's web front asks whether it may POST with a bearer token
    response = await http.options("/graphql", headers={"Origin": SHOP_FRONT, **PREFLIGHT})
    # then it may
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SHOP_FRONT
    assert response.headers["access-control-allow-methods"] == "GET, POST"
    assert set(response.headers["access-control-allow-headers"].split(", ")) >= {"Authorization", "Content-Type"}
    assert "access-control-allow-credentials" not in response.headers


async def test_a_preflight_from_another_origin_is_refused(http: httpx.AsyncClient) -> None:
    response = await http.options("/graphql", headers={"Origin": STRANGER, **PREFLIGHT})
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


async def test_a_preflight_asking_for_another_header_is_refused(http: httpx.AsyncClient) -> None:
    response = await http.options("/graphql", headers={"Origin": SHOP_FRONT, "Access-Control-Request-Method": "POST",
                                                       "Access-Control-Request-Headers": "x-impersonate"})
    assert response.status_code == 400
    assert response.text == "Disallowed CORS headers"


async def test_an_allowed_origin_can_read_the_answer(http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", json={"query": "{ __typename }"}, headers={"Origin": SHOP_FRONT})
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}
    assert response.headers["access-control-allow-origin"] == SHOP_FRONT
    assert response.headers["vary"] == "Origin"


async def test_another_origin_gets_no_cors_header(http: httpx.AsyncClient) -> None:
    # the server answers (CORS is the browser's rule), but without the header the browser hides it from the page
    response = await http.post("/graphql", json={"query": "{ __typename }"}, headers={"Origin": STRANGER})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


async def test_without_allowed_origins_every_cross_origin_preflight_is_refused() -> None:
    settings = dataclasses.replace(Settings.from_env(), allowed_origins=())
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://lockstep.test") as client:
        response = await client.options("/graphql", headers={"Origin": SHOP_FRONT, **PREFLIGHT})
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
