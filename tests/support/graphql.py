"""Driving the real ASGI app with GraphQL documents, and building a business through the API itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import httpx
from starlette.applications import Starlette


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def raw(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post("/graphql", json={"query": query, "variables": variables or {}},
                                        headers=headers)
        return response.json()

    async def __call__(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> Any:
        """The `data` of a response that must not carry GraphQL errors."""
        body = await self.raw(query, variables, token)
        assert "errors" not in body, body["errors"]
        return body["data"]


SIGN_UP = """
mutation($input: SignUpInput!) { signUp(input: $input) {
  __typename
  ... on AuthPayload { accessToken refreshToken user { id email role } }
  ... on ValidationError { message path }
} }"""


@dataclass
class Shop:
    """A business set up through the API: owner token, business, one staff member and one service."""

    owner_token: str
    business_id: str
    staff_id: str
    staff_invite: str
    service_id: str


async def sign_up(api: GraphQLClient, email: str, role: str = "CUSTOMER", name: str = "Pat Doe") -> dict[str, Any]:
    data = await api(SIGN_UP, {"input": {"email": email, "password": "correct horse battery", "name": name,
                                         "role": role}})
    assert data["signUp"]["__typename"] == "AuthPayload", data
    return data["signUp"]  # type: ignore[no-any-return]


async def given_shop(
    api: GraphQLClient,
    *,
    zone: str = "Europe/Berlin",
    hours: list[dict[str, Any]] | None = None,
    duration: int = 60,
    step: int = 30,
    buffer_before: int = 0,
    buffer_after: int = 0,
    notice: int = 0,
    horizon: int = 60,
    owner_email: str = "owner@example.com",
) -> Shop:
    owner = await sign_up(api, owner_email, "OWNER", "Olga Owner")
    token = owner["accessToken"]
    business = await api("""mutation($input: CreateBusinessInput!) { createBusiness(input: $input) {
        ... on Business { id } } }""", {"input": {"name": "Fix-It", "timeZone": zone}}, token)
    business_id = business["createBusiness"]["id"]
    staff = await api("""mutation($input: CreateStaffInput!) { createStaff(input: $input) {
        ... on CreateStaffPayload { staff { id } inviteCode } } }""",
                      {"input": {"businessId": business_id, "name": "Sam Tech", "email": "sam@example.com",
                                 "timeZone": zone}}, token)
    staff_id = staff["createStaff"]["staff"]["id"]
    week = hours if hours is not None else [
        {"weekday": day, "ranges": [{"start": "09:00", "end": "17:00"}]}
        for day in ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")]
    result = await api("""mutation($input: SetWorkingHoursInput!) { setWorkingHours(input: $input) {
        __typename } }""", {"input": {"staffId": staff_id, "days": week}}, token)
    assert result["setWorkingHours"]["__typename"] == "StaffMember", result
    service = await api("""mutation($input: CreateServiceInput!) { createService(input: $input) {
        __typename ... on Service { id } } }""", {"input": {
        "businessId": business_id, "name": "Boiler check", "durationMinutes": duration, "slotStepMinutes": step,
        "bufferBeforeMinutes": buffer_before, "bufferAfterMinutes": buffer_after, "minimumNoticeMinutes": notice,
        "bookingHorizonDays": horizon, "staffIds": [staff_id]}}, token)
    return Shop(token, business_id, staff_id, staff["createStaff"]["inviteCode"], service["createService"]["id"])


CREATE_BOOKING = """
mutation($input: CreateBookingInput!) { createBooking(input: $input) {
  __typename
  ... on BookingPayload { booking { id startsAt endsAt status customerName merchantNotes }
                          occurrences { id startsAt } }
  ... on SlotUnavailable { message unavailableStarts }
  ... on ValidationError { message path }
  ... on NotAuthorized { message }
  ... on NotFound { message path }
} }"""


@asynccontextmanager
async def api_with(**settings: Any) -> AsyncIterator[tuple[GraphQLClient, Starlette]]:
    """A client of a real ASGI app built with the environment's settings changed by `settings`, and that app."""
    from app.main import create_app
    from app.settings import Settings

    app = create_app(replace(Settings.from_env(), **settings))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lockstep.test") as http:
        yield GraphQLClient(http), app
