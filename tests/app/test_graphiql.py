"""GraphiQL is served by Lockstep itself: the page loads only scripts and styles from this server."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from subprocess import PIPE

import httpx
import pytest

from app.main import create_app
from app.settings import Settings

BROWSER = {"Accept": "text/html"}
# Loads the scripts in the page's order, as a browser would, and checks what the page's start script calls.
_LOAD_IN_ORDER = """
const vm = require("vm"); const fs = require("fs");
// What a browser's window has and these scripts look for (the lazy socket client never opens a WebSocket here).
const page = { console, setTimeout, clearTimeout, TextDecoder, TextEncoder, URL, fetch, WebSocket: class {},
               navigator: { userAgent: "node", platform: "linux" } };
page.window = page; page.self = page; page.globalThis = page;
vm.createContext(page);
for (const file of JSON.parse(process.argv[1])) vm.runInContext(fs.readFileSync(file, "utf8"), page);
const fetcher = page.GraphiQL.createFetcher({ url: "http://lockstep.test/graphql",
  wsClient: page.graphqlWs.createClient({ url: "ws://lockstep.test/graphql", lazy: true }) });
console.log(JSON.stringify([typeof page.React.createElement, typeof page.ReactDOM.render, typeof fetcher]));
"""


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


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to run the page's scripts")
async def test_the_served_scripts_give_the_page_what_it_calls(http: httpx.AsyncClient, tmp_path: Path) -> None:
    # given the scripts the page names, downloaded from this server in the page's order
    page = await http.get("/graphql", headers=BROWSER)
    files = []
    for number, source in enumerate(re.findall(r'<script src="([^"]+)"', page.text)):
        path = tmp_path / f"{number}.js"
        path.write_bytes((await http.get(source)).content)
        files.append(str(path))
    # when they run one after another in one global scope
    node = await asyncio.create_subprocess_exec("node", "-e", _LOAD_IN_ORDER, json.dumps(files),
                                                stdout=PIPE, stderr=PIPE)
    out, err = await asyncio.wait_for(node.communicate(), timeout=60)
    # then React renders, and GraphiQL builds its fetcher over HTTP and the graphql-ws client
    assert node.returncode == 0, err.decode()[-2000:]
    assert json.loads(out) == ["function", "function", "function"]
