"""What the checkers of provider traffic against an OpenAPI description share (tests/support/graph_contract.py for
Microsoft Graph, tests/support/calendly_contract.py for Calendly): finding the operation a request is, the parameters
it declares, the response it documents for a status, and whether a query string conforms.

Terms:
- *operation*: one method on one path template of the document (`/scheduled_events/{uuid}`); a `{x}` segment
  matches any one segment, and a template with fewer of them wins (so `/users/me` is not `/users/{uuid}`). A Graph
  operation may name other forms of its template (`x-ms-aliases`), matched alike.
- *schema problems*: how a checker validates a value against a schema of its document, each problem a line naming
  the place (`where`) and the field path; the two documents are read differently (Graph's strictly), so each checker
  brings its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

SchemaProblems = Callable[[Any, Mapping[str, Any], str], list[str]]
_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


class Operations:
    """The operations of one OpenAPI document whose paths are served under `prefix` (Graph's "/v1.0")."""

    def __init__(self, document: Mapping[str, Any], prefix: str = "") -> None:
        self.document, self.prefix = document, prefix
        found = []
        for template, methods in document["paths"].items():
            for method, operation in methods.items():
                if method not in _METHODS:
                    continue
                for form in (template, *operation.get("x-ms-aliases", [])):
                    pattern = re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(form)))
                    found.append((pattern, method.upper(), template, operation))
        self._found = tuple(sorted(found, key=lambda entry: entry[2].count("{")))  # literal segments win

    def find(self, method: str, path: str) -> tuple[str, Mapping[str, Any]] | None:
        """(path template, operation) of a decoded request path under the prefix."""
        relative = path.removeprefix(self.prefix)
        for pattern, http_method, template, operation in self._found:
            if http_method == method and pattern.fullmatch(relative):
                return template, operation
        return None

    def _resolved(self, parameter: Mapping[str, Any]) -> Mapping[str, Any]:
        if "$ref" in parameter:
            return self.document["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[-1]]
        return parameter

    def query_parameters(self, operation: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
        """The query parameters an operation declares, by name."""
        declared = (self._resolved(parameter) for parameter in operation.get("parameters", []))
        return {parameter["name"]: parameter for parameter in declared if parameter["in"] == "query"}

    def response(self, operation: Mapping[str, Any], status: int) -> Mapping[str, Any] | None:
        """The response an operation documents for `status` (else its `default`), or None."""
        responses = operation.get("responses", {})
        found = responses.get(str(status)) or responses.get("default")
        if found and "$ref" in found:
            found = self.document["components"]["responses"][found["$ref"].rsplit("/", 1)[-1]]
        return found


def json_schema(content: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The schema of a request body's or response's `application/json` content, or None when it has none."""
    return ((content or {}).get("application/json") or {}).get("schema")


def _typed(value: str, schema: Mapping[str, Any]) -> Any:
    """A query value as the JSON value its schema describes (a list, a number, a boolean), else the text."""
    kind = schema.get("type")
    if kind == "array":
        return value.split(",")
    if kind == "integer":
        return int(value) if re.fullmatch(r"-?\d+", value) else value
    if kind == "number" and re.fullmatch(r"-?\d+(\.\d+)?", value):
        return float(value) if "." in value else int(value)
    if kind == "boolean":
        return {"true": True, "false": False}.get(value, value)
    return value


def query_problems(where: str, declared: Mapping[str, Mapping[str, Any]], query: Iterable[tuple[str, str]],
                   schema_problems: SchemaProblems) -> list[str]:
    """Every query parameter is `declared` and conforms to its schema, and the required ones are there."""
    problems, seen = [], set()
    for name, value in query:
        spec = declared.get(name)
        if spec is None:
            problems.append(f"{where}: query parameter {name!r} is not declared")
            continue
        seen.add(name)
        schema = spec.get("schema", {})
        problems += schema_problems(_typed(value, schema), schema, f"{where} query {name}")
    problems += [f"{where}: required query parameter {name!r} missing" for name, spec in declared.items()
                 if spec.get("required") and name not in seen]
    return problems
