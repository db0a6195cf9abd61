"""Checks Calendly traffic against Calendly's own OpenAPI description of API v2 (tests/fakes/
calendly-openapi-subset.json: its 2023 spec pruned to the endpoints Lockstep needs): requests, answers, webhook
bodies, and the OAuth endpoints (which the description names but does not describe).

A request conforms when its method and path match an operation, every query parameter is one the operation declares
and conforms to its schema (names, enum values, `count` 1-100), required ones are there, an API request carries a
bearer token, and its JSON body validates against the operation's request schema. An answer conforms when its status
is one the operation lists, its body validates against that response's schema (a 204 has none) and, as every answer
of the API does, it carries X-RateLimit-Limit, -Remaining and -Reset.

Schemas are read as Calendly answers today: keys the 2023 spec does not name are allowed (its own examples already
fail its `required` lists), and formats are checked (date-time, email, and uri as an absolute http(s) URL). DRIFT
adds what changed since: the 403 text for a plan without webhooks, 429 (rate limits) and 500 on every operation, and
the `scheduled_event` a webhook's invitee embeds (an Event without `calendar_event`, its memberships carrying
`user_email`). An invitee.* delivery is checked as a WebhookPayload whose payload is an Invitee (the spec's
`oneOf` would only say that no branch fits). Explicit checks make what the subset cannot: listing scheduled events
or event types names a user or an organization, a user-scoped webhook names its user, min/max_start_time are UTC
instants, and a page's links embed its tokens.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from jsonschema import FormatChecker
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from tests.fakes.loopback import LoggedRequest
from tests.support.openapi_contract import Operations, json_schema, query_problems

DOCUMENT = Path(__file__).resolve().parents[1] / "fakes" / "calendly-openapi-subset.json"
PLAN_REFUSAL = "Please upgrade to a paid Calendly account."
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
SIGNATURE_HEADER = "Calendly-Webhook-Signature"
_SIGNATURE = re.compile(r"t=(\d+),v1=([a-f0-9]+)", re.ASCII)
_UTC_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z")
_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}
_STRING = {"type": "string"}
DRIFT: dict[str, Any] = {
    "schemas": {
        "x.EmbeddedEvent": "an Event as a webhook invitee embeds it (made in _load)",
        "x.InviteeDelivery": "a WebhookPayload of an invitee.* event: its payload an Invitee (made in _load)",
        "x.TokenResponse": {"type": "object", "required": [
            "token_type", "access_token", "refresh_token", "expires_in", "created_at", "scope", "owner",
            "organization"], "properties": {
            "token_type": {"type": "string", "enum": ["Bearer"]}, "access_token": _STRING, "refresh_token": _STRING,
            "expires_in": {"type": "integer", "minimum": 1}, "created_at": {"type": "integer"}, "scope": _STRING,
            "owner": {"type": "string", "format": "uri"}, "organization": {"type": "string", "format": "uri"}}},
        "x.TokenError": {"type": "object", "required": ["error", "error_description"],
                         "properties": {"error": _STRING, "error_description": _STRING}},
    },
    "responses": {"429": _ERROR, "500": {"$ref": "#/components/responses/UNKNOWN"}},
}


def _load() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DOCUMENT.read_text())
    schemas = loaded["components"]["schemas"]
    embedded = copy.deepcopy(schemas["Event"])
    embedded["required"] = [name for name in embedded["required"] if name != "calendar_event"]
    embedded["properties"]["event_memberships"]["items"]["properties"].update(
        user_email={"type": "string", "format": "email"}, user_name=_STRING)
    invitee_delivery = copy.deepcopy(schemas["WebhookPayload"])
    invitee_delivery["properties"]["payload"] = {"$ref": "#/components/schemas/Invitee"}
    schemas.update({**DRIFT["schemas"], "x.EmbeddedEvent": embedded, "x.InviteeDelivery": invitee_delivery})
    refused = loaded["paths"]["/webhook_subscriptions"]["post"]["responses"]["403"]
    refused["content"]["application/json"]["schema"]["properties"]["message"]["enum"].append(PLAN_REFUSAL)
    for methods in loaded["paths"].values():
        for method, operation in methods.items():
            if method != "parameters":
                for status, response in DRIFT["responses"].items():
                    operation["responses"].setdefault(status, response)
    return loaded


@cache
def document() -> dict[str, Any]:
    return _load()


@cache
def _operations() -> Operations:
    return Operations(document())


@cache
def _formats() -> FormatChecker:
    checker = FormatChecker(formats=())
    checker.checkers = dict(oas30_format_checker.checkers)

    @checker.checks("uri")
    def absolute_web_address(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parts = urlsplit(value)
        return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in value

    return checker


def schema_problems(value: Any, schema: Mapping[str, Any], where: str) -> list[str]:
    """Problems of a JSON value against a schema of the document, each naming the field path."""
    root = {"components": document()["components"], **schema}
    validator = OAS30Validator(root, format_checker=_formats())
    found = []
    for error in sorted(validator.iter_errors(value), key=lambda error: list(error.absolute_path)):
        path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path)
        found.append(f"{where}{path}: {error.message[:300]}")
    return found


def _named(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


# -- requests and answers of the API -----------------------------------------------------------------------------

def _explicit_query_problems(where: str, template: str, query: Mapping[str, str]) -> list[str]:
    problems = []
    if template in ("/scheduled_events", "/event_types") and not {"user", "organization"} & set(query):
        problems.append(f"{where}: names neither a user nor an organization")
    if template == "/webhook_subscriptions" and query.get("scope") == "user" and "user" not in query:
        problems.append(f"{where}: a user-scoped listing names no user")
    problems += [f"{where} query {name}: {query[name]!r} is not a UTC instant like 2020-01-02T03:04:05.678123Z"
                 for name in ("min_start_time", "max_start_time")
                 if name in query and not _UTC_INSTANT.fullmatch(query[name])]
    return problems


def request_problems(method: str, path: str, query: Iterable[tuple[str, str]], body: Any,
                     headers: Mapping[str, str]) -> list[str]:
    """A request to the API (path decoded, without the query)."""
    found = _operations().find(method, path)
    if found is None:
        return [f"{method} {path}: no such operation in the contract"]
    template, operation = found
    where = f"{method} {template}"
    pairs = list(query)
    problems = query_problems(where, _operations().query_parameters(operation), pairs, schema_problems)
    problems += _explicit_query_problems(where, template, dict(pairs))
    scheme, _, token = headers.get("Authorization", "").partition(" ")
    if scheme != "Bearer" or not token:
        problems.append(f"{where}: no bearer token")
    request_schema = json_schema(operation.get("requestBody", {}).get("content"))
    if body is not None:
        problems += (schema_problems(body, request_schema, f"{where} request") if request_schema
                     else [f"{where}: sends a body the operation does not take"])
        if template == "/webhook_subscriptions" and isinstance(body, dict) and body.get("scope") == "user" \
                and "user" not in body:
            problems.append(f"{where} request: a user-scoped subscription names no user")
    elif operation.get("requestBody", {}).get("required"):
        problems.append(f"{where}: the operation needs a JSON body")
    return problems


def answer_problems(method: str, path: str, status: int, body: Any) -> list[str]:
    """An answer of the API to a request of an operation of the contract (body parsed JSON, None when it had none)."""
    found = _operations().find(method, path)
    if found is None:
        return []
    template, operation = found
    at = f"{method} {template} answer ({status})"
    response = _operations().response(operation, status)
    if response is None:
        return [f"{at}: a status the operation does not list"]
    schema = json_schema(response.get("content"))
    if schema is None:
        return [f"{at}: has a body the operation does not return"] if body is not None else []
    if body is None:
        return [f"{at}: has no JSON body"]
    return schema_problems(body, schema, at) + _pagination_problems(body, at)


def _pagination_problems(body: Any, at: str) -> list[str]:
    """A page's links embed its tokens (`next_page` is the listing again with `page_token=<next_page_token>`)."""
    pagination = body.get("pagination") if isinstance(body, dict) else None
    if not isinstance(pagination, dict):
        return []
    problems = []
    for direction in ("next", "previous"):
        link, token = pagination.get(f"{direction}_page"), pagination.get(f"{direction}_page_token")
        if (link is None) != (token is None) or (
                isinstance(link, str) and ("page_token", token) not in parse_qsl(urlsplit(link).query)):
            problems.append(f"{at}.pagination: {direction}_page does not embed {direction}_page_token")
    return problems


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = {key.lower(): value for key, value in headers.items()}
    return lowered.get(name.lower())


