"""The client side of the concurrency case of bench/availability.py: a process of its own in which `clients`
aiohttp clients, each on its own keep-alive connection, send one GraphQL request after another (the next as soon as
the previous answer has been read) and stamp each round trip. Prints the latencies, in milliseconds, as JSON.

Run:  .venv/bin/python -m bench.slot_clients URL BODY_FILE [--clients 200] [--requests 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import aiohttp


async def _client(session: aiohttp.ClientSession, url: str, body: bytes, requests: int, start: asyncio.Event,
                  latencies: list[float], failures: list[str]) -> None:
    headers = {"content-type": "application/json"}
    async with session.post(url, data=body, headers=headers) as warm:  # opens this client's connection
        await warm.read()
    await start.wait()
    for _ in range(requests):
        sent = time.perf_counter()
        async with session.post(url, data=body, headers=headers) as response:
            answer = await response.read()
        latencies.append((time.perf_counter() - sent) * 1000)
        if response.status != 200 or b'"errors"' in answer:
            failures.append(answer[:200].decode(errors="replace"))


async def run(url: str, body: bytes, clients: int, requests: int) -> dict[str, object]:
    latencies: list[float] = []
    failures: list[str] = []
    start = asyncio.Event()
    sessions = [aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) for _ in range(clients)]
    try:
        tasks = [asyncio.create_task(_client(session, url, body, requests, start, latencies, failures))
                 for session in sessions]
        await asyncio.sleep(1.0)  # every connection open and warm before the clock starts
        began = time.perf_counter()
        start.set()
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - began
    finally:
        await asyncio.gather(*(session.close() for session in sessions))
    return {"latencies_ms": latencies, "failures": failures, "seconds": elapsed}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("body_file")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--requests", type=int, default=20)
    arguments = parser.parse_args()
    result = asyncio.run(run(arguments.url, Path(arguments.body_file).read_bytes(), arguments.clients,
                             arguments.requests))
    json.dump(result, sys.stdout)
