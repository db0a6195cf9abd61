"""Where a latency sample spent its time: the stage stamps (services.stage_stamps) of the API and the worker, and
the fake's own times, lined up per sample.

Samples are taken one at a time, so every stamp between one change and the next belongs to the first; of each stage
the first stamp at or after the change counts.

Terms: a *path* (StagePath) is the stages one kind of change goes through, in order, with where each is stamped;
"gone" is the bench's own (the change seen), and the *trailing* stages come after it, measured from the commit.
PUSH_PATH is a calendar's push notification and its pull (bench/push_latency.py); other benches give theirs.
"""

from __future__ import annotations

import bisect
import statistics
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from bench.common import percentile


@dataclass(frozen=True)
class StagePath:
    """The stages of one kind of change (see the module's terms). `early`: how long before a sample's own moment of
    change a stamp may still be its own (a fake's stamp taken on another thread)."""

    stages: tuple[tuple[str, str], ...]  # (stage, where it is stamped), in path order
    committed: str = "blocks.committed"
    trailing: tuple[str, ...] = ("pull.done", "job.end")
    early: float = 0.0


# In path order: (stage, where it is stamped). "change" is the insert at the fake, "gone" the slot seen gone.
STAGES = (
    ("notified", "the fake's POST to /webhooks/google goes out"),
    ("webhook.received", "API: the route hands it to the inbox"),
    ("webhook.checking", "API: the inbox's consumer picks it up"),
    ("webhook.verified", "API: channel and token checked, calendar marked due"),
    ("webhook.claimed", "API: calendar claimed for the pull"),
    ("webhook.enqueued", "API: job on the queue"),
    ("job.start", "worker: RQ dequeued it and starts it"),
    ("pull.body", "worker: the job function runs"),
    ("pull.leased", "worker: sync lease taken"),
    ("listed", "the fake answers the incremental events.list"),
    ("blocks.committed", "worker: busy block committed"),
    ("blocks.published", "worker: availabilityChanged published"),
    ("gone", "bench: the slot is gone from availableSlots"),
    ("pull.done", "worker: the pull's remaining writes done"),
    ("job.end", "worker: RQ finished with the job"),
)
# The fake's notification can leave (on its own thread) a moment before the bench's clock reading after the insert.
PUSH_PATH = StagePath(STAGES, early=0.005)


@dataclass
class Sample:
    changed: float  # perf_counter() of the insert at the fake
    gone: float  # the slot seen gone
    stages: dict[str, float]
    ticking: float = 0.0  # seconds of the sample during which the scheduler was in a tick
    collecting: float = 0.0  # seconds of the sample during which a garbage collection paused a process

    @property
    def delay(self) -> float:
        return self.gone - self.changed


Interval = tuple[float, float]


def read_stamps(path: Path) -> tuple[dict[str, list[float]], dict[str, list[Interval]]]:
    """Every stamp by stage, in seconds of perf_counter(), sorted; and the spans of scheduler ticks ("tick") and of
    garbage collections ("gc", in any process)."""
    stamps: dict[str, list[float]] = defaultdict(list)
    spans: dict[str, list[Interval]] = defaultdict(list)
    begun: dict[tuple[str, str], float] = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        stage, _key, ns, pid = line.split()
        at = int(ns) / 1e9
        kind, _, phase = stage.partition(".")
        if kind in ("tick", "gc") and phase in ("start", "end", "stop"):
            if phase == "start":
                begun[(kind, pid)] = at
            elif (kind, pid) in begun:
                spans[kind].append((begun.pop((kind, pid)), at))
            continue
        stamps[stage].append(at)
    for times in stamps.values():
        times.sort()
    return stamps, spans


def _overlap(spans: list[Interval], start: float, end: float) -> float:
    return sum(max(0.0, min(stop, end) - max(begin, start)) for begin, stop in spans)


def _first_after(times: list[float], start: float) -> float | None:
    index = bisect.bisect_left(times, start)
    return times[index] if index < len(times) else None


def line_up(changes: list[tuple[float, float]], stamps: dict[str, list[float]],
            spans: dict[str, list[Interval]], path: StagePath = PUSH_PATH) -> list[Sample]:
    """`changes`: (changed, gone) per sample, in order; the stamps (the fake's included) by stage. Each stage is the
    first stamp after the stage before it (the change, at first), so a late stamp of one sample's pull is never
    taken for the next one's."""
    samples = []
    for index, (changed, gone) in enumerate(changes):
        end = changes[index + 1][0] - path.early if index + 1 < len(changes) else float("inf")
        stages: dict[str, float] = {}
        previous = changed - path.early
        for stage, _ in path.stages:
            if stage == "gone":
                continue
            at = _first_after(stamps.get(stage, []), previous)
            # Stages up to the commit belong to this sample only before the next change; the trailing ones may
            # come after it.
            if at is None or (stage not in path.trailing and at >= end):
                continue
            stages[stage] = at
            previous = at
        stages["gone"] = gone
        samples.append(Sample(changed, gone, stages, _overlap(spans.get("tick", []), changed, gone),
                              _overlap(spans.get("gc", []), changed, gone)))
    return samples


def _steps(sample: Sample, path: StagePath) -> dict[str, float]:
    """Milliseconds from the previous stage that was stamped (the change, at first) to each stage."""
    steps, previous = {}, sample.changed
    for stage, _ in path.stages:
        at = sample.stages.get(stage)
        if at is None:
            continue
        if stage in path.trailing:  # after the change is seen: measured from the commit instead
            base = sample.stages.get(path.committed, previous)
            steps[stage] = (at - base) * 1000
            continue
        steps[stage] = (at - previous) * 1000
        previous = at
    return steps


def breakdown(samples: list[Sample], slowest: int, path: StagePath = PUSH_PATH) -> str:
    """Per stage, the p50/p99 of its step; then each of the `slowest` samples' steps."""
    all_steps = [_steps(sample, path) for sample in samples]
    lines = [f"stage breakdown (ms from the stage before; {' and '.join(path.trailing)} from the commit):",
             f"  {'stage':<20} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}  where"]
    for stage, where in path.stages:
        values = [steps[stage] for steps in all_steps if stage in steps]
        if values:
            lines.append(f"  {stage:<20} {statistics.median(values):7.2f} {percentile(values, 0.95):7.2f} "
                         f"{percentile(values, 0.99):7.2f} {max(values):7.2f}  {where}")
    ticked = [sample for sample in samples if sample.ticking > 0]
    calm = [sample for sample in samples if sample.ticking == 0]
    for name, group in (("overlapping a scheduler tick", ticked), ("with no tick", calm)):
        if group:
            ms = [sample.delay * 1000 for sample in group]
            lines.append(f"samples {name}: {len(ms)}, p50 {statistics.median(ms):.1f} ms, "
                         f"p95 {percentile(ms, 0.95):.1f} ms, max {max(ms):.1f} ms")
    ordered = sorted(range(len(samples)), key=lambda n: samples[n].delay, reverse=True)[:slowest]
    lines.append(f"the {len(ordered)} slowest samples (total ms; ms of it in a scheduler tick and in garbage "
                 "collections; each stage's step, ms):")
    for n in ordered:
        steps = all_steps[n]
        detail = ", ".join(f"{stage} {steps[stage]:.1f}" for stage, _ in path.stages if stage in steps)
        lines.append(f"  {samples[n].delay * 1000:7.1f} (tick {samples[n].ticking * 1000:.0f}, "
                     f"gc {samples[n].collecting * 1000:.0f}): {detail}")
    return "\n".join(lines)
