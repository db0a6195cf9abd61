"""Shared fixtures.

The database backend of a run is LOCKSTEP_TEST_BACKEND (sqlite, the default, or postgres). Tortoise keeps global
state per process, so the two backends run in two pytest processes: `./lockstep test` runs the whole suite on SQLite,
then every test that touches the database (marked `db` automatically) on PostgreSQL.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from redis import Redis
from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate

from models.database import is_postgres, tortoise_config
from services.credentials import new_key
from tests.support.caldav_servers import CaldavServer, running_radicale, running_xandikos
from tests.support.databases import create_postgres_database, drop_postgres_database, postgres_server_url
from tests.support.graphql import GraphQLClient
from tests.support.redis_server import redis_for_tests

# Tests never read a developer's settings or write into the checkout.
os.environ["LOCKSTEP_JWT_SECRET"] = "test-signing-secret-that-is-long-enough-0123456789"
os.environ.pop("LOCKSTEP_DATABASE_URL", None)
os.environ["LOCKSTEP_SECRET_KEYS"] = new_key()
os.environ["LOCKSTEP_DATA_DIR"] = tempfile.mkdtemp(prefix="lockstep-tests-")

BACKEND = os.environ.get("LOCKSTEP_TEST_BACKEND", "sqlite")
if BACKEND not in {"sqlite", "postgres"}:
    raise pytest.UsageError("LOCKSTEP_TEST_BACKEND must be sqlite or postgres")
# Every table, children first, so a truncation never trips a foreign key.
_TABLES = [
    "mailoutbox", "mailpreference", "oauthstate", "notification", "syncconflict", "synclogentry", "retiredevent",
    "eventmapping", "calendarfeed", "watchchannel", "busyblock", "externalcalendar", "calendarconnection",
    "outboxentry",
    "booking", "bookingseries", "service_staff", "service", "workinghoursrange", "scheduleoverride", "staff",
    "accounttoken", "refreshtoken", "signinstate", "signinidentity", "business", "user_account",
]


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> str:
    return postgres_server_url(tmp_path_factory.mktemp("postgres"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if {"db", "database_url"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


def pytest_report_header() -> str:
    return f"lockstep database backend: {BACKEND}"


@pytest.fixture(scope="session")
async def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A migrated database of this run's backend, shared by its tests."""
    if BACKEND == "sqlite":
        url = f"sqlite://{tmp_path_factory.mktemp('sqlite') / 'lockstep.sqlite3'}"
    else:
        server = request.getfixturevalue("postgres_server")
        url = await create_postgres_database(server)
    await migrate(config=tortoise_config(url))
    await Tortoise.close_connections()
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    yield url
    await Tortoise.close_connections()
    if BACKEND == "postgres":
        await drop_postgres_database(request.getfixturevalue("postgres_server"), url)


async def _empty(database_url: str) -> None:
    connection = connections.get("default")
    if is_postgres(database_url):
        await connection.execute_script(f"TRUNCATE {', '.join(_TABLES)} RESTART IDENTITY CASCADE")
    else:
        for table in _TABLES:
            await connection.execute_script(f"DELETE FROM {table}")
        await connection.execute_script("DELETE FROM sqlite_sequence")


@pytest.fixture
async def db(database_url: str) -> str:
    """An empty, migrated database (rows of earlier tests removed)."""
    await _empty(database_url)
    return database_url


@pytest.fixture
def empty_db(db: str) -> Callable[[], Awaitable[None]]:
    """Empties the database again, for a test that runs many examples on one (a hypothesis state machine)."""
    return lambda: _empty(db)


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture
async def api(db: str) -> AsyncIterator[GraphQLClient]:
    """A GraphQL client of the real ASGI app, on a fresh database of the current backend."""
    import httpx

    from app.main import create_app
    from app.settings import Settings

    settings = Settings.from_env()
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lockstep.test") as http:
        yield GraphQLClient(http)


@pytest.fixture(scope="session")
def redis_session_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_for_tests(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def redis_url(redis_session_url: str) -> str:
    """A Redis database emptied for this test."""
    Redis.from_url(redis_session_url).flushdb()
    return redis_session_url


# Real CalDAV servers, started once per run and only when a test asks for one.
@pytest.fixture(scope="session")
def radicale_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CaldavServer]:
    with running_radicale(tmp_path_factory.mktemp("radicale")) as server:
        yield server


@pytest.fixture(scope="session")
def xandikos_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CaldavServer]:
    with running_xandikos(tmp_path_factory.mktemp("xandikos")) as server:
        yield server


@pytest.fixture(params=["radicale", "xandikos"])
def caldav_server(request: pytest.FixtureRequest) -> CaldavServer:
    """Each CalDAV server in turn."""
    server: CaldavServer = request.getfixturevalue(f"{request.param}_server")
    return server
