"""Migrations describe the models exactly: a model change without its migration fails here."""

from __future__ import annotations

from pathlib import Path

from tortoise.cli.cli import tortoise_cli_context
from tortoise.migrations.autodetector import MigrationAutodetector

from models.database import tortoise_config


async def test_models_need_no_new_migration(tmp_path: Path) -> None:
    # The autodetector compares the models with the migration files; no database is touched.
    config = tortoise_config(f"sqlite://{tmp_path / 'unused.sqlite3'}")
    async with tortoise_cli_context(config) as context:
        assert context.apps is not None
        pending = await MigrationAutodetector(context.apps, config["apps"]).changes()
    assert [writer.name for writer in pending] == []
