"""Checks HTTP traffic against Google's discovery document for Calendar API v3 (tests/fakes/
google-calendar-v3.discovery.json, Google's own machine-readable description of the API).

A request conforms when its method and path match a method of the document (path template and HTTP method), each
query parameter is one that method or the API as a whole declares, with the declared type (and enum value, and only
repeated when the parameter is `repeated`), and every field of its JSON body exists in the request schema with the
declared JSON type, recursively ($ref resolved, `additionalProperties` maps included). A response conforms when
every field of its body exists likewise in the method's response schema (error bodies are Google's error shape).

Types follow the discovery format: `integer` is a JSON number without fraction, `string` with format int64 is a
string of digits, date-time is RFC3339, date is yyyy-mm-dd, `any` is anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from tests.fakes.google import LoggedRequest

DOCUMENT = Path(__file__).resolve().parents[1] / "fakes" / "google-calendar-v3.discovery.json"
API_PREFIX = "/calendar/v3/"
_ERROR_KEYS = {"code", "message", "errors", "status", "details"}
_ERROR_ITEM_KEYS = {"domain", "reason", "message", "locationType", "location", "extendedHelp", "sendReport"}


@dataclass(frozen=True)
class Method:
    method_id: str
    http_method: str
    path: re.Pattern[str]
    spec: Mapping[str, Any]


@cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DOCUMENT.read_text())
    return loaded


@cache
def methods() -> tuple[Method, ...]:
    found: list[Method] = []

    def walk(resources: Mapping[str, Any]) -> None:
        for resource in resources.values():
            for spec in resource.get("methods", {}).values():
                pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(spec["path"]))
                found.append(Method(spec["id"], spec["httpMethod"], re.compile(pattern), spec))
            walk(resource.get("resources", {}))

    walk(document()["resources"])
    # Literal segments first, so "events/watch" is not taken for "events/{eventId}".
    return tuple(sorted(found, key=lambda method: method.spec["path"].count("{")))


def method_for(http_method: str, path: str) -> Method | None:
    """The documented method for a request path under API_PREFIX (None when there is none)."""
    relative = path.removeprefix(API_PREFIX)
    for method in methods():
        if method.http_method == http_method and method.path.fullmatch(relative):
            return method
    return None


def _type_problem(value: str, spec: Mapping[str, Any]) -> str | None:
    kind = spec.get("type", "string")
    if kind == "boolean" and value not in ("true", "false"):
        return "is not a boolean"
    if kind == "integer":
        if not re.fullmatch(r"-?\d+", value):
            return "is not an integer"
        if "minimum" in spec and int(value) < int(spec["minimum"]):
            return f"is below the minimum {spec['minimum']}"
        if "maximum" in spec and int(value) > int(spec["maximum"]):
            return f"is above the maximum {spec['maximum']}"
    if "enum" in spec and value not in spec["enum"]:
        return f"is not one of {spec['enum']}"
    if spec.get("format") == "date-time" and _not_rfc3339(value):
        return "is not an RFC3339 date-time"
    return None


def _not_rfc3339(value: str) -> bool:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is None
    except ValueError:
        return True


def query_problems(method: Method, query: Iterable[tuple[str, str]]) -> list[str]:
    declared = {**document()["parameters"], **method.spec.get("parameters", {})}
    problems: list[str] = []
    seen: set[str] = set()
    for name, value in query:
        spec = declared.get(name)
        if spec is None or spec.get("location") != "query":
            problems.append(f"{method.method_id}: query parameter {name!r} is not declared")
            continue
        if name in seen and not spec.get("repeated"):
            problems.append(f"{method.method_id}: query parameter {name!r} repeated")
        seen.add(name)
        problem = _type_problem(value, spec)
        if problem:
            problems.append(f"{method.method_id}: query parameter {name}={value!r} {problem}")
    return problems


def _resolve(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        schema = document()["schemas"][schema["$ref"]]
    return schema


def value_problems(value: Any, schema: Mapping[str, Any], where: str) -> list[str]:
    """Problems of a JSON value against a discovery schema, each naming the field path."""
    schema = _resolve(schema)
    kind = schema.get("type")
    if kind == "any" or (kind is None and "properties" not in schema):
        return []
    if kind == "object" or "properties" in schema:
        if not isinstance(value, dict):
            return [f"{where} should be an object"]
        problems: list[str] = []
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key in properties:
                problems += value_problems(item, properties[key], f"{where}.{key}")
            elif "additionalProperties" in schema:
                problems += value_problems(item, schema["additionalProperties"], f"{where}.{key}")
            else:
                problems.append(f"{where}.{key} is not a field of {schema.get('id', 'this object')}")
        return problems
    if kind == "array":
        if not isinstance(value, list):
            return [f"{where} should be an array"]
        return [problem for index, item in enumerate(value)
                for problem in value_problems(item, schema["items"], f"{where}[{index}]")]
    return _scalar_problems(value, schema, where)


def _scalar_problems(value: Any, schema: Mapping[str, Any], where: str) -> list[str]:
    kind, form = schema.get("type"), schema.get("format")
    if kind == "boolean" and not isinstance(value, bool):
        return [f"{where} should be a boolean"]
    if kind == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        return [f"{where} should be an integer"]
    if kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
        return [f"{where} should be a number"]
    if kind == "string":
        if not isinstance(value, str):
            return [f"{where} should be a string"]
        if form in ("int64", "uint64") and not re.fullmatch(r"-?\d+", value):
            return [f"{where} should be a string of digits (int64)"]
        if form == "date-time" and _not_rfc3339(value):
            return [f"{where} should be an RFC3339 date-time"]
        if form == "date":
            try:
                date.fromisoformat(value)
            except ValueError:
                return [f"{where} should be a yyyy-mm-dd date"]
        if "enum" in schema and value not in schema["enum"]:
            return [f"{where} should be one of {schema['enum']}"]
    return []


def error_problems(body: Any, where: str) -> list[str]:
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        return [f"{where} is not Google's error shape"]
    problems = [f"{where}.error.{key} is not part of Google's error shape" for key in body["error"]
                if key not in _ERROR_KEYS]
    for index, item in enumerate(body["error"].get("errors", [])):
        problems += [f"{where}.error.errors[{index}].{key} is not part of Google's error shape"
                     for key in item if key not in _ERROR_ITEM_KEYS]
    return problems


def request_problems(entry: LoggedRequest) -> list[str]:
    """Everything about one logged exchange with the Calendar API that the discovery document does not allow."""
    path = unquote(entry.path)
    if not path.startswith(API_PREFIX):
        return []
    method = method_for(entry.method, path)
    if method is None:
        return [f"{entry.method} {path}: no such method in the discovery document"]
    problems = query_problems(method, entry.query)
    request_schema = method.spec.get("request")
    if entry.body is not None:
        if request_schema is None:
            problems.append(f"{method.method_id}: sends a body the method does not take")
        else:
            problems += value_problems(entry.body, request_schema, f"{method.method_id} request")
    where = f"{method.method_id} response ({entry.status})"
    if entry.status >= 400:
        problems += error_problems(entry.response, where)
    elif entry.response is not None:
        response_schema = method.spec.get("response")
        if response_schema is None:
            problems.append(f"{where}: has a body the method does not return")
        else:
            problems += value_problems(entry.response, response_schema, where)
    return problems


def log_problems(log: Iterable[LoggedRequest]) -> list[str]:
    return [problem for entry in log for problem in request_problems(entry)]
