"""Push latency through the whole service, for any pushing provider's fake: what bench/google_latency.py and
bench/microsoft_latency.py share (their docstrings describe the run).

Terms:
- *pushed fake*: one provider's fake as the bench drives it (PushedFake): served from a thread of this process, the
  service's settings that point at it, the tokens an OAuth connection would leave, an event inserted over a slot by
  hand (the fake then POSTs its change notification to the webhook), the fake's own stamps (each notification sent,
  each incremental listing answered) and the two requests of the floor that are the provider's.
- *floor*: the operations of the path that cannot be avoided, each measured bare in the same run: a webhook POST
  that names no channel of ours (answered, and checked, but nothing to pull), the pull's last incremental listing
  replayed at the fake on a kept-alive connection, and one database write (a row inserted and committed in the
  SQLite file by a plain client). The floor is the sum of their medians.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import shutil
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from tortoise import Tortoise
from tortoise.migrations.api import migrate

from bench.common import SLOTS, ZONE, bench_database, bench_redis, free_starts, summary, wait_until
from bench.latency_floor import DATABASE_WRITE, FloorCall, database_write, floor_total, measure_floor, ratio_lines
from bench.latency_stages import Sample, breakdown, line_up, read_stamps
from bench.push_subscriber import Subscriber
from models import CalendarConnection, Provider
from models.database import tortoise_config
from schema.ids import encode_id
from services.credentials import CredentialVault, new_key
from services.stage_stamps import ENVIRONMENT_VARIABLE as STAMPS_VARIABLE
from tests.support.google_service import sync_processes
from tests.support.live import new_channel, wait_for_health, ws_url
from tests.support.server import free_port, live_server_on
from tests.support.sync import given_connected_staff

KEY = new_key()


class PushedFake(ABC):
    """One provider's fake, as the bench drives it (see the module's terms)."""

    label: str  # the provider as printed: "Google"
    provider: Provider
    account: str  # the account connected, also the connection's label
    listing_name: str  # the floor's incremental listing as printed

    @abstractmethod
    def serving(self) -> AbstractContextManager[object]:
        """The fake served from a thread of this process."""

    @abstractmethod
    def settings(self, public_url: str, redis_url: str, channel: str, secret_key: str) -> dict[str, str]:
        """The settings the API, the scheduler and the worker share to talk to the fake."""

    @abstractmethod
    def calendar_id(self) -> str:
        """The provider's id of the calendar that imports busy time."""

    @abstractmethod
    def tokens(self) -> tuple[dict[str, str], timedelta]:
        """The credentials OAuth would leave (access and refresh token, scope) and how long the access token lasts."""

    @abstractmethod
    def ready(self) -> bool:
        """Whether the service has opened the push channel (or subscription) of the calendar, and whatever else the
        provider's bench waits for before sampling."""

    @abstractmethod
    def insert(self, start: datetime) -> None:
        """An hour-long event added by hand at `start`."""

    @abstractmethod
    def own_stamps(self) -> dict[str, list[float]]:
        """The fake's stamps by stage: "notified" (each change notification sent) and "listed" (each incremental
        listing answered), perf_counter() seconds."""

    @abstractmethod
    def webhook_call(self, public_url: str) -> FloorCall:
        """A notification of a channel the service does not know."""

    @abstractmethod
    def listing_call(self) -> FloorCall:
        """The pull's last incremental listing, to replay."""

    def wording(self, text: str) -> str:
        """The breakdown's text in this provider's words."""
        return text

    def findings(self, samples: list[Sample], stamps: dict[str, list[float]]) -> list[str]:
        """Lines of the provider's own about where the samples' time went (none by default)."""
        return []


async def connected_staff(database_url: str, fake: PushedFake) -> tuple[str, str]:
    """The staff member and service (global IDs), with the fake's account connected as OAuth would leave it."""
    await migrate(config=tortoise_config(database_url))
    await Tortoise.close_connections()
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)
    credentials, lasts = fake.tokens()
    given = await given_connected_staff(fake.calendar_id(), zone=ZONE, provider=fake.provider,
                                        credentials=CredentialVault([KEY]).seal(credentials))
    await CalendarConnection.filter(id=given.connection.id).update(
        token_expires_at=datetime.now(UTC) + lasts, account_label=fake.account)
    await Tortoise.close_connections()
    return encode_id("StaffMember", given.staff.id), encode_id("Service", given.service.id)


async def sample(http: httpx.AsyncClient, fake: PushedFake, service_id: str, start: datetime,
                 poll: float) -> tuple[float, float]:
    """Insert an event over the free slot at `start`; the time until the slot is gone, and the insert's moment."""
    variables = {"s": service_id, "from": start.isoformat(), "to": (start + timedelta(hours=1)).isoformat()}
    fake.insert(start)
    inserted = time.perf_counter()
    while True:
        answer = (await http.post("/graphql", json={"query": SLOTS, "variables": variables})).json()
        if not any(datetime.fromisoformat(slot["start"]) == start for slot in answer["data"]["availableSlots"]
                   ["slots"]):
            return time.perf_counter() - inserted, inserted
        await asyncio.sleep(poll)


