"""GraphiQL is served by Lockstep itself: the page loads only scripts and styles from this server."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from app.main import create_app
from app.settings import Settings

BROWSER = {"Accept": "text/html"}


def _client(graphiql: bool) -> httpx.AsyncClient:
    app = create_app(dataclasses.replace(Settings.from_env(), graphiql=graphiql))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lockstep.test")


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with _client(graphiql=True) as client:
        yield client


async def test_the_page_loads_everything_from_this_server(http: httpx.AsyncClient) -> None:
    # when a browser opens /graphql
    page = await http.get("/graphql", headers=BROWSER)
    # then it gets our page, whose every script and stylesheet is one of ours
    assert (page.status_code, page.headers["content-type"]) == (200, "text/html; charset=utf-8")
    references = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert references == ["/graphiql/assets/graphiql.min.css", "/graphiql/assets/react.production.min.js",
                          "/graphiql/assets/react-dom.production.min.js", "/graphiql/assets/graphiql.min.js",
                          "/graphiql/assets/graphql-ws.min.js"]
    assert "://" not in page.text


async def test_each_file_the_page_needs_is_served(http: httpx.AsyncClient) -> None:
    expected = {"graphiql.min.css": ("text/css", ".graphiql-container"),
                "react.production.min.js": ("text/javascript", "React"),
                "react-dom.production.min.js": ("text/javascript", "ReactDOM"),
                "graphiql.min.js": ("text/javascript", "createFetcher"),
                "graphql-ws.min.js": ("text/javascript", "graphqlWs")}
    for name, (media_type, defines) in expected.items():
        response = await http.get(f"/graphiql/assets/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith(media_type), name
        assert defines in response.text, name


async def test_with_graphiql_off_neither_page_nor_files_are_served() -> None:
    async with _client(graphiql=False) as client:
        page = await client.get("/graphql", headers=BROWSER)
        script = await client.get("/graphiql/assets/graphiql.min.js")
    assert page.status_code == 404
    assert script.status_code == 404
