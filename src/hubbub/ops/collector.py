"""The gauges read from the database at scrape time: queue depth, ingest lag, failed deliveries, SLA breaches.

Read at scrape time rather than kept in a process: every web process then answers the same, and a
restart loses nothing. Labelled by organisation id, never by name (names are tenant data). The
figures come from `figures`, the same functions as `/readyz` and Settings → System.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.utils import timezone
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hubbub.ops import figures

ORG = ["organization_id"]


class DatabaseCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        database = figures.probe_database()
        yield GaugeMetricFamily("hubbub_database_up", "1 when the database answers a query", value=int(database.ok))
        redis_probe = figures.probe_redis()
        if redis_probe is not None:
            yield GaugeMetricFamily("hubbub_redis_up", "1 when Redis answers PING", value=int(redis_probe.ok))
        depth = figures.queue_depth()
        if depth is not None:
            yield GaugeMetricFamily("hubbub_task_queue_depth", "Tasks waiting in the task queue", value=depth)
        if settings.TASK_QUEUE_LIMIT:
            yield GaugeMetricFamily(
                "hubbub_task_queue_limit",
                "Queue depth at which new mentions stop adding a task per batch (one drain task instead)",
                value=settings.TASK_QUEUE_LIMIT,
            )
        if not database.ok:
            return
        pending = GaugeMetricFamily("hubbub_ingest_pending_events", "Raw events waiting for the worker", labels=ORG)
        lag = GaugeMetricFamily("hubbub_ingest_lag_seconds", "Age of the oldest waiting raw event", labels=ORG)
        for row in figures.ingest_lags(None, now):
            pending.add_metric([str(row.organization_id)], row.pending)
            lag.add_metric([str(row.organization_id)], figures.lag_seconds(row, now))
        yield pending
        yield lag
        yield _per_org(
            "hubbub_reply_delivery_failures_24h",
            "Replies that failed for good in the last 24 hours",
            figures.delivery_failures(None, now),
        )
        yield _per_org(
            "hubbub_sla_breaches_today", "SLA clocks breached since midnight UTC", figures.sla_breaches_today(None, now)
        )

    @classmethod
    def registry(cls) -> CollectorRegistry:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(cls())
        return registry


def _per_org(name: str, documentation: str, counts: dict[int, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=ORG)
    for org_id, n in sorted(counts.items()):
        family.add_metric([str(org_id)], n)
    return family