async def floor(fake: PushedFake, base: str, database_url: str, rounds: int, synchronous: str | None
                ) -> dict[str, list[float]]:
    """The three operations of the path that cannot be avoided, each bare, `rounds` times (seconds)."""
    async with database_write(database_url, synchronous) as write:
        return await measure_floor([("webhook POST", fake.webhook_call(base)),
                                    (fake.listing_name, fake.listing_call())], write, rounds)


async def run(make_fake: Callable[[str], PushedFake], args: argparse.Namespace, scratch: Path,
              redis_url: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    fake = make_fake(base)
    stamps_file = scratch / "stamps.log"
    async with bench_database(scratch, fake.provider.value, False, args.sqlite_synchronous) as database_url:
        with fake.serving():
            staff_id, service_id = await connected_staff(database_url, fake)
            env = {**fake.settings(base, redis_url, new_channel(), KEY), STAMPS_VARIABLE: str(stamps_file)}
            with live_server_on(port, database_url, scratch, 1, env), sync_processes(database_url, scratch, env):
                await wait_until(fake.ready, "the push channel")
                subscriber = Subscriber(ws_url(base), staff_id)
                subscriber.start()
                await wait_for_health(base, subscribers=1)
                # This process serves the fake and the subscriber too: its start-up heap out of the collector's
                # way, so that a full collection here does not pass for the service's latency.
                gc.collect()
                gc.freeze()
                rng = random.Random(20261201)
                slot_gone: list[float] = []
                inserted_at: dict[datetime, float] = {}
                changes: list[tuple[float, float]] = []
                starts = free_starts(args.warmup + args.samples)
                async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                    for n, start in enumerate(starts):
                        await asyncio.sleep(rng.uniform(0, args.pause_ms / 1000))
                        delay, inserted = await sample(http, fake, service_id, start, args.poll_ms / 1000)
                        if n >= args.warmup:
                            slot_gone.append(delay)
                            inserted_at[start] = inserted
                            changes.append((inserted, inserted + delay))
                await wait_until(lambda: set(inserted_at) <= set(subscriber.heard), "every availabilityChanged", 10)
                subscriber.stop()
                await asyncio.sleep(1)  # the last pull's trailing writes, before the floor is measured
                bare = await floor(fake, base, database_url, args.floor_rounds, args.sqlite_synchronous)
    heard = [subscriber.heard[start] - inserted for start, inserted in inserted_at.items()]
    print(f"event inserted at the fake {fake.label} -> ... (one API, scheduler, one worker; SQLite "
          f"synchronous={args.sqlite_synchronous or 'FULL'}; "
          f"LOCKSTEP_SCHEDULER_INTERVAL_MS {os.environ.get('LOCKSTEP_SCHEDULER_INTERVAL_MS', '250')})")
    print(summary("(a) slot gone from availableSlots", slot_gone))
    print(summary("(b) availabilityChanged at a subscriber", heard))
    if subscriber.missed:
        print(f"the subscriber was told of missed events {subscriber.missed} times")
    stamps, spans = read_stamps(stamps_file)
    stamps.update(fake.own_stamps())
    samples = line_up(changes, stamps, spans)
    committed = [sample.stages["blocks.committed"] - sample.changed for sample in samples
                 if "blocks.committed" in sample.stages]
    if committed:
        print(summary("(c) busy block committed in the database (the worker's stamp)", committed))
    for name, delays in bare.items():
        print(summary(f"floor: {name}", delays))
    total = floor_total(bare, ["webhook POST", fake.listing_name, DATABASE_WRITE])
    print(f"floor (sum of the medians): {total:.1f} ms; targets: p99 <= 100 ms and <= 5 times the floor "
          f"({5 * total:.1f} ms)")
    for line in ratio_lines((("(a)", slot_gone), ("(c)", committed)), total):
        print(line)
    print(fake.wording(breakdown(samples, args.slowest)))
    for line in fake.findings(samples, stamps):
        print(line)
    if args.stamps_out:
        shutil.copyfile(stamps_file, args.stamps_out)


def main(make_fake: Callable[[str], PushedFake], description: str | None) -> None:
    """Parse the command line and run the bench against the fake `make_fake` makes for the API's public URL."""
    parser = argparse.ArgumentParser(description=description.split("\n\n")[0] if description else None)
    parser.add_argument("--samples", type=int, default=200, help="changes measured (default 200)")
    parser.add_argument("--warmup", type=int, default=5, help="changes made first and not measured (default 5)")
    parser.add_argument("--poll-ms", type=float, default=5, help="availableSlots is asked this often (default 5)")
    parser.add_argument("--pause-ms", type=float, default=100,
                        help="longest random pause before each change (default 100)")
    parser.add_argument("--floor-rounds", type=int, default=200, help="times each floor operation is measured")
    parser.add_argument("--slowest", type=int, default=5, help="slowest samples whose stages are printed")
    parser.add_argument("--sqlite-synchronous", choices=("NORMAL", "FULL"),
                        help="SQLite's synchronous pragma for every process (default: SQLite's own, FULL)")
    parser.add_argument("--stamps-out", type=Path, help="keep the processes' raw stage stamps in this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        with bench_redis(scratch, 15) as redis_url:
            asyncio.run(run(make_fake, args, scratch, redis_url))