def api_problems(entry: LoggedRequest, *, requests: bool = True) -> list[str]:
    """One logged exchange with the API: the request (unless not `requests`: a test sending a bad one on purpose),
    the answer and its rate-limit headers."""
    path = unquote(entry.path)
    problems = request_problems(entry.method, path, entry.query, entry.body, entry.headers) if requests else []
    problems += answer_problems(entry.method, path, entry.status, entry.response)
    missing = [name for name in RATE_LIMIT_HEADERS if _header(entry.response_headers, name) is None]
    if missing:
        problems.append(f"{entry.method} {path} answer ({entry.status}): lacks {', '.join(missing)}")
    return problems


# -- the OAuth endpoints --------------------------------------------------------------------------------------------

def _client_named(entry: LoggedRequest, form: Mapping[str, Any]) -> bool:
    """A web client authenticates with HTTP Basic; a native one names itself in the form."""
    scheme, _, credentials = (_header(entry.headers, "Authorization") or "").partition(" ")
    if scheme.lower() == "basic":
        try:
            return ":" in base64.b64decode(credentials).decode()
        except ValueError:
            return False
    return bool(form.get("client_id"))


def oauth_problems(entry: LoggedRequest, *, requests: bool = True) -> list[str]:
    """The authorize, token and revocation endpoints: what each request needs, and the token endpoint's answer."""
    endpoint = entry.path.rsplit("/", 1)[-1]
    if endpoint == "authorize":
        query = dict(entry.query)
        needed = [f"authorize: {name} missing" for name in ("client_id", "response_type", "redirect_uri")
                  if not query.get(name)]
        if query.get("code_challenge") and query.get("code_challenge_method") != "S256":
            needed.append("authorize: a code challenge that is not S256")
        return needed if requests else []
    form = entry.body if isinstance(entry.body, dict) else {}
    problems = []
    if requests:
        if not _client_named(entry, form):
            problems.append(f"{endpoint} request: the client is not named")
        if endpoint == "revoke":
            problems += [] if form.get("token") else ["revoke request: token missing"]
        else:
            fields = {"authorization_code": ("code", "redirect_uri"),
                      "refresh_token": ("refresh_token",)}.get(str(form.get("grant_type", "")))
            problems += [f"token request: unknown grant_type {form.get('grant_type')!r}"] if fields is None else [
                f"token request: {name} missing" for name in fields if not form.get(name)]
    if endpoint == "token":
        schema = "x.TokenResponse" if entry.status == 200 else "x.TokenError"
        problems += schema_problems(entry.response, _named(schema), f"token answer ({entry.status})")
    elif entry.status != 200:
        problems += schema_problems(entry.response, _named("x.TokenError"), f"revoke answer ({entry.status})")
    return problems


