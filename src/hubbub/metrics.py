"""The Prometheus series every process counts itself: ingest batches, failed deliveries, request latency.

A core module so the apps that do the work (ingest, inbox) can count it without importing the
observability app above them. Figures the database already holds (queue depth, ingest lag, SLA
breaches) are not counted here: `hubbub.ops.collector` reads them at scrape time, so several web
processes never report different answers to the same question.

With several uvicorn workers each process keeps its own counters; `PROMETHEUS_MULTIPROC_DIR` (set by
`hubbub serve --workers N`, or by the operator for web and worker on one host) makes them write to
files there, which `registry()` adds up at scrape time.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.registry import REGISTRY

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # the library writes there from the first series on
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

INGEST_BATCHES = Counter("hubbub_ingest_batches", "Ingest batches processed (one per batch, not per message)")
INGESTED_EVENTS = Counter(
    "hubbub_ingest_events", "Raw events taken by ingest batches, by outcome", ["outcome"]
)  # outcome: processed | quarantined
DELIVERY_FAILURES = Counter("hubbub_reply_delivery_failures", "Replies whose delivery failed for good")
REQUEST_LATENCY = Histogram(
    "hubbub_http_request_duration_seconds",
    "Time to answer an HTTP request, by route name",
    ["route", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def record_ingest_batch(processed: int, quarantined: int) -> None:
    """Count one batch: the counters move once per batch whatever its size (the hot path stays cheap)."""
    INGEST_BATCHES.inc()
    if processed:
        INGESTED_EVENTS.labels("processed").inc(processed)
    if quarantined:
        INGESTED_EVENTS.labels("quarantined").inc(quarantined)


def record_delivery_failure() -> None:
    DELIVERY_FAILURES.inc()


def registry() -> CollectorRegistry:
    """What a scrape reads: this process's series, or every process's when they share a directory."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined)  # type: ignore[no-untyped-call]
        return combined
    return REGISTRY
