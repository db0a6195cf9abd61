"""Database configuration shared by the server, the CLI, migrations and tests."""

from __future__ import annotations

from typing import Any


def tortoise_config(database_url: str, sqlite_busy_timeout_ms: int = 10000) -> dict[str, Any]:
    if database_url.startswith("sqlite://") and "busy_timeout" not in database_url:
        # Several processes (API, worker, tests) may share one SQLite file: wait for the write lock, don't fail.
        separator = "&" if "?" in database_url else "?"
        database_url = f"{database_url}{separator}busy_timeout={sqlite_busy_timeout_ms}"
    return {
        "connections": {"default": database_url},
        "apps": {
            "models": {
                "models": ["models"],
                "default_connection": "default",
                "migrations": "models.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def is_postgres(database_url: str) -> bool:
    return database_url.startswith(("postgres://", "postgresql://", "asyncpg://", "psycopg://"))
