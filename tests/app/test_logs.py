"""What the server logs: JSON lines carrying the request id, and never an operation's text, variables or secrets."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from app.graphql import operation_hash
from app.logs import JsonLines, WithoutQueryStrings, masked
from app.main import create_app
from app.settings import Settings
from models import CalendarConnection
from services.connections import ProbedAccount
from tests.support.graphql import GraphQLClient, Shop, given_shop

PASSWORD = "hunter2-Tr0ub4dor"
INLINE = f"""mutation ConnectNextcloud {{ connectCaldav(input: {{staffId: "%s", providerType: NEXTCLOUD,
  username: "sam", password: "{PASSWORD}", serverUrl: "https://cloud.example"}}) {{ __typename }} }}"""
WITH_VARIABLES = """mutation ConnectNextcloud($input: CaldavAccountInput!) { connectCaldav(input: $input) {
  __typename } }"""


class CrashingProbe:
    """A CalDAV check that breaks in a way nobody expected."""

    async def __call__(self, server_type: str, server_url: str | None, username: str, password: str
                       ) -> ProbedAccount:
        raise RuntimeError(f"connection reset while checking the account of {username}")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Every line the process logs while the test runs, as the server writes it."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonLines())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
async def crashing_api(db: str) -> AsyncIterator[tuple[GraphQLClient, Shop]]:
    app = create_app(Settings.from_env(), account_probe=CrashingProbe())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lockstep.test") as http:
        api = GraphQLClient(http)
        yield api, await given_shop(api)


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


async def test_an_operation_that_fails_unexpectedly_is_logged_without_its_text_or_variables(
        crashing_api: tuple[GraphQLClient, Shop], captured: io.StringIO) -> None:
    api, shop = crashing_api
    inline = INLINE % shop.staff_id
    variables = {"input": {"staffId": shop.staff_id, "providerType": "NEXTCLOUD", "username": "sam",
                           "password": PASSWORD, "serverUrl": "https://cloud.example"}}
    # when the same connection is tried with the password typed inline, then passed as a variable
    for query, values in ((inline, None), (WITH_VARIABLES, variables)):
        response = await api.http.post("/graphql", json={"query": query, "variables": values},
                                       headers={"Authorization": f"Bearer {shop.owner_token}",
                                                "X-Request-ID": "req-" + operation_hash(query)})
        # then the client gets the masked error and nothing was connected
        assert response.json()["errors"][0]["message"] == "Unexpected error."
        assert response.headers["x-request-id"] == "req-" + operation_hash(query)
    assert await CalendarConnection.all().count() == 0
    # and the log names each failure by its operation, its hash, its request and the error, never the password
    log = captured.getvalue()
    assert PASSWORD not in log and "hunter2" not in log
    failures = [line for line in lines(captured) if line["message"] == "GraphQL operation failed"]
    assert [(line["level"], line["operation"], line["operation_hash"], line["request_id"], line["error"],
             line["path"]) for line in failures] == [
        ("error", "ConnectNextcloud", operation_hash(query), "req-" + operation_hash(query), "RuntimeError",
         ["connectCaldav"]) for query in (inline, WITH_VARIABLES)]
    assert "connection reset while checking the account of sam" in failures[0]["exception"]


async def test_a_request_without_an_id_gets_one_and_its_lines_carry_it(
        crashing_api: tuple[GraphQLClient, Shop], captured: io.StringIO) -> None:
    api, _ = crashing_api
    # when a malformed operation with a password in it arrives without a request id (or with an unusable one)
    for sent in ({}, {"X-Request-ID": "not a usable id\t" * 10}):
        response = await api.http.post("/graphql", json={"query": f'{{ nope(password: "{PASSWORD}") }}'},
                                       headers=sent)
        # then the answer has a new id, the refusal is logged under it, and the password is in neither
        assert len(response.headers["x-request-id"]) == 32
        (line,) = [line for line in lines(captured) if line.get("request_id") == response.headers["x-request-id"]]
        assert (line["level"], line["error"], line["operation"]) == ("warning", "GraphQLError", None)
    assert PASSWORD not in captured.getvalue()


def test_credentials_in_a_message_are_masked() -> None:
    assert masked("GET /oauth/google/callback?state=abc123&code=4/0Ab-x HTTP/1.1") == (
        "GET /oauth/google/callback?state=[masked]&code=[masked] HTTP/1.1")
    assert masked('{"access_token": "ya29.a0", "refresh_token": "1//0g"} Authorization: Bearer eyJ.x-y') == (
        '{"access_token": "[masked]", "refresh_token": "[masked]"} Authorization: [masked] [masked]')
    assert masked("confirmationCode=Zx_9&calendarConnection=confirm") == (
        "confirmationCode=[masked]&calendarConnection=confirm")


def test_secrets_in_query_strings_and_quoted_values_with_spaces_are_masked() -> None:
    # a GraphQL document sent by GET, percent-encoded, with a password typed inline
    sent = ("GET /graphql?query=mutation%7BsignIn(input%3A%7Bemail%3A%22a%40b.c%22%2Cpassword%3A%22hunter2%22%7D)"
            "%7D HTTP/1.1")
    assert "hunter2" not in masked(sent)
    assert masked("{'password': 'correct horse battery'}") == "{'password': '[masked]'}"
    assert masked("starts 2030-01-08T09:00:00+01:00") == "starts 2030-01-08T09:00:00+01:00"


def test_access_lines_name_the_path_without_its_query_string() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/graphql?query=%7Bviewer%7D", "1.1", 200), None)
    assert WithoutQueryStrings().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /graphql?[query] HTTP/1.1" 200'
