"""Listening services: keep rollups current during ingest (and, later, match queries)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from django.db import connection

from hubbub.analysis.types import Analysis
from hubbub.connectors.events import InboundEvent
from hubbub.listening.models import MentionRollup

GRAINS = {
    MentionRollup.Grain.MINUTE: lambda t: t.replace(second=0, microsecond=0),
    MentionRollup.Grain.HOUR: lambda t: t.replace(minute=0, second=0, microsecond=0),
    MentionRollup.Grain.DAY: lambda t: t.replace(hour=0, minute=0, second=0, microsecond=0),
}


def record_mentions(org_id: int, items: Sequence[tuple[InboundEvent, int, Analysis | None]]) -> None:
    """Add a batch of inbound mentions to the minute/hour/day rollups with one read and two writes."""
    counts: dict[tuple[int, str, datetime], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for ev, brand_id, analysis in items:
        if ev.direction != "in":
            continue
        sentiment = analysis.sentiment if analysis else "neutral"
        for grain, floor in GRAINS.items():
            c = counts[(brand_id, grain, floor(ev.created_at))]
            c[0] += 1
            c[1 + ("negative", "neutral", "positive").index(sentiment)] += 1
            c[4] += ev.retweets + ev.likes
    if not counts:
        return
    _upsert(org_id, counts)


def _upsert(org_id: int, counts: dict[tuple[int, str, datetime], list[int]]) -> None:
    """Additive upsert: identical SQL on SQLite (>= 3.24) and PostgreSQL, safe with concurrent workers."""
    table = MentionRollup._meta.db_table
    sql = (
        f"INSERT INTO {table} "
        "(organization_id, brand_id, grain, bucket, total, negative, neutral, positive, engagement) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (brand_id, grain, bucket) DO UPDATE SET "
        f"total = {table}.total + excluded.total, negative = {table}.negative + excluded.negative, "
        f"neutral = {table}.neutral + excluded.neutral, positive = {table}.positive + excluded.positive, "
        f"engagement = {table}.engagement + excluded.engagement"
    )
    adapt = connection.ops.adapt_datetimefield_value
    rows = [
        (org_id, brand_id, grain, adapt(bucket), *values)
        for (brand_id, grain, bucket), values in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2]))
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
