"""Bounded work under abuse: the worst slot query a self-service account can make, /health while it and a sign-in
flood run, and how fast webhooks are acknowledged in a burst.

Run from the repository root:  .venv/bin/python -m bench.abuse  [--flood-seconds 5] [--webhooks 500]
                                                                [--connections 100,500] [--database-url URL]

Set-up: a fresh, migrated SQLite file and one uvicorn API process (no Redis). The worst account is built through
the API (bench/abuse_account.py): the builder asks for the most of everything and steps down on each refusal, so
the bench measures whatever the API in front of it allows.

(1) availableSlots of that account's service, performed by all its staff, from now over windows of growing width,
    each while /health is polled every 10 ms; it stops widening once a query takes longer than --give-up seconds.
    Every answer counts, a typed refusal too: the time, the size of the response and its __typename are printed.
(2) /health, polled every 10 ms, while 8 clients send signIn (a wrong password for a real account) back to back.
(3) 500 POST /webhooks/google (an unknown channel: always answered 200 at once) over 100 and over 500 keep-alive
    connections, written by hand on plain sockets, all connections opened first and then fired together.

Targets: no request above 1 s; /health p99 under 50 ms throughout; webhook p99 at most 100 ms at 500 connections.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

import httpx
from tortoise import Tortoise
from tortoise.migrations.api import migrate

from bench.abuse_account import build_worst_account
from bench.common import percentile
from models.database import tortoise_config
from tests.support.graphql import GraphQLClient, sign_up
from tests.support.server import live_server

SLOTS = """query($s: ID!, $from: DateTime!, $to: DateTime!) {
  availableSlots(serviceId: $s, from: $from, to: $to, timeZone: "UTC") { __typename
    ... on AvailableSlots { slots { start end staffIds } } ... on UserError { message } } }"""
SIGN_IN = """mutation($input: SignInInput!) { signIn(input: $input) { __typename } }"""
WINDOWS_DAYS = (1, 7, 31, 62, 366, 730)
SIGN_IN_CLIENTS = 8


def ms(values: list[float]) -> str:
    if not values:
        return "no samples"
    got = [value * 1000 for value in values]
    return (f"p50 {statistics.median(got):7.1f} ms  p99 {percentile(got, 0.99):7.1f} ms  max {max(got):7.1f} ms  "
            f"({len(got)} samples)")


def _probe_health(base: str, every: float, ready: EventType, stop: EventType, results: Connection) -> None:
    """The probe's own process: GET /health every `every` seconds until `stop`, then send every latency back (the
    first request, which opens the connection, is not counted)."""
    latencies: list[float] = []
    with httpx.Client(base_url=base, timeout=30) as http:
        http.get("/health")
        ready.set()
        while not stop.is_set():
            started = time.perf_counter()
            http.get("/health")
            latencies.append(time.perf_counter() - started)
            time.sleep(every)
    results.send(latencies)


class HealthProbe:
    """GET /health every `every` seconds on its own connection, for as long as it runs, from a process of its own: in
    the bench's process its timings would also count the waits of that process's own busy clients. A request still
    waiting when the probe stops is finished and counted."""

    def __init__(self, base: str, every: float = 0.01) -> None:
        self.base, self.every = base, every
        self.latencies: list[float] = []
        context = multiprocessing.get_context("spawn")
        self._ready, self._stop = context.Event(), context.Event()
        self._results, sending = context.Pipe(duplex=False)
        self._process = context.Process(target=_probe_health, args=(base, every, self._ready, self._stop, sending),
                                        daemon=True)

    async def __aenter__(self) -> HealthProbe:
        self._process.start()
        # The load starts once the probe is running (a process takes a moment to start).
        if not await asyncio.to_thread(self._ready.wait, 30):
            raise RuntimeError("the /health probe did not start")
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._stop.set()
        self.latencies = await asyncio.to_thread(self._results.recv)
        await asyncio.to_thread(self._process.join, 10)


async def worst_slot_queries(base: str, service_id: str, give_up: float) -> tuple[list[float], list[float]]:
    """(1); returns every request's time, and every /health time meanwhile."""
    print("\n(1) availableSlots of the worst account, all staff, windows from now:")
    times: list[float] = []
    health_times: list[float] = []
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    async with httpx.AsyncClient(base_url=base, timeout=600) as http:
        for days in WINDOWS_DAYS:
            body = {"query": SLOTS, "variables": {"s": service_id, "from": start.isoformat(),
                                                  "to": (start + timedelta(days=days)).isoformat()}}
            async with HealthProbe(base) as health:
                started = time.perf_counter()
                response = await http.post("/graphql", json=body)
                took = time.perf_counter() - started
            times.append(took)
            answer = response.json().get("data", {}).get("availableSlots") or {"__typename": "errors"}
            detail = (f"{len(answer['slots'])} slots" if answer["__typename"] == "AvailableSlots"
                      else answer.get("message", response.json().get("errors")))
            print(f"  {days:4d} days: {took * 1000:9.1f} ms  {len(response.content) / 1e6:8.2f} MB  "
                  f"{answer['__typename']} ({detail})")
            print(f"             /health meanwhile: {ms(health.latencies)}")
            health_times.extend(health.latencies)
            if took > give_up:
                print(f"  (stopped widening: that query took more than {give_up:.0f} s)")
                break
    return times, health_times


