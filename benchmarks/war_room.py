"""War room benchmark: server time of every chart endpoint for every range with 5 million stored mentions.

    python benchmarks/war_room.py [--mentions 5000000] [--messages 300000] [--repeat 5]

Self-contained: a temporary HUBBUB_DATA_DIR (SQLite, set before django.setup()),
one organisation with five brands (each with the other four as competitors)
and three listening queries. A year of traffic (5 million mentions by default,
with a daily and weekly rhythm, 30 % negative, three languages) is written
straight into the rollup tables the ingest pipeline maintains (minute, hour
and day grains per brand, per query, and the language/network dimension),
exactly as `record_mentions` would have left them; ingesting 5 million
mentions through the whole pipeline would take hours and measure ingest, not
the war room. The panels that need mentions themselves (top authors,
most-shared posts, emerging terms) read a bounded number of the latest
mentions per brand; they are measured over `--messages` stored messages
spread over the same year (their cost depends on the scan cap, not the total).

Each (chart, range) pair is requested `--repeat` times through Django's test
client as a logged-in analyst (middleware, auth, scoping, JSON included);
`war_room_chart_ms` is the p95 over all of them. The key is merged into
benchmarks/results/crisis.json (other keys are kept).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "crisis.json"

from _common import setup_django as _setup  # noqa: E402

BRANDS = ["Virgin America", "United", "Southwest", "Delta", "American"]
LANGS = [("en", 0.85), ("es", 0.1), ("fr", 0.05)]


def _minute_weights(now: datetime) -> list[float]:
    """Relative traffic per minute over the year: a daily curve and quieter weekends."""
    start = now - timedelta(days=365)
    weights = []
    for m in range(365 * 24 * 60):
        t = start + timedelta(minutes=m)
        hod = t.hour + t.minute / 60.0
        daily = 0.35 + 0.65 * math.exp(-(((hod - 15.0) / 5.0) ** 2))
        weekly = 0.75 if t.weekday() >= 5 else 1.0
        weights.append(daily * weekly)
    return weights


def _generate(n_mentions: int, n_messages: int, seed: int = 7) -> tuple[int, dict[str, int]]:
    import numpy as np
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from hubbub.listening.models import DimensionRollup, ListeningQuery, MentionRollup, QueryRollup
    from hubbub.tenancy.models import Brand, Membership, Organization

    rng = np.random.default_rng(seed)
    org = Organization.objects.create(slug="bench", name="Bench")
    brands = [
        Brand.objects.create(organization=org, name=n, slug=n.lower().replace(" ", "-"), handles=[n.replace(" ", "")])
        for n in BRANDS
    ]
    for b in brands:
        b.competitors.set([c for c in brands if c.pk != b.pk])
    user = get_user_model().objects.create_user("bench-analyst", password="x-bench-12345")
    Membership.objects.create(user=user, organization=org, role="analyst")
    queries = [
        ListeningQuery.objects.create(organization=org, brand=brands[i], name=name, query=q)
        for i, (name, q) in enumerate([("Delays", "delay*"), ("Bags", "bag* OR luggage"), ("Refunds", "refund*")])
    ]

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now - timedelta(days=365)
    w = np.array(_minute_weights(now))
    share = np.array([0.3, 0.25, 0.2, 0.15, 0.1])
    counts = {}
    rows_written = {"minute": 0, "hour": 0, "day": 0, "query": 0, "dimension": 0}
    adapt = connection.ops.adapt_datetimefield_value
    mt = MentionRollup._meta.db_table
    qt = QueryRollup._meta.db_table
    dt = DimensionRollup._meta.db_table
    minutes = [start + timedelta(minutes=m) for m in range(len(w))]
    minute_keys = [adapt(t) for t in minutes]
    hour_idx = np.arange(len(w)) // 60
    day_idx = np.arange(len(w)) // 1440
    hours = [adapt(start + timedelta(hours=h)) for h in range(int(hour_idx[-1]) + 1)]
    days = [adapt(start + timedelta(days=d)) for d in range(int(day_idx[-1]) + 1)]
    for bi, brand in enumerate(brands):
        lam = w / w.sum() * n_mentions * share[bi]
        total = rng.poisson(lam)
        neg = rng.binomial(total, 0.3)
        pos = rng.binomial(total - neg, 0.3)
        neu = total - neg - pos
        eng = rng.poisson(total * 2.0)
        counts[brand.name] = int(total.sum())
        with transaction.atomic(), connection.cursor() as cur:
            nz = np.nonzero(total)[0]
            cur.executemany(
                f"INSERT INTO {mt} (organization_id, brand_id, grain, bucket, total, negative, neutral, positive, "
                "engagement) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                [
                    (
                        org.pk,
                        brand.pk,
                        "m",
                        minute_keys[i],
                        int(total[i]),
                        int(neg[i]),
                        int(neu[i]),
                        int(pos[i]),
                        int(eng[i]),
                    )
                    for i in nz
                ],
            )
            rows_written["minute"] += len(nz)
            for grain, idx, keys in (("h", hour_idx, hours), ("d", day_idx, days)):
                agg = [
                    np.bincount(idx, weights=a, minlength=len(keys)).astype(int) for a in (total, neg, neu, pos, eng)
                ]
                rows = [
                    (org.pk, brand.pk, grain, keys[i], *(int(a[i]) for a in agg)) for i in range(len(keys)) if agg[0][i]
                ]
                cur.executemany(
                    f"INSERT INTO {mt} (organization_id, brand_id, grain, bucket, total, negative, neutral, positive, "
                    "engagement) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                    rows,
                )
                rows_written["hour" if grain == "h" else "day"] += len(rows)
                # language and network dimension (hour and day grains, as ingest keeps them)
                drows = []
                for lang, p in LANGS:
                    vals = np.round(agg[0] * p).astype(int)
                    drows += [
                        (org.pk, brand.pk, grain, keys[i], "lang", lang, int(vals[i]))
                        for i in range(len(keys))
                        if vals[i]
                    ]
                drows += [
                    (org.pk, brand.pk, grain, keys[i], "network", "x", int(agg[0][i]))
                    for i in range(len(keys))
                    if agg[0][i]
                ]
                cur.executemany(
                    f"INSERT INTO {dt} (organization_id, brand_id, grain, bucket, dimension, value, total) "
                    "VALUES (%s,%s,%s,%s,%s,%s,%s)",
                    drows,
                )
                rows_written["dimension"] += len(drows)
            # this brand's queries match a fifth of its mentions, at every grain
            for q in [q for q in queries if q.brand_id == brand.pk]:
                qm = rng.binomial(total, 0.2)
                qn = rng.binomial(qm, 0.5)
                nzq = np.nonzero(qm)[0]
                qrows = [
                    (org.pk, q.pk, brand.pk, "m", minute_keys[i], int(qm[i]), int(qn[i]), int(qm[i] - qn[i]), 0, 0)
                    for i in nzq
                ]
                for grain, idx, keys in (("h", hour_idx, hours), ("d", day_idx, days)):
                    a_t = np.bincount(idx, weights=qm, minlength=len(keys)).astype(int)
                    a_n = np.bincount(idx, weights=qn, minlength=len(keys)).astype(int)
                    qrows += [
                        (org.pk, q.pk, brand.pk, grain, keys[i], int(a_t[i]), int(a_n[i]), int(a_t[i] - a_n[i]), 0, 0)
                        for i in range(len(keys))
                        if a_t[i]
                    ]
                cur.executemany(
                    f"INSERT INTO {qt} (organization_id, query_id, brand_id, grain, bucket, total, negative, neutral, "
                    "positive, engagement) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                    qrows,
                )
                rows_written["query"] += len(qrows)
        print(f"  rollups for {brand.name}: {counts[brand.name]:,} mentions", flush=True)
    _messages(org, brands, n_messages, now, rng)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return user.pk, {**rows_written, "mentions": sum(counts.values())}


def _messages(org, brands, n: int, now: datetime, rng) -> None:  # type: ignore[no-untyped-def]
    """n stored inbound messages over the year (real airline texts) with authors and conversations."""
    import numpy as np
    from django.db import transaction

    from hubbub.connectors.csv_import import parse_airline
    from hubbub.crm.models import SocialProfile
    from hubbub.db import fast_insert
    from hubbub.demo import AIRLINE_FILE
    from hubbub.inbox.models import Conversation, Message

    _, parsed = parse_airline(AIRLINE_FILE)
    texts = [r.event.text for r in parsed if r.event is not None]
    start = now - timedelta(days=365)
    n_authors = 5000
    SocialProfile.objects.bulk_create(
        [
            SocialProfile(
                organization=org,
                network="x",
                external_id=f"a{i}",
                handle=f"user{i}",
                followers=int(rng.pareto(1.2) * 200),
            )
            for i in range(n_authors)
        ],
        batch_size=1000,
    )
    profiles = list(SocialProfile.objects.filter(organization=org).values_list("id", flat=True))
    convs = Conversation.objects.bulk_create(
        [
            Conversation(
                organization=org,
                brand=brands[i % len(brands)],
                network="x",
                author_id=profiles[i % len(profiles)],
                first_message_at=now,
                last_message_at=now,
            )
            for i in range(2000)
        ],
        batch_size=1000,
    )
    conv_by_brand: dict[int, list[int]] = {}
    for c in convs:
        conv_by_brand.setdefault(c.brand_id, []).append(c.pk)
    secs = np.sort(rng.integers(0, 365 * 86400, size=n))
    sent = ("negative", "neutral", "positive")
    chunk: list[Message] = []
    for i in range(n):
        b = brands[int(rng.integers(0, len(brands)))]
        pool = conv_by_brand[b.pk]
        chunk.append(
            Message(
                organization_id=org.pk,
                brand_id=b.pk,
                conversation_id=pool[int(rng.integers(0, len(pool)))],
                network="x",
                external_id=f"m{i}",
                direction="in",
                author_id=profiles[int(rng.integers(0, len(profiles)))],
                text=texts[i % len(texts)],
                created_at=start + timedelta(seconds=int(secs[i])),
                lang="en",
                retweets=int(rng.poisson(0.3)),
                likes=int(rng.poisson(0.5)),
                sentiment=sent[int(rng.integers(0, 3))],
            )
        )
        if len(chunk) >= 20_000:
            with transaction.atomic():
                fast_insert(chunk)
            chunk = []
    if chunk:
        with transaction.atomic():
            fast_insert(chunk)
    print(f"  {n:,} stored messages", flush=True)


def _measure(user_id: int, repeat: int) -> dict[str, object]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from hubbub.listening.charts import CHARTS, RANGES
    from hubbub.tenancy.models import Brand

    client = Client()
    client.force_login(get_user_model().objects.get(pk=user_id))
    one_brand = Brand.objects.order_by("id").first().pk
    samples: list[float] = []
    worst: dict[str, float] = {}
    for name in CHARTS:
        for rng in RANGES:
            for brand in (None, one_brand):
                url = f"/api/v1/listening/charts/{name}?range={rng}" + (f"&brand={brand}" if brand else "")
                r = client.get(url)  # warm the connection and caches once
                assert r.status_code == 200, (url, r.status_code, r.content[:200])
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    r = client.get(url)
                    ms = (time.perf_counter() - t0) * 1000.0
                    samples.append(ms)
                    key = f"{name}:{rng}"
                    worst[key] = max(worst.get(key, 0.0), ms)
    # the page itself (summary rendered server-side)
    page = []
    for rng in RANGES:
        t0 = time.perf_counter()
        assert client.get(f"/war-room/?range={rng}").status_code == 200
        page.append((time.perf_counter() - t0) * 1000.0)
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(0.95 * len(samples)))]
    slowest = sorted(worst.items(), key=lambda kv: -kv[1])[:5]
    return {
        "war_room_chart_ms": round(p95, 1),
        "war_room_chart_p50_ms": round(statistics.median(samples), 1),
        "war_room_chart_max_ms": round(samples[-1], 1),
        "war_room_page_max_ms": round(max(page), 1),
        "slowest": slowest,
        "requests": len(samples),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mentions", type=int, default=5_000_000)
    ap.add_argument("--messages", type=int, default=300_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    data_dir = tempfile.mkdtemp(prefix="hubbub-bench-warroom-")
    _setup(data_dir)
    t0 = time.perf_counter()
    print(f"generating rollups for {args.mentions:,} mentions over a year …", flush=True)
    user_id, rows = _generate(args.mentions, args.messages)
    print(f"  done in {time.perf_counter() - t0:.0f} s; rows: {rows}", flush=True)
    res = _measure(user_id, args.repeat)
    db = Path(data_dir) / "hubbub.sqlite3"
    print(f"database: {db.stat().st_size / 1e9:.2f} GB")
    print(
        f"requests: {res['requests']}  p50 {res['war_room_chart_p50_ms']} ms  p95 {res['war_room_chart_ms']} ms  "
        f"max {res['war_room_chart_max_ms']} ms  (war room page max {res['war_room_page_max_ms']} ms)"
    )
    print("slowest chart:range (max ms):", ", ".join(f"{k} {v:.0f}" for k, v in res["slowest"]))
    if not args.no_write:
        current = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        current["war_room_chart_ms"] = res["war_room_chart_ms"]
        current["war_room_chart_p50_ms"] = res["war_room_chart_p50_ms"]
        current["war_room_mentions"] = rows["mentions"]
        RESULTS.write_text(json.dumps(dict(sorted(current.items())), indent=2) + "\n")
        print(f"merged into {RESULTS}")
    import shutil

    shutil.rmtree(data_dir, ignore_errors=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
