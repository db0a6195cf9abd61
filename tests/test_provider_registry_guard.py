"""Only the provider registry knows providers (DESIGN.md): every Provider value has a registry entry, and no code
outside providers/ and models/ branches on a provider by naming it.

What counts as branching on a provider (`Provider.GOOGLE` or one of its fellows, however the enum is reached:
`models.Provider.GOOGLE`, an alias, `Provider["GOOGLE"]`, `Provider("google")`, the GraphQL `CalendarProvider`; or
the string "google" standing for it): a comparison (`==`, `!=`, `in`, `is`), a set, list or tuple of them (a
membership test waiting to happen), a dict keyed by them (a dispatch table), a query filter
(`filter(provider=Provider.CALDAV)`, `Q(connection__provider="caldav")`, `provider__in=[...]`), SQL text that
compares a provider column with a quoted name (`provider = 'google'`) and a `match` case. Writing a value (creating
a connection of a provider) is not branching."""

from __future__ import annotations

import ast
from pathlib import Path

from models import Provider
from providers.registry import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ["app", "domain", "services", "jobs", "schema", "resolvers", "bench"]
VALUES = {member.value for member in Provider}
QUERIES = {"filter", "exclude", "get", "get_or_none", "Q", "first", "exists", "count", "values_list", "values"}


def _is_enum(node: ast.AST, aliases: frozenset[str]) -> bool:
    """The provider enum itself: `Provider`, `CalendarProvider`, `models.Provider`, or a name it was imported as."""
    if isinstance(node, ast.Name):
        return node.id.endswith("Provider") or node.id in aliases
    return isinstance(node, ast.Attribute) and node.attr.endswith("Provider")


def _enum_aliases(tree: ast.AST) -> frozenset[str]:
    return frozenset(alias.asname for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                     for alias in node.names if alias.name.endswith("Provider") and alias.asname)


def _names_provider(node: ast.AST, aliases: frozenset[str] = frozenset()) -> bool:
    """`Provider.GOOGLE` and the like (however the enum is reached), `Provider["GOOGLE"]` or `Provider("google")`."""
    if isinstance(node, ast.Attribute) and _is_enum(node.value, aliases):
        return node.attr in Provider.__members__
    if isinstance(node, ast.Subscript) and _is_enum(node.value, aliases):
        return isinstance(node.slice, ast.Constant) and node.slice.value in Provider.__members__
    if isinstance(node, ast.Call) and _is_enum(node.func, aliases):
        return bool(node.args) and isinstance(node.args[0], ast.Constant) and node.args[0].value in VALUES
    return False


def _names_value(node: ast.AST, aliases: frozenset[str] = frozenset()) -> bool:
    return _names_provider(node, aliases) or (isinstance(node, ast.Constant) and node.value in VALUES)


def _filters_on_provider(keyword: ast.keyword, aliases: frozenset[str]) -> bool:
    """A query keyword that picks rows by a named provider (the enum anywhere, or a name on a provider column)."""
    if _names_provider(keyword.value, aliases):
        return True
    column = keyword.arg or ""
    if not (column == "provider" or column.endswith("__provider") or column.endswith("provider__in")):
        return False
    values = keyword.value.elts if isinstance(keyword.value, ast.Set | ast.List | ast.Tuple) else [keyword.value]
    return any(_names_value(value, aliases) for value in values)


def _sql_names_provider(node: ast.AST) -> bool:
    """SQL text comparing a provider column with a quoted provider name."""
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str) and "provider" in node.value.lower()):
        return False
    return any(f"'{value}'" in node.value for value in VALUES)


def _any_named(nodes: list[ast.expr | None], aliases: frozenset[str]) -> bool:
    return any(node is not None and _names_value(node, aliases) for node in nodes)


def _collects_providers(node: ast.AST, aliases: frozenset[str]) -> bool:
    """A set, list or tuple of providers, or a dict keyed by them (the enum, or their names)."""
    if isinstance(node, ast.Set | ast.List | ast.Tuple):
        return _any_named(list(node.elts), aliases)
    return isinstance(node, ast.Dict) and _any_named(list(node.keys), aliases)


def branches_on_a_provider(source: str) -> list[int]:
    """The lines of `source` that branch on a provider by naming it."""
    found: set[int] = set()
    tree = ast.parse(source)
    aliases = _enum_aliases(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            inside = [element for side in sides if isinstance(side, ast.Set | ast.List | ast.Tuple)
                      for element in side.elts]
            if any(_names_value(side, aliases) for side in [*sides, *inside]):
                found.add(node.lineno)
        elif isinstance(node, ast.expr) and _collects_providers(node, aliases):
            found.add(node.lineno)
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in QUERIES and any(_filters_on_provider(keyword, aliases) for keyword in node.keywords):
                found.add(node.lineno)
            if any(_names_provider(argument, aliases) for argument in node.args) and name in {"get", "__getitem__"}:
                found.add(node.lineno)  # READERS.get(Provider.GOOGLE): a lookup of one named provider
        elif isinstance(node, ast.match_case):
            patterns = [pattern for pattern in ast.walk(node.pattern) if isinstance(pattern, ast.MatchValue)]
            if any(_names_value(pattern.value, aliases) for pattern in patterns):
                found.add(node.pattern.lineno)
        elif _sql_names_provider(node):
            found.add(getattr(node, "lineno", 0))
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
if c.provider == models.Provider.GOOGLE: pass
if c.provider is P.CALDAV: pass
if c.provider == Provider["GOOGLE"]: pass
rows = X.filter(provider="google")
query = Q(connection__provider="caldav")
rows = X.filter(provider__in=["google", "microsoft"])
TABLE = {"google": read_google}
PUSHING = frozenset({"calendly"})
SQL = "SELECT id FROM calendarconnection WHERE provider = 'google'"
if input.provider == CalendarProvider.GOOGLE: pass
reader = READERS.get(Provider.GOOGLE)
label = "google"
"""
    # then exactly the branching lines are found (an alias comes from its import)
    found = branches_on_a_provider("from models import Provider as P\n" + source)
    assert found == [3, 4, 5, 6, 7, 8, 9, 11, 12, *range(16, 27)]
