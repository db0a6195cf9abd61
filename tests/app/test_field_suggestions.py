"""With introspection off, errors give no "Did you mean ...?" hints: they would reveal the schema a guess at a time."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from tests.support.graphql import GraphQLClient

MISSPELLED_FIELD = "{ viewr { name } }"
MISSPELLED_ARGUMENT = '{ conflicts(staffId: "1", statu: OPEN) { __typename } }'
MISSPELLED_ENUM_LITERAL = '{ conflicts(staffId: "1", status: OPN) { __typename } }'
MISSPELLED_ENUM_VARIABLE = "query($f: BookingFilter) { bookings(filter: $f) { __typename } }"


async def _client(introspection: bool) -> AsyncIterator[GraphQLClient]:
    settings = dataclasses.replace(Settings.from_env(), introspection=introspection)
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://lockstep.test") as http:
        yield GraphQLClient(http)


@pytest.fixture
async def private_api() -> AsyncIterator[GraphQLClient]:
    async for client in _client(introspection=False):
        yield client


@pytest.fixture
async def open_api() -> AsyncIterator[GraphQLClient]:
    async for client in _client(introspection=True):
        yield client


async def _messages(api: GraphQLClient, query: str, variables: dict[str, object] | None = None) -> list[str]:
    body = await api.raw(query, variables)
    assert body.get("data") is None
    return [error["message"] for error in body["errors"]]


async def test_without_introspection_errors_carry_no_suggestion(private_api: GraphQLClient) -> None:
    assert await _messages(private_api, MISSPELLED_FIELD) == ["Cannot query field 'viewr' on type 'Query'."]
    assert await _messages(private_api, MISSPELLED_ARGUMENT) == [
        "Unknown argument 'statu' on field 'Query.conflicts'."]
    assert await _messages(private_api, MISSPELLED_ENUM_LITERAL) == [
        "Value 'OPN' does not exist in 'ConflictStatus' enum."]
    assert await _messages(private_api, MISSPELLED_ENUM_VARIABLE, {"f": {"status": "CONFIRMD"}}) == [
        "Variable '$f' has invalid value at .status: Value 'CONFIRMD' does not exist in 'BookingStatus' enum."]


async def test_with_introspection_errors_still_suggest(open_api: GraphQLClient) -> None:
    assert await _messages(open_api, MISSPELLED_FIELD) == [
        "Cannot query field 'viewr' on type 'Query'. Did you mean 'viewer'?"]
    assert await _messages(open_api, MISSPELLED_ARGUMENT) == [
        "Unknown argument 'statu' on field 'Query.conflicts'. Did you mean 'status'?"]
    assert await _messages(open_api, MISSPELLED_ENUM_VARIABLE, {"f": {"status": "CONFIRMD"}}) == [
        "Variable '$f' has invalid value at .status: Value 'CONFIRMD' does not exist in 'BookingStatus' enum."
        " Did you mean the enum value 'CONFIRMED'?"]


async def test_without_introspection_other_limits_still_apply(private_api: GraphQLClient) -> None:
    assert await _messages(private_api, "{ __schema { description } }") == [
        "GraphQL introspection has been disabled, but the requested query contained the field '__schema'."]
