"""Google push latency: how long an event added in Google Calendar takes to block its slot in Lockstep, through the
whole service and the fake Google's push channel.

Run from the repository root:  .venv/bin/python -m bench.google_latency  [--samples 200] [--poll-ms 5]
                                                     [--pause-ms 100] [--warmup 5] [--floor-rounds 200] [--slowest 5]
                                                     [--stamps-out FILE] [--sqlite-synchronous NORMAL]

Set-up: a fresh, migrated SQLite file; the fake Google (tests/fakes/google.py) served from a thread of this process;
one uvicorn API whose public URL is its own loopback address, `python -m app scheduler` and one `python -m app worker`
(child processes), with Redis (BENCH_REDIS_URL, else 127.0.0.1:6379 database 15, else a redis-server of the run's
own). A staff member (08:00-20:00 every day, Europe/Berlin, a 60-minute service) has the fake's account connected
with tokens sealed straight into the database; the real scheduler and worker open the push channel to
`/webhooks/google` and do the first import before sampling starts.

Each sample waits a random 0..`--pause-ms` (so changes land at random points of the scheduler's cycle), then
inserts an event at the fake over a free slot (the fake then POSTs the channel's notification to the webhook) and
takes perf_counter() right after the insert. Measured from there:
(a) the slot gone from `availableSlots`, asked over HTTP every `--poll-ms` until it is;
(b) `availabilityChanged` for that slot's span at a subscriber: one WebSocket (graphql-transport-ws spoken by hand
    over `websockets`) on a thread of its own, which stamps each message with perf_counter() as it comes off the
    socket, so the HTTP polling does not delay the stamp.
Prints p50/p95/p99 and max of both, and of (c) the busy block committed in the database (stamped by the worker
right after its commit), and where the time went: every process stamps the stages of the path
(services.stage_stamps) and the bench lines them up per sample (bench/latency_stages.py), printing each stage's
p50/p95/p99 and the stages of the `--slowest` samples.

Then the floor, measured bare in the same run against the same fake and database, `--floor-rounds` times each: a
webhook POST to the API (an unknown channel: answered, and checked, but nothing to pull), one incremental
`events.list` at the fake (the pull's last one, replayed on a kept-alive connection) and one database write (one
row inserted and committed in the SQLite file, as a plain client of its own). The floor is the sum of their medians.
Targets: p99 of (a) and (c) at most 100 ms and at most 5 times the floor.

The run is bench/push_latency.py's, shared with bench/microsoft_latency.py; this module is Google's part of it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from bench.latency_floor import FloorCall
from bench.push_latency import PushedFake, main
from models import Provider
from tests.fakes.google import FakeGoogle, LoggedRequest
from tests.support.google_service import google_env

USER = "tech@example.com"
SCOPES = frozenset({"https://www.googleapis.com/auth/calendar.events",
                    "https://www.googleapis.com/auth/calendar.calendarlist.readonly"})


class PushedGoogle(PushedFake):
    label = "Google"
    provider = Provider.GOOGLE
    account = USER
    listing_name = "incremental events.list"

    def __init__(self, public_url: str) -> None:
        self.google = FakeGoogle(user_email=USER, redirect_uris=(f"{public_url}/oauth/google/callback",))

    def serving(self) -> AbstractContextManager[object]:
        return self.google.running_in_thread()

    def settings(self, public_url: str, redis_url: str, channel: str, secret_key: str) -> dict[str, str]:
        return google_env(self.google, public_url, redis_url, channel, secret_key)

    def calendar_id(self) -> str:
        return USER  # the primary calendar is named by the account

    def tokens(self) -> tuple[dict[str, str], timedelta]:
        access, refresh = self.google.oauth.issue_tokens(SCOPES)
        return {"access_token": access, "refresh_token": refresh, "scope": " ".join(sorted(SCOPES))}, timedelta(hours=6)

    def ready(self) -> bool:
        return bool(self.google.channels.watching(USER))

    def insert(self, start: datetime) -> None:
        self.google.insert_by_hand(USER, {"summary": "Errand", "start": {"dateTime": start.isoformat()},
                                          "end": {"dateTime": (start + timedelta(hours=1)).isoformat()}})

    def _incremental(self) -> list[LoggedRequest]:
        """The incremental events.list calls the fake answered, in order."""
        return [r for r in self.google.log if r.path.endswith("/events") and r.method == "GET"
                and any(name == "syncToken" for name, _ in r.query)]

    def own_stamps(self) -> dict[str, list[float]]:
        return {"notified": sorted(d.sent_at for d in self.google.channels.deliveries if d.state == "exists"),
                "listed": sorted(r.answered_at for r in self._incremental())}

    def webhook_call(self, public_url: str) -> FloorCall:
        headers = {"X-Goog-Channel-ID": "floor-unknown-channel", "X-Goog-Channel-Token": "floor",
                   "X-Goog-Resource-State": "exists", "X-Goog-Resource-ID": "floor", "X-Goog-Message-Number": "2"}
        return FloorCall("POST", f"{public_url}/webhooks/google", headers, 200)

    def listing_call(self) -> FloorCall:
        listing = self._incremental()[-1]
        return FloorCall("GET", f"{self.google.url}{listing.path}",
                         {"Authorization": listing.headers["Authorization"]}, 200, params=list(listing.query))


if __name__ == "__main__":
    main(PushedGoogle, __doc__)
