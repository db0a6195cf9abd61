"""`GET /metrics`: Prometheus metrics of this API process and of the deployment's sync engine.

What is exposed (docs/metrics.md lists every metric):
- this process's counters (services.metrics.REGISTRY);
- the deployment's sync job outcomes, counted by the workers in Redis;
- state read at scrape time: sync lag and backlogs from the database, queue depth from Redis, and this process's live
  subscribers.
A source that does not answer leaves its metrics out and says so in `lockstep_scrape_source_up`, so one outage never
makes the whole scrape fail.

Access (LOCKSTEP_METRICS): `off` answers 404 as if there were no such page; `open` serves anyone who can reach the
port (behind a private network); `token` wants `Authorization: Bearer <LOCKSTEP_METRICS_TOKEN>`.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator
from datetime import UTC, datetime

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from redis import Redis
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from app.live_hub import LiveHub
from app.settings import Settings
from jobs.scheduler import MAIL_QUEUE_NAME, QUEUE_NAME, mail_queue, sync_queue
from services import metrics
from services.metrics_state import job_outcome_metric, read_sync_state, sync_state_metrics

log = logging.getLogger("lockstep.metrics")
_REDIS_TIMEOUT = 0.5  # seconds; a scrape must not hang on a Redis that does not answer


class _Snapshot:
    """A collector of metric families read before the scrape is rendered (the reads are async, collectors not)."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def _queue_figures(redis: Redis) -> list[Metric]:
    depth = GaugeMetricFamily("lockstep_job_queue_depth", "Jobs waiting in a queue for a worker (sync, and mail)",
                              labels=["queue"])
    depth.add_metric([QUEUE_NAME], sync_queue(redis).count)
    depth.add_metric([MAIL_QUEUE_NAME], mail_queue(redis).count)
    return [depth, job_outcome_metric(metrics.job_outcome_counts(redis))]


class MetricsScrape:
    """Reads every source for one scrape."""

    def __init__(self, redis_url: str | None, hub: LiveHub | None) -> None:
        self.redis = None
        if redis_url:
            self.redis = Redis.from_url(redis_url, socket_connect_timeout=_REDIS_TIMEOUT,
                                        socket_timeout=_REDIS_TIMEOUT)
        self.hub = hub

    async def families(self) -> list[Metric]:
        up = GaugeMetricFamily("lockstep_scrape_source_up",
                               "Whether a source answered this scrape (1) or its metrics are missing (0)",
                               labels=["source"])
        families: list[Metric] = [up]
        try:
            families += sync_state_metrics(await read_sync_state(datetime.now(UTC)))
            up.add_metric(["database"], 1)
        except Exception:  # any failure only leaves these metrics out; /health reports the database
            log.warning("metrics: the database did not answer")
            up.add_metric(["database"], 0)
        if self.redis is not None:
            try:
                # redis-py is blocking; a thread keeps a slow Redis from stalling this process's other requests.
                families += await asyncio.to_thread(_queue_figures, self.redis)
                up.add_metric(["redis"], 1)
            except RedisError:
                log.warning("metrics: Redis did not answer")
                up.add_metric(["redis"], 0)
        families.append(GaugeMetricFamily("lockstep_live_subscribers",
                                          "Live subscriptions open on this API process",
                                          value=0 if self.hub is None else self.hub.subscriber_count()))
        return families

    async def render(self) -> bytes:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Snapshot(await self.families()))
        return generate_latest(metrics.REGISTRY) + generate_latest(registry)


def _authorized(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def metrics_endpoint(settings: Settings, hub: LiveHub | None) -> Callable[[Request], Awaitable[Response]]:
    scrape = MetricsScrape(settings.redis_url, hub)

    async def metrics_page(request: Request) -> Response:
        if settings.metrics_access == "off":
            return PlainTextResponse("Not Found", status_code=404)
        if settings.metrics_access == "token" and not _authorized(request, settings.metrics_token):
            return PlainTextResponse("Unauthorized", status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return Response(await scrape.render(), media_type=CONTENT_TYPE_LATEST)

    return metrics_page
