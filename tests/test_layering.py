"""Imports point one way (DESIGN.md): each folder may import only the folders its role allows."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = {"app", "domain", "models", "services", "providers", "jobs", "schema", "resolvers"}
ALLOWED = {
    "domain": set(),
    "models": {"domain"},
    "services": {"domain", "models"},
    "providers": {"domain"},
    "jobs": {"services", "providers", "models", "domain"},
    "schema": {"domain", "models"},
    "resolvers": {"services", "schema", "models"},
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            found.add("relative import")
    return found & (OURS | {"relative import"})


def test_every_folder_imports_only_what_its_role_allows() -> None:
    offences = []
    for package, allowed in ALLOWED.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for target in sorted(imported_packages(path) - allowed - {package}):
                offences.append(f"{path.relative_to(ROOT)} imports {target}")
    assert offences == []
