"""Database configuration shared by the server, the CLI, migrations and tests."""

from __future__ import annotations

from typing import Any


def tortoise_config(database_url: str) -> dict[str, Any]:
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
