"""What a worker or scheduler process needs, set once at start-up by the app (jobs never read app settings).

Each process runs its coroutine jobs on one long-lived event loop with the ORM opened once on it: RQ's SimpleWorker
runs jobs one after another in the process, so opening the database for every job would only add latency.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from redis import Redis
from tortoise import Tortoise

from jobs.tokens import ConnectionTokens
from models import CalendarConnection, Provider
from models.database import tortoise_config
from providers.base import CalendarProvider
from providers.caldav import CaldavCredentials, CaldavProvider
from providers.google import GoogleProvider
from providers.google_http import DEFAULT_API_URL
from providers.oauth import OAuthClient
from services.credentials import CredentialVault

T = TypeVar("T")


@dataclass(frozen=True)
class JobConfig:
    database_url: str
    redis_url: str
    secret_keys: tuple[str, ...] = field(repr=False)
    sqlite_busy_timeout_ms: int = 10000
    caldav_timeout_seconds: float = 30.0
    google: OAuthClient | None = None  # Lockstep's OAuth client at Google, when Google connections are configured
    google_api_url: str = DEFAULT_API_URL
    public_url: str = ""  # where providers reach this deployment's webhooks; empty: no push channels are opened


class NotConfigured(RuntimeError):
    pass


class _Runtime:
    def __init__(self) -> None:
        self.config: JobConfig | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.orm_ready = False
        self.redis: Redis | None = None


_RUNTIME = _Runtime()


def configure(config: JobConfig) -> None:
    _RUNTIME.config = config
    _RUNTIME.redis = None


def redis() -> Redis:
    """The process's Redis client for what jobs share besides the queue (the job outcome tally). Short timeouts: a
    Redis that does not answer must not hold a job that has finished its work."""
    if _RUNTIME.redis is None:
        _RUNTIME.redis = Redis.from_url(config().redis_url, socket_connect_timeout=0.5, socket_timeout=0.5)
    return _RUNTIME.redis


def config() -> JobConfig:
    if _RUNTIME.config is None:
        raise NotConfigured("the job runtime was not configured; start workers with `python -m app worker`")
    return _RUNTIME.config


async def _ensure_orm() -> None:
    if not _RUNTIME.orm_ready:
        settings = config()
        await Tortoise.init(config=tortoise_config(settings.database_url, settings.sqlite_busy_timeout_ms),
                            _enable_global_fallback=True)
        _RUNTIME.orm_ready = True


def run(job: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine job to completion on the process's event loop, with the ORM open."""
    if _RUNTIME.loop is None:
        _RUNTIME.loop = asyncio.new_event_loop()

    async def with_orm() -> T:
        await _ensure_orm()
        return await job

    return _RUNTIME.loop.run_until_complete(with_orm())


def shutdown() -> None:
    if _RUNTIME.loop is not None:
        if _RUNTIME.orm_ready:
            _RUNTIME.loop.run_until_complete(Tortoise.close_connections())
        _RUNTIME.loop.close()
    _RUNTIME.loop, _RUNTIME.orm_ready = None, False
    if _RUNTIME.redis is not None:
        _RUNTIME.redis.close()
        _RUNTIME.redis = None


def credentials_of(connection: CalendarConnection) -> dict[str, Any]:
    """The connection's decrypted credentials (never logged, never stored elsewhere)."""
    return CredentialVault(config().secret_keys).unseal(connection.credentials)


@asynccontextmanager
async def open_provider(connection: CalendarConnection) -> AsyncIterator[CalendarProvider]:
    """The provider client for a connection, built from its decrypted credentials and closed afterwards."""
    settings = config()
    secrets = credentials_of(connection)
    if connection.provider == Provider.GOOGLE and settings.google is not None:
        tokens = ConnectionTokens(connection.id, settings.google, CredentialVault(settings.secret_keys))
        async with GoogleProvider(tokens, api_url=settings.google_api_url,
                                  timeout=settings.caldav_timeout_seconds) as google:
            yield google
        return
    if connection.provider != Provider.CALDAV:
        raise NotImplementedError(f"no client for {connection.provider} connections in this deployment")
    credentials = CaldavCredentials(secrets["server_url"], secrets["username"], secrets["password"])
    async with CaldavProvider(credentials, secrets["home_url"], timeout=settings.caldav_timeout_seconds) as client:
        yield client
