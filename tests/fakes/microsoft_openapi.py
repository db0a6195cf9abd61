"""The Graph calendar OpenAPI subset beside this file (derived from Microsoft's own metadata), loaded for checking
traffic strictly (tests/support/graph_contract.py checks with it).

Strict where the subset is loose: schemas have their `allOf` flattened and refuse undeclared properties (OData
annotations `...@odata.*` aside, and open types such as resourceData), and the subset's "a type, or any object, or
null" alternatives are read as "the type, or null". Operations Graph has that the subset leaves out, and that the fake
serves, are added from SUPPLEMENT.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30Validator

DOCUMENT = Path(__file__).with_name("graph-calendar-openapi-subset.json")
_ANNOTATION = "@odata\\."
# event is an OData open type too, but Graph's events carry only declared properties: refusing others catches typos
OPEN_TYPES = {"microsoft.graph.resourceData"}
_ERROR = {"$ref": "#/components/responses/error"}
_PAGE_PARAMETERS = [{"$ref": "#/components/parameters/top"}, {"name": "$skip", "in": "query",
                                                                "schema": {"type": "integer", "minimum": 0}}]
SUPPLEMENT: dict[str, Any] = {
    "schemas": {"x.user": {"type": "object", "properties": {
        "@odata.context": {"type": "string"}, "id": {"type": "string"}, "displayName": {"type": "string"},
        "givenName": {"type": "string", "nullable": True}, "surname": {"type": "string", "nullable": True},
        "mail": {"type": "string", "nullable": True}, "userPrincipalName": {"type": "string"},
        "businessPhones": {"type": "array", "items": {"type": "string"}},
        "jobTitle": {"type": "string", "nullable": True}, "mobilePhone": {"type": "string", "nullable": True},
        "officeLocation": {"type": "string", "nullable": True},
        "preferredLanguage": {"type": "string", "nullable": True}}}},
    "paths": {
        # GET /me (user-get), the signed-in user
        "/me": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/x.user"}}}}, "default": _ERROR}}},
        # POST /me/outlook/masterCategories (outlookuser-post-mastercategories): 201, 409 on a taken name
        "/me/outlook/masterCategories": {"post": {
            "requestBody": {"content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/microsoft.graph.outlookCategory"}}}},
            "responses": {"201": {"content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/microsoft.graph.outlookCategory"}}}}, "default": _ERROR}}},
    },
    # GET /me/calendars/{id}/events (calendar-list-events) takes what GET /me/events takes
    "same_as": {("/me/calendars/{calendar-id}/events", "get"): ("/me/events", "get")},
    # the $skip of Graph's nextLinks on the listings whose subset entry lacks it
    "parameters": {("/me/calendars", "get"): _PAGE_PARAMETERS,
                   ("/me/events/{event-id}/instances", "get"): _PAGE_PARAMETERS},
}


def _resolve(document: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def _strict(document: dict[str, Any], schema: Any, open_type: bool = False) -> Any:
    """A schema with allOf flattened, undeclared properties refused (unless `open_type`) and "any object"
    alternatives dropped."""
    if isinstance(schema, list):
        return [_strict(document, item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "allOf" in schema:
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for part in schema["allOf"]:
            flat = _strict(document, copy.deepcopy(dict(_resolve(document, part))))
            merged["properties"].update(flat.get("properties", {}))
            merged["required"] += flat.get("required", [])
        schema = {**{key: value for key, value in schema.items() if key != "allOf"}, **merged}
        if not schema["required"]:
            del schema["required"]
    if "anyOf" in schema:
        kept = [branch for branch in schema["anyOf"] if branch != {"type": "object", "nullable": True}]
        if len(kept) < len(schema["anyOf"]):
            kept.append({"enum": [None]})
        schema["anyOf"] = kept
    schema = {key: _strict(document, value) if key in ("items", "anyOf") else value for key, value in schema.items()}
    if "properties" in schema:
        schema["properties"] = {name: _strict(document, value) for name, value in schema["properties"].items()}
        if not open_type and "additionalProperties" not in schema:
            schema.update(additionalProperties=False, patternProperties={_ANNOTATION: {}})
    return schema


@cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DOCUMENT.read_text())
    loaded["components"]["schemas"].update(SUPPLEMENT["schemas"])
    for path, methods in SUPPLEMENT["paths"].items():
        loaded["paths"].setdefault(path, {}).update(methods)
    for (path, method), (source, source_method) in SUPPLEMENT["same_as"].items():
        loaded["paths"][path][method] = loaded["paths"][source][source_method]
    for (path, method), parameters in SUPPLEMENT["parameters"].items():
        operation = loaded["paths"][path][method]
        operation["parameters"] = [*operation.get("parameters", []), *parameters]
    loaded["components"]["schemas"] = {name: _strict(loaded, schema, name in OPEN_TYPES)
                                       for name, schema in loaded["components"]["schemas"].items()}
    return loaded


def schema_problems(value: Any, schema: Mapping[str, Any], where: str) -> list[str]:
    """Problems of a JSON value against a (strict) schema of the document, each naming the field path."""
    root = {"components": document()["components"], **_strict(document(), copy.deepcopy(dict(schema)))}
    found = []
    for error in sorted(OAS30Validator(root).iter_errors(value), key=lambda error: list(error.absolute_path)):
        path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path)
        found.append(f"{where}{path}: {error.message[:300]}")
    return found
