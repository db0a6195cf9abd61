"""Command line: `python -m app serve | worker | scheduler | migrate | seed | export-schema | ...`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

from app.data_files import protect_data_files, restrict_umask
from app.logs import configure_logging
from app.mail_settings import mail_job_settings
from app.settings import Settings
from jobs.runtime import JobConfig
from models.database import connected, is_postgres

log = logging.getLogger("lockstep")


def _backend(settings: Settings) -> str:
    """The database's kind, for the logs (its URL may carry a password)."""
    return "postgresql" if is_postgres(settings.database_url) else "sqlite"


async def migrate(settings: Settings) -> None:
    from tortoise import Tortoise
    from tortoise.migrations.api import migrate as run_migrations

    from models.database import tortoise_config

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log.info("migrating the database", extra={"fields": {"command": "migrate", "database": _backend(settings)}})
    await run_migrations(config=tortoise_config(settings.database_url, settings.sqlite_busy_timeout_ms))
    await Tortoise.close_connections()
    log.info("database migrated", extra={"fields": {"command": "migrate", "database": _backend(settings)}})


async def seed(settings: Settings) -> None:
    from app.seed import seed_demo

    async with connected(settings.database_url, settings.sqlite_busy_timeout_ms):
        print(await seed_demo())


async def rotate_secrets(settings: Settings) -> None:
    from services.calendar_feeds import reseal_feed_tokens
    from services.credentials import CredentialVault, rotate_stored_credentials

    vault = CredentialVault(settings.secret_keys)
    async with connected(settings.database_url, settings.sqlite_busy_timeout_ms):
        count = await rotate_stored_credentials(vault)
        feeds = await reseal_feed_tokens(vault)
    print(f"re-encrypted {count} stored credentials and {feeds} customer feed tokens under the first key of "
          "LOCKSTEP_SECRET_KEYS")


def job_config(settings: Settings) -> JobConfig:
    from app.oauth_accounts import provider_setups
    from services import live
    from services.sync_schedule import configure

    configure(settings.hot_poll_seconds)
    if settings.redis_url is None:
        raise SystemExit("LOCKSTEP_REDIS_URL is not set (`serve` starts a bundled Redis and sets it for its workers)")
    # Workers and the scheduler publish live updates (sync health, busy time imported) on the API's channel.
    live.configure(settings.redis_url, settings.live_channel)
    return JobConfig(database_url=settings.database_url, redis_url=settings.redis_url,
                     secret_keys=settings.secret_keys, sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
                     caldav_timeout_seconds=settings.caldav_timeout_seconds,
                     providers=provider_setups(settings), public_url=settings.public_url,
                     **mail_job_settings(settings))


def _stop_children(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        child.terminate()
    for child in children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def serve(settings: Settings, with_seed: bool) -> None:
    """Migrate, then run the whole service: the API here, the sync scheduler and LOCKSTEP_WORKERS workers beside it,
    the bundled Redis when none is configured (child processes that stop with it, see app.bundled_redis), and the
    mail catcher when no mail server is configured (app.mail_catcher)."""
    import uvicorn

    from app.bundled_redis import BundledRedis, end_with_parent
    from app.mail_catcher import MailCatcher

    asyncio.run(migrate(settings))
    if with_seed:
        asyncio.run(seed(settings))

    def stop(signum: int, _frame: object) -> None:
        # uvicorn re-raises the signal that stopped it once it has shut down; exiting through Python (not the
        # default action) lets the cleanup below stop the children too.
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    redis = BundledRedis(settings.data_dir) if settings.redis_url is None else None
    catcher: MailCatcher | None = None
    children: list[subprocess.Popen[bytes]] = []
    try:
        if redis is not None:
            os.environ["LOCKSTEP_REDIS_URL"] = redis.url  # for the API below and the children
            log.info("bundled Redis started", extra={"fields": {"pid": redis.process.pid}})
        if not settings.smtp_url:
            catcher = MailCatcher(settings.data_dir)
            os.environ["LOCKSTEP_SMTP_URL"] = catcher.url  # for the workers
            print(f"Lockstep mail: no LOCKSTEP_SMTP_URL set, so every mail is kept as an .eml file in {catcher.folder}",
                  flush=True)
        children = [subprocess.Popen([sys.executable, "-m", "app", verb], preexec_fn=end_with_parent)
                    for verb in ["scheduler", *["worker"] * max(settings.workers, 1)]]
        print(f"Lockstep GraphQL API: http://{settings.host}:{settings.port}/graphql (GraphiQL in a browser)",
              flush=True)
        # The client address decides who is throttled; only LOCKSTEP_TRUSTED_PROXIES may say it is not the peer.
        # uvicorn reads a whole WebSocket message before the app sees it: bound it at the same size the app does.
        # log_config=None: uvicorn keeps the JSON lines configured at start instead of installing its own format.
        uvicorn.run("app.asgi:app", host=settings.host, port=settings.port, log_level=settings.log_level.lower(),
                    log_config=None, proxy_headers=False,
                    ws_max_size=settings.max_ws_message_bytes)
    finally:
        try:
            _stop_children(children)
        finally:
            if catcher is not None:
                catcher.stop()
            if redis is not None:
                redis.stop()


def export_schema(path: Path) -> None:
    from app.main import schema

    path.write_text(str(schema) + "\n")
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lockstep")
    verbs = parser.add_subparsers(dest="verb", required=True)
    serve_verb = verbs.add_parser("serve", help="migrate, then start the API (and a bundled Redis if none is set)")
    serve_verb.add_argument("--seed", action="store_true", help="create the demo business first (idempotent)")
    worker = verbs.add_parser("worker", help="run one sync worker (several may run side by side)")
    worker.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    verbs.add_parser("scheduler", help="run the sync scheduler (outbox, retries, polls; one leads at a time)")
    verbs.add_parser("migrate", help="apply database migrations")
    verbs.add_parser("new-secret-key", help="print a new key for LOCKSTEP_SECRET_KEYS")
    verbs.add_parser("rotate-secrets", help="re-encrypt stored credentials under the first key of LOCKSTEP_SECRET_KEYS")
    verbs.add_parser("seed", help="create a demo business with staff, services and hours (idempotent)")
    export = verbs.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("path", nargs="?", default="schema.graphql", type=Path)
    args = parser.parse_args(argv)
    if args.verb == "export-schema":
        export_schema(args.path)
        return 0
    if args.verb == "new-secret-key":
        from services.credentials import new_key

        print(new_key())
        return 0
    # Owner-only files from the start: settings may already create the generated secrets in the data folder.
    restrict_umask()
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    protect_data_files(settings)
    if args.verb == "serve":
        serve(settings, args.seed)
    elif args.verb == "worker":
        from jobs.worker import run_worker

        config = job_config(settings)
        log.info("worker started", extra={"fields": {"command": "worker", "pid": os.getpid(), "burst": args.burst,
                                                    "database": _backend(settings)}})
        run_worker(config, burst=args.burst)
    elif args.verb == "scheduler":
        from jobs.worker import run_scheduler

        config = job_config(settings)
        log.info("scheduler started", extra={"fields": {
            "command": "scheduler", "pid": os.getpid(), "interval_ms": settings.scheduler_interval_ms,
            "database": _backend(settings)}})
        run_scheduler(config, settings.scheduler_interval_ms / 1000)
    elif args.verb == "migrate":
        asyncio.run(migrate(settings))
    elif args.verb == "rotate-secrets":
        asyncio.run(rotate_secrets(settings))
    elif args.verb == "seed":
        asyncio.run(migrate(settings))
        asyncio.run(seed(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
