"""The request size limit: HTTP bodies refused while they are read, WebSocket messages closed with 1009."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from app.main import create_app
from app.settings import Settings
from models import User
from tests.support.server import live_server

LIMIT = 1000
SIGN_UP = "mutation($input: SignUpInput!) { signUp(input: $input) { __typename } }"


def _sign_up_body(padding: int) -> bytes:
    """A real signUp whose query text ends in `padding` spaces."""
    variables = {"input": {"email": "pat@example.com", "password": "correct horse battery", "name": "Pat"}}
    return json.dumps({"query": SIGN_UP + " " * padding, "variables": variables}).encode()


def _small_limit_app() -> Any:
    return create_app(dataclasses.replace(Settings.from_env(), max_body_bytes=LIMIT, max_ws_message_bytes=LIMIT))


async def _call(app: Any, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> tuple[list[dict[str, Any]], int]:
    """One HTTP request straight through the ASGI app; the messages sent back and how many body chunks it read."""
    reads = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        if reads > len(chunks):
            await asyncio.Event().wait()  # a client that sends no more
        return {"type": "http.request", "body": chunks[reads - 1], "more_body": reads < len(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/graphql", "raw_path": b"/graphql", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"lockstep.test"), (b"content-type", b"application/json"), *headers],
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80)}
    await asyncio.wait_for(app(scope, receive, send), timeout=10)
    return sent, reads


async def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(db: str) -> None:
    # Given a body that declares twice the limit
    body = _sign_up_body(2 * LIMIT)
    # When it reaches the app
    sent, reads = await _call(_small_limit_app(), [(b"content-length", str(len(body)).encode())], [body])
    # Then it is refused with 413 without a byte read, and nobody signed up
    assert reads == 0
    assert sent[0]["status"] == 413
    assert (b"connection", b"close") in sent[0]["headers"]
    assert json.loads(sent[1]["body"]) == {"error": f"The request body may be at most {LIMIT} bytes", "limit": LIMIT}
    assert await User.all().count() == 0


async def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(db: str) -> None:
    # Given a body of unknown length arriving in 400-byte chunks, ten times the limit in all
    body = _sign_up_body(10 * LIMIT)
    chunks = [body[start:start + 400] for start in range(0, len(body), 400)]
    # When it reaches the app
    sent, reads = await _call(_small_limit_app(), [], chunks)
    # Then reading stops at the chunk that passes 1000 bytes (the third), and nothing is written
    assert reads == 3
    assert sent[0]["status"] == 413
    assert await User.all().count() == 0


async def test_a_body_of_exactly_the_limit_is_served(db: str) -> None:
    body = _sign_up_body(0)
    body = _sign_up_body(LIMIT - len(body))
    assert len(body) == LIMIT
    sent, _ = await _call(_small_limit_app(), [(b"content-length", str(LIMIT).encode())], [body])
    assert sent[0]["status"] == 200
    assert json.loads(sent[1]["body"]) == {"data": {"signUp": {"__typename": "AuthPayload"}}}
    assert await User.all().count() == 1


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[str]:
    with live_server(database_url, tmp_path, LOCKSTEP_MAX_BODY_BYTES=str(LIMIT),
                     LOCKSTEP_MAX_WS_MESSAGE_BYTES=str(LIMIT)) as base:
        yield base


async def _raw_post(base: str, headers: str, body: bytes) -> bytes:
    """Send a request head and part of a body over a plain socket, then read the answer without sending more."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"POST /graphql HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n{headers}\r\n"
                 .encode() + body)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=10)  # the server closes the connection after it
    writer.close()
    return answer


async def test_a_real_server_answers_413_without_waiting_for_the_rest_of_the_body(server: str, db: str) -> None:
    # Given a request that declares a megabyte but sends none of it, and a chunked one that sends 2000 bytes of
    # an endless body
    declared = await _raw_post(server, "content-length: 1000000\r\n", b"")
    chunk = b"3e8\r\n" + b" " * 1000 + b"\r\n"
    streamed = await _raw_post(server, "transfer-encoding: chunked\r\n", chunk * 2)
    # Then both are answered 413 at once, and a small request is served as usual
    async with httpx.AsyncClient(base_url=server, timeout=10) as http:
        small = await http.post("/graphql", content=_sign_up_body(10), headers={"content-type": "application/json"})
    refusal = json.dumps({"error": f"The request body may be at most {LIMIT} bytes", "limit": LIMIT}).encode()
    for answer in (declared, streamed):
        assert answer.startswith(b"HTTP/1.1 413 ")
        assert answer.endswith(b"\r\n\r\n" + refusal)
    assert small.json() == {"data": {"signUp": {"__typename": "AuthPayload"}}}
    assert await User.all().count() == 1


async def test_a_websocket_message_over_the_limit_closes_the_socket_with_1009(server: str) -> None:
    url = server.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await socket.recv()) == {"type": "connection_ack"}
        await socket.send(json.dumps({"type": "ping", "payload": {"padding": "x" * LIMIT}}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), timeout=10)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1009, f"Messages may be at most {LIMIT} bytes")


def test_the_limits_default_to_a_megabyte_and_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings.from_env()
    monkeypatch.setenv("LOCKSTEP_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("LOCKSTEP_MAX_WS_MESSAGE_BYTES", "4096")
    configured = Settings.from_env()
    assert (defaults.max_body_bytes, defaults.max_ws_message_bytes) == (1_000_000, 1_000_000)
    assert (configured.max_body_bytes, configured.max_ws_message_bytes) == (2048, 4096)
