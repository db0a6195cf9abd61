"""The committed SDL is what the code builds; a change to the API shows up in review as a change to this file."""

from __future__ import annotations

from pathlib import Path

from app.main import schema


def test_committed_schema_graphql_matches_the_code(repo_root: Path) -> None:
    committed = (repo_root / "schema.graphql").read_text()
    assert committed == str(schema) + "\n", "schema.graphql is stale: run ./lockstep export-schema"
