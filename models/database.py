"""Database configuration shared by the server, the worker, the CLI, migrations and tests."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url

from models.postgres_engine import ResetFreeConnection

SQLITE_ENGINE = "models.sqlite_engine"

# Tables key their rows with 32-bit integers (IntField: PostgreSQL's int4, and the range Tortoise declares on SQLite),
# so no larger number names a row; a query with one would fail on PostgreSQL instead of finding nothing.
MAX_ROW_ID = 2**31 - 1
ROW_ID_DIGITS = re.compile(r"[1-9][0-9]{0,9}")  # a row ID as written: ASCII digits, no sign, no leading zero


def tortoise_config(database_url: str, sqlite_busy_timeout_ms: int = 10000) -> dict[str, Any]:
    if database_url.startswith("sqlite://") and "busy_timeout" not in database_url:
        # Several processes (API, worker, tests) may share one SQLite file: wait for the write lock, don't fail.
        separator = "&" if "?" in database_url else "?"
        database_url = f"{database_url}{separator}busy_timeout={sqlite_busy_timeout_ms}"
    connection: str | dict[str, Any] = database_url
    if database_url.startswith("sqlite://"):
        # Transactions that take the write lock when they begin (see models.sqlite_engine).
        connection = {**expand_db_url(database_url), "engine": SQLITE_ENGINE}
    elif is_postgres(database_url):
        # One round trip per statement, not two (see models.postgres_engine).
        expanded = expand_db_url(database_url)
        connection = {**expanded, "credentials": {**expanded["credentials"], "connection_class": ResetFreeConnection}}
    return {
        "connections": {"default": connection},
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


@asynccontextmanager
async def connected(database_url: str, sqlite_busy_timeout_ms: int = 10000) -> AsyncIterator[None]:
    """The ORM connected for the server's lifetime or one command's, and closed afterwards."""
    await Tortoise.init(config=tortoise_config(database_url, sqlite_busy_timeout_ms), _enable_global_fallback=True)
    try:
        yield
    finally:
        await Tortoise.close_connections()
