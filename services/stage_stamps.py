"""Stage stamps: when each step of a sync path happened, so a benchmark can say where a slow change spent its time.

Off (one `if` per stamp) unless the environment variable LOCKSTEP_STAGE_STAMPS names a file when the process starts.
Then every process (API, worker, scheduler) appends one line per stamp to that file: `<stage> <key> <ns> <pid>`,
where `ns` is CLOCK_MONOTONIC in nanoseconds (`time.monotonic_ns`, which `time.perf_counter` also reads on Linux).
That clock is one for every process of a machine, so the stamps of several processes line up. Each line is a single
`write` to a file opened for appending, which the kernel keeps whole and in order.

Terms: a *stage* is a name such as `webhook.received`; the *key* says what it is about (a calendar's ID).
"""

from __future__ import annotations

import gc
import os
import time
from typing import Any

ENVIRONMENT_VARIABLE = "LOCKSTEP_STAGE_STAMPS"


def _open(path: str) -> int | None:
    if not path:
        return None
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)


_FILE = _open(os.environ.get(ENVIRONMENT_VARIABLE, ""))


def _collection(phase: str, info: dict[str, Any]) -> None:
    stamp(f"gc.{phase}", info["generation"])


if _FILE is not None:  # garbage collections pause the process: stamped too, to tell them from other waits
    gc.callbacks.append(_collection)


def enabled() -> bool:
    return _FILE is not None


def stamp(stage: str, key: int | str = "-") -> None:
    """Note that `stage` of `key` happened now (nothing when stamps are off)."""
    if _FILE is not None:
        os.write(_FILE, f"{stage} {key} {time.monotonic_ns()} {os.getpid()}\n".encode())
