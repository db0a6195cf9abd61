"""Microsoft push latency: how long an event added in Outlook takes to block its slot in Lockstep, through the whole
service and the fake Microsoft Graph's change notifications.

Run from the repository root:  .venv/bin/python -m bench.microsoft_latency  [--samples 200] [--poll-ms 5]
                                                        [--pause-ms 100] [--warmup 5] [--floor-rounds 200] [--slowest 5]
                                                        [--stamps-out FILE] [--sqlite-synchronous NORMAL]

Set-up, as bench/google_latency.py's (bench/push_latency.py runs both): a fresh, migrated SQLite file; the fake
Microsoft (tests/fakes/microsoft.py) served from a thread of this process; one uvicorn API whose public URL is its own
loopback address, `python -m app scheduler` and one `python -m app worker` (child processes), with Redis
(BENCH_REDIS_URL, else 127.0.0.1:6379 database 15, else a redis-server of the run's own). A staff member
(08:00-20:00 every day, Europe/Berlin, a 60-minute service) has the fake's mailbox connected with tokens sealed
straight into the database; the real scheduler and worker open the Graph subscription of its default calendar to
`/webhooks/microsoft` (the fake validates the URL first) and do the first import (a calendarView delta round) before
sampling starts.

Each sample waits a random 0..`--pause-ms`, then inserts an event at the fake over a free slot (the fake then POSTs
Graph's change notification to the webhook) and takes perf_counter() right after the insert. Measured from there:
(a) the slot gone from `availableSlots`, asked over HTTP every `--poll-ms`; (b) `availabilityChanged` for that span
at a WebSocket subscriber on a thread of its own; (c) the busy block committed (the worker's stamp). Where the time
went: the stage stamps of every process (services.stage_stamps) lined up per sample (bench/latency_stages.py), and
what is Microsoft's own: the fake's notification POST until the API's answer, and a pull's two Graph calls (the
delta round, then the listing of Lockstep's marked events that a round with items needs).

Then the floor, measured bare in the same run against the same fake and database, `--floor-rounds` times each: a
webhook POST to the API (a notification as the fake sends them, of a subscription the service does not know:
answered 202, checked, nothing to pull), one incremental delta round at the fake (the pull's last one, replayed on a
kept-alive connection) and one database write. The floor is the sum of their medians.
Targets: p99 of (a) and (c) at most 100 ms and at most 5 times the floor.
"""

from __future__ import annotations

import bisect
import copy
import json
import statistics
import time
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

from bench.common import percentile
from bench.latency_floor import FloorCall
from bench.latency_stages import Sample
from bench.push_latency import PushedFake, main
from models import Provider
from providers.registry import MICROSOFT_OAUTH_SCOPES
from tests.fakes.microsoft import FakeMicrosoft, LoggedRequest
from tests.fakes.microsoft_subscriptions import Delivery

ACCOUNT = "tech@contoso.example"
UNKNOWN_SUBSCRIPTION = "00000000-0000-0000-0000-00000000f100"


class StampedDeliveries(list[Delivery]):
    """The fake's deliveries, each with when its POST went out (perf_counter()): the fake appends a delivery as soon
    as its answer is in, with the seconds it took."""

    def __init__(self) -> None:
        super().__init__()
        self.sent_at: list[float] = []

    def append(self, delivery: Delivery) -> None:
        self.sent_at.append(time.perf_counter() - delivery.seconds)
        super().append(delivery)


