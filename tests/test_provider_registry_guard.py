"""Only the provider registry knows providers (DESIGN.md): every Provider value has a registry entry, and no code
outside providers/ and models/ branches on a provider by naming it.

What counts as branching on a provider (`Provider.GOOGLE` or one of its fellows, or the string "google" standing
for it in a comparison): a comparison (`==`, `!=`, `in`, `is`), a set, list or tuple of them (a membership test
waiting to happen), a dict keyed by them (a dispatch table), a query filter (`filter(provider=Provider.CALDAV)`,
`Q(...)`, `exclude`, `get`) and a `match` case. Writing a value (creating a connection of a provider) is not
branching."""

from __future__ import annotations

import ast
from pathlib import Path

from models import Provider
from providers.registry import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ["app", "domain", "services", "jobs", "schema", "resolvers", "bench"]
VALUES = {member.value for member in Provider}
QUERIES = {"filter", "exclude", "get", "get_or_none", "Q", "first", "exists", "count", "values_list", "values"}


def _names_provider(node: ast.AST) -> bool:
    """`Provider.GOOGLE` and the like, or `Provider("google")`."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Provider":
        return node.attr in Provider.__members__
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Provider":
        return bool(node.args) and isinstance(node.args[0], ast.Constant) and node.args[0].value in VALUES
    return False


def _names_value(node: ast.AST) -> bool:
    return _names_provider(node) or (isinstance(node, ast.Constant) and node.value in VALUES)


def _any_named(nodes: list[ast.expr | None]) -> bool:
    return any(node is not None and _names_provider(node) for node in nodes)


def _collects_providers(node: ast.AST) -> bool:
    """A set, list or tuple of providers, or a dict keyed by them."""
    if isinstance(node, ast.Set | ast.List | ast.Tuple):
        return _any_named(list(node.elts))
    return isinstance(node, ast.Dict) and _any_named(list(node.keys))


def branches_on_a_provider(source: str) -> list[int]:
    """The lines of `source` that branch on a provider by naming it."""
    found: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            inside = [element for side in sides if isinstance(side, ast.Set | ast.List | ast.Tuple)
                      for element in side.elts]
            if any(_names_value(side) for side in sides) or any(_names_value(element) for element in inside):
                found.add(node.lineno)
        elif isinstance(node, ast.expr) and _collects_providers(node):
            found.add(node.lineno)
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in QUERIES and any(_names_provider(keyword.value) for keyword in node.keywords):
                found.add(node.lineno)
        elif isinstance(node, ast.match_case):
            patterns = [pattern for pattern in ast.walk(node.pattern) if isinstance(pattern, ast.MatchValue)]
            if any(_names_value(pattern.value) for pattern in patterns):
                found.add(node.pattern.lineno)
    return sorted(found)


def test_every_provider_value_has_a_registry_entry() -> None:
    assert sorted(REGISTRY) == sorted(VALUES)
    for value, entry in REGISTRY.items():
        assert entry.name == value
        # an entry that is not available says why; one that is can build a client
        assert entry.available == (entry.open_client is not None), value
        assert entry.available or entry.unavailable.strip(), value


def test_nothing_outside_providers_and_models_branches_on_a_provider() -> None:
    offences = []
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for line in branches_on_a_provider(path.read_text()):
                offences.append(f"{path.relative_to(ROOT)}:{line}")
    assert offences == []


def test_the_guard_sees_every_kind_of_branching() -> None:
    # given one line of each kind of branching, and lines that only write a provider's value
    source = """
if connection.provider == Provider.GOOGLE: pass
if provider != "caldav": pass
if connection.provider in {Provider.GOOGLE, Provider.MICROSOFT}: pass
PUSHING = (Provider.CALENDLY,)
READERS = {Provider.CALDAV: read_caldav}
rows = CalendarConnection.filter(staff_id=1, provider=Provider.CALDAV)
query = Q(connection__provider=Provider.GOOGLE)
match provider:
    case Provider.MICROSOFT: pass
if Provider("google") is provider: pass
created = CalendarConnection.create(provider=Provider.CALDAV)
fields = {"provider": Provider.CALDAV}
provider = Provider.GOOGLE
"""
    # then exactly the branching lines are found
    assert branches_on_a_provider(source) == [2, 3, 4, 5, 6, 7, 8, 10, 11]
