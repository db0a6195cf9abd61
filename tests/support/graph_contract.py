"""Checks Microsoft Graph traffic against the Graph calendar OpenAPI subset (tests/fakes/
graph-calendar-openapi-subset.json, derived from Microsoft's own metadata), and the identity platform's token traffic
against the subset's token schemas.

A request conforms when its method and path match an operation (path templates with `{x}` parameters, and the
`x-ms-aliases` forms), every query parameter is one the operation declares (with the declared type; `$select` and
the like are comma-separated lists), required ones are there, and its JSON body validates against the operation's
request schema. An answer conforms when its status is one the operation lists (else `default`) and its body
validates against that response's schema (errors against odata.error); a 204 has no body. Outgoing POSTs of the fake
(validation requests, change and lifecycle notifications) are checked against the subscription's callbacks, and so
are the receiver's answers (200 text/plain echo of the decoded token within 10 s; 2xx within 3 s).

Schemas are read strictly (tests/fakes/microsoft_openapi.py says how, and which operations the subset lacks). Delta
pages get the explicit checks the subset's `anyOf` cannot make: a removal is exactly the `@removed` stub, an
occurrence is bare, and a page has exactly one of `@odata.nextLink` and `@odata.deltaLink`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx

from tests.fakes.microsoft import FakeMicrosoft, LoggedRequest
from tests.fakes.microsoft_oauth import DEFAULT_SCOPE
from tests.fakes.microsoft_openapi import document, schema_problems
from tests.fakes.microsoft_subscriptions import Delivery
from tests.support.openapi_contract import Operations, json_schema, query_problems as shared_query_problems

API_PREFIX = "/v1.0"


@cache
def _graph() -> Operations:
    return Operations(document(), API_PREFIX)


def operation_for(method: str, path: str) -> tuple[str, Mapping[str, Any]] | None:
    """(path template, operation) of a decoded request path under /v1.0."""
    return _graph().find(method, path)


def query_problems(where: str, operation: Mapping[str, Any], query: Iterable[tuple[str, str]]) -> list[str]:
    return shared_query_problems(where, _graph().query_parameters(operation), query, schema_problems)


_WALL_CLOCK = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?")
_BARE_KEYS = {"@odata.type", "@odata.etag", "id", "seriesMasterId", "type", "start", "end"}


def wall_clock_problems(value: Any, where: str) -> list[str]:
    """dateTimeTimeZone values carry a wall-clock time without offset (Graph writes seven fractional digits)."""
    if isinstance(value, list):
        return [problem for index, item in enumerate(value)
                for problem in wall_clock_problems(item, f"{where}[{index}]")]
    if not isinstance(value, dict):
        return []
    problems = []
    for key, item in value.items():
        if key in ("start", "end") and isinstance(item, dict) and "dateTime" in item:
            if not isinstance(item["dateTime"], str) or not _WALL_CLOCK.fullmatch(item["dateTime"]):
                problems.append(f"{where}.{key}.dateTime is not a wall-clock time without offset")
        elif isinstance(item, dict | list):
            problems += wall_clock_problems(item, f"{where}.{key}")
    return problems


def delta_page_problems(body: Any, where: str) -> list[str]:
    if not isinstance(body, dict):
        return []
    problems = [] if ("@odata.nextLink" in body) != ("@odata.deltaLink" in body) else [
        f"{where}: a delta page needs exactly one of @odata.nextLink and @odata.deltaLink"]
    for index, item in enumerate(body.get("value") or []):
        at = f"{where}.value[{index}]"
        if isinstance(item, dict) and "@removed" in item:
            if set(item) - {"@odata.type", "id", "@removed"} or not isinstance(item.get("id"), str) \
                    or item["@removed"] not in ({"reason": "deleted"}, {"reason": "changed"}):
                problems.append(f"{at}: a removal is exactly {{@odata.type, id, @removed: {{reason}}}}")
        elif isinstance(item, dict) and item.get("type") == "occurrence" and set(item) != _BARE_KEYS:
            problems.append(f"{at}: a delta occurrence carries exactly {sorted(_BARE_KEYS)}")
    return problems


def graph_problems(entry: LoggedRequest) -> list[str]:
    """Everything about one logged exchange with Graph that the contract does not allow."""
    path = unquote(entry.path)
    found = operation_for(entry.method, path)
    if found is None:
        return [f"{entry.method} {path}: no such operation in the contract"]
    template, operation = found
    where = f"{entry.method} {template}"
    problems = query_problems(where, operation, entry.query)
    request_schema = json_schema(operation.get("requestBody", {}).get("content"))
    if entry.body is not None:
        problems += (schema_problems(entry.body, request_schema, f"{where} request") if request_schema
                     else [f"{where}: sends a body the operation does not take"])
        problems += wall_clock_problems(entry.body, f"{where} request")
    elif operation.get("requestBody", {}).get("required"):
        problems.append(f"{where}: the operation needs a JSON body")
    response = _graph().response(operation, entry.status)
    at = f"{where} answer ({entry.status})"
    if response is None:
        return [*problems, f"{at}: a status the operation does not list"]
    schema = json_schema(response.get("content"))
    if schema is None:
        return problems + ([f"{at}: has a body the operation does not return"] if entry.response is not None else [])
    if entry.response is None:
        return [*problems, f"{at}: has no JSON body"]
    problems += schema_problems(entry.response, schema, at) + wall_clock_problems(entry.response, at)
    if template.endswith("/delta") and entry.status == 200:
        problems += delta_page_problems(entry.response, at)
    return problems


def token_problems(entry: LoggedRequest) -> list[str]:
    """The token endpoint: the form a grant needs, and Microsoft's answer or error shape."""
    form = entry.body if isinstance(entry.body, dict) else {}
    needed = {"authorization_code": ("client_id", "code", "redirect_uri", "code_verifier"),
              "refresh_token": ("client_id", "refresh_token")}.get(form.get("grant_type", ""))
    problems = [f"token request: unknown grant_type {form.get('grant_type')!r}"] if needed is None else [
        f"token request: {name} missing" for name in needed if not form.get(name)]
    schema = "x.tokenResponse" if entry.status == 200 else "x.tokenErrorResponse"
    problems += schema_problems(entry.response, {"$ref": f"#/components/schemas/{schema}"},
                                f"token answer ({entry.status})")
    return problems