def _graph_time(moment: datetime) -> dict[str, str]:
    return {"dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


class PushedMicrosoft(PushedFake):
    label = "Microsoft"
    provider = Provider.MICROSOFT
    account = ACCOUNT
    listing_name = "incremental delta round"

    def __init__(self, public_url: str) -> None:
        self.graph = FakeMicrosoft(account=ACCOUNT, redirect_uris=(f"{public_url}/oauth/microsoft/callback",))
        self.deliveries = StampedDeliveries()
        self.graph.subscriptions.deliveries = self.deliveries

    def serving(self) -> AbstractContextManager[object]:
        return self.graph.running_in_thread()

    def settings(self, public_url: str, redis_url: str, channel: str, secret_key: str) -> dict[str, str]:
        graph = self.graph
        return {
            "LOCKSTEP_PUBLIC_URL": public_url, "LOCKSTEP_REDIS_URL": redis_url, "LOCKSTEP_LIVE_CHANNEL": channel,
            "LOCKSTEP_SECRET_KEYS": secret_key, "LOCKSTEP_OAUTH_RETURN_URLS": "",
            "LOCKSTEP_MICROSOFT_CLIENT_ID": graph.client_id, "LOCKSTEP_MICROSOFT_CLIENT_SECRET": graph.client_secret,
            "LOCKSTEP_MICROSOFT_AUTHORIZE_URL": graph.authorize_url,
            "LOCKSTEP_MICROSOFT_TOKEN_URL": graph.token_url, "LOCKSTEP_MICROSOFT_API_URL": graph.api_url,
        }

    def calendar_id(self) -> str:
        return self.graph.default_calendar_id()

    def tokens(self) -> tuple[dict[str, str], timedelta]:
        issued = self.graph.oauth.issue_tokens(account=ACCOUNT, scope=" ".join(MICROSOFT_OAUTH_SCOPES))
        credentials = {name: str(issued[name]) for name in ("access_token", "refresh_token", "scope")}
        return credentials, timedelta(seconds=int(issued["expires_in"]))

    def ready(self) -> bool:
        """The subscription is live and the first delta round is done."""
        return any(s.account == ACCOUNT and s.live for s in list(self.graph.subscriptions.live.values())) and any(
            "@odata.deltaLink" in (r.response or {}) for r in self._calls("/calendarView/delta"))

    def insert(self, start: datetime) -> None:
        self.graph.insert_by_hand(self.calendar_id(), {"subject": "Errand", "start": _graph_time(start),
                                                       "end": _graph_time(start + timedelta(hours=1))})

    def _calls(self, path_part: str, query_name: str | None = None) -> list[LoggedRequest]:
        """The GETs the fake answered whose path has `path_part` (and whose query names `query_name`), in order."""
        return [r for r in list(self.graph.log) if r.method == "GET" and path_part in r.path
                and (query_name is None or any(name == query_name for name, _ in r.query))]

    def _incremental(self) -> list[LoggedRequest]:
        return self._calls("/calendarView/delta", "$deltatoken")

    def _marked(self) -> list[LoggedRequest]:
        """The listings of Lockstep's marked events (by the marker property's filter)."""
        return [r for r in self._calls("/events", "$filter") if r.path.endswith("/events")]

    def _notifications(self) -> list[tuple[float, Delivery]]:
        return [(sent, d) for sent, d in zip(self.deliveries.sent_at, self.deliveries, strict=True)
                if d.kind == "notification"]

    def own_stamps(self) -> dict[str, list[float]]:
        return {"notified": sorted(sent for sent, _ in self._notifications()),
                "listed": sorted(r.answered_at for r in self._incremental())}

    def webhook_call(self, public_url: str) -> FloorCall:
        body = copy.deepcopy(self._notifications()[-1][1].body)
        for item in body["value"]:
            item["subscriptionId"], item["clientState"] = UNKNOWN_SUBSCRIPTION, "floor"
        return FloorCall("POST", f"{public_url}/webhooks/microsoft", {"Content-Type": "application/json"}, 202,
                         body=json.dumps(body).encode())

    def listing_call(self) -> FloorCall:
        listing = self._incremental()[-1]
        headers: dict[str, str] = {name: listing.headers[name] for name in ("Authorization", "Accept", "Prefer")
                   if name in listing.headers}
        return FloorCall("GET", f"{self.graph.url}{listing.path}", headers, 200, params=list(listing.query))

    def wording(self, text: str) -> str:
        return (text.replace("/webhooks/google", "/webhooks/microsoft")
                .replace("channel and token checked", "subscription and client state checked")
                .replace("the incremental events.list", "the incremental delta round"))

    def findings(self, samples: list[Sample], stamps: dict[str, list[float]]) -> list[str]:
        """The fake's POST until the API answered it, and a pull's time between its delta round, its listing of
        the marked events and its commit."""
        marked = sorted(r.answered_at for r in self._marked())
        after_delta, after_marked = [], []
        for sample in samples:
            listed, committed = sample.stages.get("listed"), sample.stages.get("blocks.committed")
            if listed is None or committed is None:
                continue
            index = bisect.bisect_left(marked, listed)
            found = marked[index] if index < len(marked) else None
            if found is not None and found <= committed:
                after_delta.append((found - listed) * 1000)
                after_marked.append((committed - found) * 1000)
        answered = [d.seconds * 1000 for _, d in self._notifications()[-len(samples):]]
        lines = ["Microsoft's own (ms):"]
        for name, values in (("the fake's notification POST until the API's 202", answered),
                             ("delta round answered -> marked events listed", after_delta),
                             ("marked events listed -> busy block committed", after_marked)):
            if values:
                lines.append(f"  {name}: p50 {statistics.median(values):.2f}, p95 {percentile(values, 0.95):.2f}, "
                             f"p99 {percentile(values, 0.99):.2f}, max {max(values):.2f} ({len(values)} samples)")
        began = samples[0].changed if samples else 0.0
        ended = max((sample.stages.get("job.end", sample.gone) for sample in samples), default=0.0)
        calls = [r for r in list(self.graph.log) if began <= r.answered_at <= ended]
        within = {id(r) for r in calls}
        lines.append(f"  Graph calls while the {len(samples)} samples ran: "
                     f"{sum(id(r) in within for r in self._incremental())} incremental delta rounds, "
                     f"{sum(id(r) in within for r in self._marked())} marked-event listings, "
                     f"{sum(r.path.startswith('/v1.0/me/events/') for r in calls)} single event reads, "
                     f"{sum('/oauth2/' in r.path for r in calls)} token requests, {len(calls)} in all")
        return lines


if __name__ == "__main__":
    main(PushedMicrosoft, __doc__)