def exchange_problems(entry: LoggedRequest, *, requests: bool = True) -> list[str]:
    """Everything about one logged exchange with the fake (API or OAuth) that the contract does not allow."""
    if entry.path.startswith("/oauth/"):
        return oauth_problems(entry, requests=requests)
    return api_problems(entry, requests=requests)


# -- webhook deliveries ---------------------------------------------------------------------------------------------

def webhook_problems(body: bytes, headers: Mapping[str, str]) -> list[str]:
    """One webhook POST as sent: JSON, a signature header of Calendly's form, and a WebhookPayload whose invitee
    embeds its scheduled event."""
    where = "webhook POST"
    problems = []
    if (_header(headers, "Content-Type") or "").split(";")[0].strip() != "application/json":
        problems.append(f"{where}: Content-Type is not application/json")
    if not _SIGNATURE.fullmatch(_header(headers, SIGNATURE_HEADER) or ""):
        problems.append(f"{where}: no {SIGNATURE_HEADER} of the form t=<seconds>,v1=<hex>")
    try:
        envelope = json.loads(body)
    except ValueError:
        return [*problems, f"{where}: the body is not JSON"]
    of_invitee = isinstance(envelope, dict) and str(envelope.get("event", "")).startswith("invitee.")
    problems += schema_problems(envelope, _named("x.InviteeDelivery" if of_invitee else "WebhookPayload"), where)
    payload = envelope.get("payload") if of_invitee else None
    if isinstance(payload, dict):
        event = payload.get("scheduled_event")
        if event is None:
            problems.append(f"{where}.payload: scheduled_event missing")
        else:
            problems += schema_problems(event, _named("x.EmbeddedEvent"), f"{where}.payload.scheduled_event")
            if isinstance(event, dict) and event.get("uri") != payload.get("event"):
                problems.append(f"{where}.payload: event is not scheduled_event.uri")
    return problems
