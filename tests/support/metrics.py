"""Reading /metrics over HTTP the way Prometheus does: the exposition text, parsed into samples."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample by (sample name, sorted labels)."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


async def scrape(http: httpx.AsyncClient, token: str | None = None) -> Samples:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return parse(response.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 for a series not exposed yet (a counter that has never been incremented)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def change(before: Samples, after: Samples) -> Samples:
    """What changed between two scrapes, for counters this process shares with earlier tests."""
    return {key: after[key] - before.get(key, 0.0) for key in after if after[key] != before.get(key, 0.0)}
