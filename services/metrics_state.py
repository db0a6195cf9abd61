"""The sync engine's state as Prometheus metrics, read from the database when /metrics is scraped.

Terms:
- *sync lag* of a connection: seconds since its last successful sync, or since it was connected when it has never
  synced (a connection that never worked is as stale as it can be). Disconnected connections have no lag.
- *outbox depth*: changes written with a booking that the scheduler has not turned into pushes yet.
- *push backlog*: bookings' calendar events by mapping state (pending: to be written; failed: gave up).
State is read, never counted, so every API process reports the same numbers and nothing drifts when a process
restarts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString
from tortoise.functions import Count

from models import CalendarConnection, ConnectionHealth, EventMapping, EventMappingState, OutboxEntry

# Upper bounds (seconds) of the sync lag distribution: a real-time connection should sit in the first buckets, an
# hourly one below 3600; the last ones show calendars nobody has been able to sync for a day or more.
LAG_BUCKETS = (30.0, 60.0, 120.0, 300.0, 900.0, 1800.0, 3600.0, 3 * 3600.0, 6 * 3600.0, 24 * 3600.0,
               3 * 86400.0, 7 * 86400.0)
BACKLOG_STATES = (EventMappingState.PENDING, EventMappingState.FAILED, EventMappingState.CONFLICT)


@dataclass(frozen=True)
class SyncState:
    lags: tuple[float, ...]  # seconds, one per connection that is not disconnected
    connections_by_health: Mapping[str, int]
    outbox_depth: int
    oldest_outbox_seconds: float
    mappings_by_state: Mapping[str, int]


async def read_sync_state(now: datetime) -> SyncState:
    """One consistent enough look at the sync engine (each figure is one query; a scrape needs no transaction)."""
    lags = []
    rows = await CalendarConnection.exclude(health=ConnectionHealth.DISCONNECTED).values_list(
        "last_successful_sync_at", "created_at")
    for last_success, created in rows:
        since = last_success or created
        lags.append(max((now - since).total_seconds(), 0.0))
    health_rows = await CalendarConnection.annotate(count=Count("id")).group_by("health").values_list(
        "health", "count")
    waiting = OutboxEntry.filter(processed_at__isnull=True)
    oldest = await waiting.order_by("created_at").first()
    mapping_rows = await EventMapping.filter(state__in=BACKLOG_STATES).annotate(count=Count("id")).group_by(
        "state").values_list("state", "count")
    return SyncState(
        lags=tuple(sorted(lags)),
        connections_by_health={str(health): int(count) for health, count in health_rows},
        outbox_depth=await waiting.count(),
        oldest_outbox_seconds=0.0 if oldest is None else max((now - oldest.created_at).total_seconds(), 0.0),
        mappings_by_state={str(state): int(count) for state, count in mapping_rows},
    )


def _lag_distribution(lags: Iterable[float]) -> HistogramMetricFamily:
    values = list(lags)
    buckets = [(floatToGoString(bound), float(sum(1 for lag in values if lag <= bound))) for bound in LAG_BUCKETS]
    buckets.append(("+Inf", float(len(values))))
    return HistogramMetricFamily("lockstep_sync_lag_seconds",
                                 "Seconds since each connection's last successful sync, over connections",
                                 buckets=buckets, sum_value=sum(values))


def sync_state_metrics(state: SyncState) -> Iterator[Metric]:
    yield _lag_distribution(state.lags)
    yield GaugeMetricFamily("lockstep_sync_lag_max_seconds", "The worst sync lag of any connection (0 with none)",
                            value=state.lags[-1] if state.lags else 0.0)
    connections = GaugeMetricFamily("lockstep_calendar_connections", "Calendar connections by health",
                                    labels=["health"])
    for health in ConnectionHealth:
        connections.add_metric([str(health)], state.connections_by_health.get(str(health), 0))
    yield connections
    yield GaugeMetricFamily("lockstep_outbox_depth", "Booking changes waiting in the outbox for the scheduler",
                            value=state.outbox_depth)
    yield GaugeMetricFamily("lockstep_outbox_oldest_seconds",
                            "Age of the oldest change waiting in the outbox (0 when it is empty)",
                            value=state.oldest_outbox_seconds)
    backlog = GaugeMetricFamily("lockstep_push_backlog", "Bookings' calendar events not in sync, by state",
                                labels=["state"])
    for mapping_state in BACKLOG_STATES:
        backlog.add_metric([str(mapping_state)], state.mappings_by_state.get(str(mapping_state), 0))
    yield backlog


def job_outcome_metric(counts: Mapping[tuple[str, str], int]) -> CounterMetricFamily:
    """The deployment's finished sync jobs (services.metrics.record_job_outcome), by job and outcome."""
    family = CounterMetricFamily("lockstep_sync_jobs", "Sync jobs finished by the workers, by job and outcome",
                                 labels=["job", "outcome"])
    for (job, outcome), count in sorted(counts.items()):
        family.add_metric([job, outcome], count)
    return family