def _callback(name: str) -> Mapping[str, Any]:
    callbacks = document()["paths"]["/subscriptions"]["post"]["callbacks"][name]
    return next(iter(callbacks.values()))["post"]


def delivery_problems(delivery: Delivery) -> list[str]:
    """A POST the fake sent to a subscriber, and the subscriber's answer."""
    where = f"{delivery.kind} POST"
    if delivery.kind == "validation":
        query = dict(parse_qsl(urlsplit(delivery.url).query))
        problems = [] if query.get("validationToken") == delivery.token else [f"{where}: validationToken not sent"]
        if not delivery.content_type.startswith("text/plain"):
            problems.append(f"{where}: Content-Type is not text/plain")
        if delivery.status != 200 or delivery.answer_type.split(";")[0].strip() != "text/plain" \
                or delivery.answer != delivery.token or delivery.seconds > 10:
            problems.append(f"{where}: the receiver did not answer 200 text/plain with the decoded token in 10 s "
                            f"(answered {delivery.status})")
        return problems
    name = "lifecycleNotification" if delivery.kind == "lifecycle" else "changeNotification"
    schema = json_schema(_callback(name)["requestBody"]["content"])
    assert schema is not None
    problems = schema_problems(delivery.body, schema, where)
    wanted = "lifecycleEvent" if delivery.kind == "lifecycle" else "changeType"
    problems += [f"{where}.value[{index}]: {wanted} missing"
                 for index, item in enumerate(delivery.body.get("value", [])) if wanted not in item]
    if not 200 <= delivery.status < 300 or delivery.seconds > 3:
        problems.append(f"{where}: the receiver did not answer 2xx within 3 s (answered {delivery.status})")
    return problems


def check_graph_traffic(log: Iterable[LoggedRequest | Delivery]) -> list[str]:
    """Problems found in logged exchanges and deliveries (empty: all conform)."""
    problems: list[str] = []
    for entry in log:
        if isinstance(entry, Delivery):
            problems += delivery_problems(entry)
        elif entry.path.startswith(API_PREFIX + "/"):
            problems += graph_problems(entry)
        elif entry.path.endswith("/oauth2/v2.0/token"):
            problems += token_problems(entry)
    return problems


@asynccontextmanager
async def conforming_microsoft(**options: Any) -> AsyncIterator[FakeMicrosoft]:
    """The fake, failing the test at the end when anything it received, answered or sent breaks the contract."""
    async with FakeMicrosoft(**options) as microsoft:
        yield microsoft
        await microsoft.notifications_sent()
        problems = check_graph_traffic([*microsoft.log, *microsoft.subscriptions.deliveries])
    assert problems == [], "\n".join(problems)


@asynccontextmanager
async def graph_client(microsoft: FakeMicrosoft, account: str | None = None,
                       scope: str = DEFAULT_SCOPE) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the fake's Graph root holding a fresh access token of `account`."""
    token = microsoft.oauth.issue_tokens(account, scope)["access_token"]
    async with httpx.AsyncClient(base_url=microsoft.api_url, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client