async def sign_in_flood(base: str, seconds: float) -> tuple[list[float], list[float]]:
    """(2); returns every sign-in's time, and every /health time meanwhile."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        await sign_up(GraphQLClient(http), "flooded@example.com")
    times: list[float] = []
    answers: Counter[str] = Counter()

    async def client(number: int) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            deadline = time.monotonic() + seconds
            attempt = 0
            while time.monotonic() < deadline:
                attempt += 1
                body = {"query": SIGN_IN, "variables": {"input": {
                    "email": "flooded@example.com", "password": f"guess {number}-{attempt}"}}}
                started = time.perf_counter()
                response = await http.post("/graphql", json=body)
                times.append(time.perf_counter() - started)
                data = response.json().get("data") or {}
                answers[(data.get("signIn") or {}).get("__typename", f"HTTP {response.status_code}")] += 1

    async with HealthProbe(base) as health:
        await asyncio.gather(*(client(number) for number in range(SIGN_IN_CLIENTS)))
    print(f"\n(2) sign-in flood, {SIGN_IN_CLIENTS} clients for {seconds:.0f} s: {dict(answers)}")
    print(f"  signIn:  {ms(times)}")
    print(f"  /health: {ms(health.latencies)}")
    return times, health.latencies


def _webhook_request(number: int) -> bytes:
    return (f"POST /webhooks/google HTTP/1.1\r\nhost: 127.0.0.1\r\nx-goog-channel-id: unknown-{number}\r\n"
            f"x-goog-channel-token: nope\r\nx-goog-resource-id: r-{number}\r\nx-goog-resource-state: exists\r\n"
            f"x-goog-message-number: {number}\r\ncontent-length: 0\r\n\r\n").encode()


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next((int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:")), 0)
    if length:
        await reader.readexactly(length)
    return int(lines[0].split()[1])


async def webhook_burst(base: str, total: int, connections: int) -> list[float]:
    """(3) for one connection count; returns every POST's time from write to its whole answer read."""
    host, port = base.removeprefix("http://").split(":")
    sockets = [await asyncio.open_connection(host, int(port)) for _ in range(connections)]
    statuses: Counter[int] = Counter()
    times: list[float] = []
    go = asyncio.Event()

    async def fire(index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await go.wait()
        for number in range(index, total, connections):
            started = time.perf_counter()
            writer.write(_webhook_request(number))
            await writer.drain()
            statuses[await _read_response(reader)] += 1
            times.append(time.perf_counter() - started)

    firing = [asyncio.create_task(fire(index, *pair)) for index, pair in enumerate(sockets)]
    await asyncio.sleep(0.1)
    go.set()
    await asyncio.gather(*firing)
    for _, writer in sockets:
        writer.close()
    print(f"  {total} POSTs over {connections:3d} connections: {ms(times)}  statuses {dict(statuses)}")
    return times


async def run(args: argparse.Namespace, scratch: Path) -> None:
    database_url = args.database_url or f"sqlite://{scratch / 'abuse.sqlite3'}"
    await migrate(config=tortoise_config(database_url))
    await Tortoise.close_connections()
    with live_server(database_url, scratch) as base:
        print("building the worst self-service account the API allows ...", flush=True)
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            account = await build_worst_account(GraphQLClient(http), lambda line: print(line, flush=True))
        slots, health_during_slots = await worst_slot_queries(base, account.service_id, args.give_up)
        sign_ins, health_during_flood = await sign_in_flood(base, args.flood_seconds)
        slowest = {"availableSlots": max(slots), "signIn": max(sign_ins, default=0.0)}
        print("\n(3) webhook acknowledgements:")
        webhooks: dict[int, list[float]] = {}
        for connections in args.connections:
            webhooks[connections] = await webhook_burst(base, args.webhooks, connections)
            slowest[f"webhook over {connections} connections"] = max(webhooks[connections])
    health = health_during_slots + health_during_flood
    print("\nslowest request of each kind: " + ", ".join(f"{name} {took * 1000:.0f} ms"
                                                         for name, took in slowest.items()))
    verdicts = [("no request above 1 s", max(slowest.values()) <= 1.0),
                ("/health p99 under 50 ms throughout", bool(health) and percentile(health, 0.99) < 0.05)]
    if webhooks:
        most = max(webhooks)
        verdicts.append((f"webhook p99 at most 100 ms at {most} connections", percentile(webhooks[most], 0.99) <= 0.1))
    for target, met in verdicts:
        print(f"  {'met   ' if met else 'MISSED'}  {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--flood-seconds", type=float, default=5, help="length of the sign-in flood (default 5)")
    parser.add_argument("--webhooks", type=int, default=500, help="POSTs per burst (default 500)")
    parser.add_argument("--connections", type=lambda text: [int(part) for part in text.split(",")],
                        default=[100, 500], help="connection counts, comma separated (default 100,500)")
    parser.add_argument("--give-up", type=float, default=30, help="stop widening past a query this slow (s)")
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch_dir:
        asyncio.run(run(args, Path(scratch_dir)))


if __name__ == "__main__":
    main()
