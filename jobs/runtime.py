"""What a worker or scheduler process needs, set once at start-up by the app (jobs never read app settings).

Each process runs its coroutine jobs on one long-lived event loop with the ORM opened once on it: RQ's SimpleWorker
runs jobs one after another in the process, so opening the database for every job would only add latency.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from redis import Redis
from tortoise import Tortoise

from jobs.tokens import ConnectionTokens
from models import CalendarConnection
from models.database import tortoise_config
from providers.base import CalendarProvider
from providers.entry import ClientParts, ProviderEntry, ProviderSetup
from providers.registry import REGISTRY, entry_of
from services.credentials import CredentialVault

T = TypeVar("T")


def setup_of(setups: Mapping[str, ProviderSetup], entry: ProviderEntry) -> ProviderSetup | None:
    """The provider's configuration among a deployment's `setups`, or None when its connections cannot sync there:
    not available on this server, or an OAuth provider whose client the deployment does not configure."""
    if not entry.available or entry.open_client is None:
        return None
    setup = setups.get(entry.name)
    if entry.oauth is None or entry.personal_tokens:
        return setup or ProviderSetup()
    return setup if setup is not None and setup.oauth is not None else None


@dataclass(frozen=True)
class JobConfig:
    database_url: str
    redis_url: str
    secret_keys: tuple[str, ...] = field(repr=False)
    sqlite_busy_timeout_ms: int = 10000
    caldav_timeout_seconds: float = 30.0
    # What the deployment configures per provider value (OAuth client, API address). A provider with OAuth is
    # configured only when it is listed here with its client; one without OAuth (CalDAV) needs nothing.
    providers: Mapping[str, ProviderSetup] = field(default_factory=dict)
    public_url: str = ""  # where providers reach this deployment's webhooks; empty: no push channels are opened
    # Where mail is sent (jobs.smtp: smtp:// or smtps://, may hold a password); empty: mail waits in the outbox.
    smtp_url: str = field(default="", repr=False)
    smtp_starttls: bool = False
    smtp_ca_file: str = ""  # authorities trusted for the mail server's certificate besides the system's
    mail_from: str = "bookings@localhost"  # the address mail comes from; the display name is the business's
    mail_from_name: str = "Lockstep"  # the display name of mail not sent on behalf of one business (account mail)

    def setup_of(self, entry: ProviderEntry) -> ProviderSetup | None:
        """The provider's configuration here, or None when its connections cannot sync on this deployment."""
        return setup_of(self.providers, entry)

    def configured(self) -> list[str]:
        """The provider values whose connections sync on this deployment."""
        return [name for name, entry in REGISTRY.items() if self.setup_of(entry) is not None]


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
    """The provider client for a connection, built by its registry entry from its decrypted credentials (with token
    refresh wired in for an OAuth provider) and closed afterwards. Raises providers.entry.ProviderNotAvailable when
    the provider is not available on this server or not configured in this deployment."""
    settings = config()
    entry = entry_of(connection.provider)
    if not entry.available or entry.open_client is None:
        raise entry.not_available()
    setup = settings.setup_of(entry)
    if setup is None:
        raise entry.not_configured()
    secrets = credentials_of(connection)
    if entry.oauth is not None and setup.oauth is None and not secrets.get(entry.personal_tokens or "-"):
        raise entry.not_configured()  # OAuth tokens, and no OAuth client here to refresh them with
    tokens = None
    if setup.oauth is not None:
        tokens = ConnectionTokens(connection.id, setup.oauth, CredentialVault(settings.secret_keys), entry.label)
    parts = ClientParts(secrets, tokens, setup.api_url, settings.caldav_timeout_seconds,
                        mailbox=connection.account_label)
    async with entry.open_client(parts) as client:
        yield client
