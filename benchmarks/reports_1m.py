"""Reports at scale on PostgreSQL: every Reports page and API call with 1,000,000 conversations and ~5,000,000
messages, and the memory of a streamed CSV export of 1,000,000 rows.

    python benchmarks/reports_1m.py [--repeat 7] [--max-seconds 600] [--rebuild] [--export-only]

Generating a million conversations through the pipeline would take hours on a 2-core machine, so the data
are written once by the database itself (`INSERT … SELECT` over `generate_series`: no row crosses the
socket, which is COPY's saving taken one step further) into a dedicated database, `hubbub_bench_1m`, that
later runs reuse (a `bench_meta` table marks it complete; `--rebuild` drops it). The organisation is the one
`benchmarks/reports.py` seeds (six airline brands, three teams, eight agents, an office-hours SLA policy,
routing rules); over 2026:

* 300,000 authors; 1,000,000 conversations spread evenly over the year, each brand's going to its team and
  shared round-robin among the team's agents; ~75 % first-replied after a log-normal delay (median 40 min),
  ~60 % of those resolved after a further log-normal delay (median 5 h);
* 4.25 inbound messages per conversation on average plus the agent's reply: ~5,000,000 messages, labelled;
* a first-response and a resolution clock per conversation, stopped met/breached against their due time
  where answered, else running;
* 5,000 CSAT survey responses and 2,000 logged CSAT answers; 1,000,000 customers for the export.

Each page is requested `--repeat` times through the Django test client as a supervisor (who sees every
agent) for the default 30-day range (the last 30 days of the data; `--ranges days30 year` adds the whole
year); the Reports' daily rollups of the year are built first when missing (`rollup_build_seconds`, what
`hubbub report rebuild` costs after an upgrade); p50/p95 in
milliseconds. The customer export (1,000,000 rows) is streamed over HTTP from a web process of its own
(`hubbub serve --no-worker`) while that process's resident memory is sampled: `export_peak_rss_mb` is its
peak. Results go to
benchmarks/results/reports_1m.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "reports_1m.json"
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import setup_django as _setup_django  # noqa: E402

PG_ADMIN = os.environ.get("HUBBUB_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")
DATABASE = "hubbub_bench_1m"
CONVERSATIONS = 1_000_000
AUTHORS = 300_000
CUSTOMERS = 1_000_000
YEAR_START = "2026-01-01"
#: The default 30-day range of the pages (the data's last 30 days), and the whole year.
RANGES = {"days30": "from=2026-12-02&to=2026-12-31", "year": "from=2026-01-01&to=2026-12-31"}


def _database(rebuild: bool) -> tuple[str, bool]:
    """The benchmark database's URL, and whether its data are complete (created here when absent)."""
    import psycopg

    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + DATABASE
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone()
        if exists and rebuild:
            conn.execute(f"DROP DATABASE {DATABASE}")
            exists = None
        if not exists:
            conn.execute(f"CREATE DATABASE {DATABASE}")
            return url, False
    with psycopg.connect(url) as conn:
        done = conn.execute("SELECT to_regclass('bench_meta') IS NOT NULL").fetchone()
        return url, bool(done and done[0])


def _generate(org: Any, agents: dict[int, list[int]]) -> None:
    """Write the year of care work with set-based SQL (see the module docstring for its shape)."""
    from django.db import connection

    from hubbub.tenancy.models import Brand, Team
    from hubbub.workflow.models import SLAPolicy

    brands = list(Brand.objects.filter(organization=org).order_by("id").values_list("id", flat=True))
    teams = list(Team.objects.filter(organization=org).order_by("id").values_list("id", flat=True))
    policy = SLAPolicy.objects.get(organization=org, is_default=True).pk
    # brand i → team i % 3 (the routing rules of benchmarks/reports.py); agents round-robin within the team
    team_of = [teams[i % 3] for i in range(len(brands))]
    pools = [agents[t] for t in team_of]
    width = max(len(p) for p in pools)
    grid = [[p[j % len(p)] for j in range(width)] for p in pools]  # brand × slot → agent
    o = org.pk
    steps = [
        "SET synchronous_commit TO OFF",
        f"""INSERT INTO crm_socialprofile (organization_id, network, external_id, handle, display_name, followers,
            location, is_brand_account, first_seen_at, last_seen_at)
            SELECT {o}, 'x', 'a' || g, 'a' || g, 'Author ' || g, g % 5000, '', false,
                   TIMESTAMPTZ '{YEAR_START}', TIMESTAMPTZ '{YEAR_START}'
            FROM generate_series(1, {AUTHORS}) g""",
        # one row per conversation with its random draws, kept for the messages and clocks
        f"""CREATE TABLE bench_draws AS
            SELECT g, (g % {len(brands)}) AS b, random() AS r_reply, random() AS r_resolve, random() AS r_sent,
                   TIMESTAMPTZ '{YEAR_START}' + (g * 31536.0 / {CONVERSATIONS}) * INTERVAL '1000 seconds'
                       + random() * INTERVAL '30 seconds' AS first_at,
                   40 * exp(1.2 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())) AS reply_min,
                   300 * exp(1.0 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())) AS resolve_min
            FROM generate_series(1, {CONVERSATIONS}) g""",
        f"""INSERT INTO inbox_conversation (organization_id, brand_id, network, author_id, status, priority, preview,
            search_text, sentiment, sentiment_score, intent, topic, urgency, message_count, first_message_at,
            last_message_at, last_inbound_at, first_response_at, resolved_at, sla_due_at, routing_log, created_at,
            updated_at, assignee_id, team_id, is_spam, requires_approval, sla_policy_id)
            SELECT {o}, (ARRAY{brands})[d.b + 1], 'x',
                   (SELECT min(id) FROM crm_socialprofile WHERE organization_id = {o}) + d.g % {AUTHORS},
                   CASE WHEN d.r_reply < 0.75 AND d.r_resolve < 0.6 THEN 'resolved' ELSE 'open' END,
                   1, 'my bag never arrived', 'my bag never arrived',
                   CASE WHEN d.r_sent < 0.5 THEN 'negative' WHEN d.r_sent < 0.8 THEN 'neutral' ELSE 'positive' END,
                   0.0, 'complaint', 'baggage', 1, 5, d.first_at, d.first_at + INTERVAL '1 hour',
                   d.first_at + INTERVAL '1 hour',
                   CASE WHEN d.r_reply < 0.75 THEN d.first_at + d.reply_min * INTERVAL '1 minute' END,
                   CASE WHEN d.r_reply < 0.75 AND d.r_resolve < 0.6
                        THEN d.first_at + (d.reply_min + d.resolve_min) * INTERVAL '1 minute' END,
                   NULL, '[]', d.first_at, d.first_at, (ARRAY{grid})[d.b + 1][(d.g / 7) % {width} + 1],
                   (ARRAY{team_of})[d.b + 1], false, false, {policy}
            FROM bench_draws d ORDER BY d.g""",
        """CREATE TABLE bench_conv AS
            SELECT c.id, c.brand_id, c.assignee_id, c.author_id, c.first_message_at, c.first_response_at,
                   c.resolved_at, c.sentiment, row_number() OVER (ORDER BY c.id) AS g
            FROM inbox_conversation c""",
        f"""INSERT INTO inbox_message (organization_id, brand_id, conversation_id, network, external_id, direction,
            text, created_at, in_reply_to, url, lang, retweets, likes, sentiment, sentiment_score, intent, topic,
            journey_stage, urgency, analysis, model_version, author_id, sent_by_id, awaiting_parent)
            SELECT {o}, c.brand_id, c.id, 'x', 'm' || c.id || '-' || k, 'in', 'my bag never arrived, flight 42',
                   c.first_message_at + (k - 1) * INTERVAL '7 minutes', '', '', 'en', 0, 0,
                   CASE WHEN k = 1 THEN c.sentiment ELSE 'neutral' END, 0.0, 'complaint', 'baggage', 'service', 1,
                   '{{}}', 'bench', c.author_id, NULL, false
            FROM bench_conv c CROSS JOIN generate_series(1, 5) k
            WHERE k <= 4 OR c.g % 4 = 0""",
        f"""INSERT INTO inbox_message (organization_id, brand_id, conversation_id, network, external_id, direction,
            text, created_at, in_reply_to, url, lang, retweets, likes, sentiment, sentiment_score, intent, topic,
            journey_stage, urgency, analysis, model_version, author_id, sent_by_id, awaiting_parent)
            SELECT {o}, c.brand_id, c.id, 'x', 'reply-' || c.id, 'out', 'Sorry to hear that, we are on it.',
                   c.first_response_at, 'm' || c.id || '-1', '', 'en', 0, 0, '', 0.0, '', '', '', 0, '{{}}', '',
                   NULL, c.assignee_id, false
            FROM bench_conv c WHERE c.first_response_at IS NOT NULL""",
        f"""INSERT INTO workflow_slaclock (organization_id, conversation_id, policy_id, metric, state, target_seconds,
            used_seconds, started_at, running_since, due_at, warn_at, warned_at, breached_at, stopped_at, outcome)
            SELECT {o}, c.id, {policy}, m.metric,
                   CASE WHEN m.done IS NULL THEN 'running' ELSE 'stopped' END, m.target, 0, c.first_message_at,
                   CASE WHEN m.done IS NULL THEN c.first_message_at END,
                   c.first_message_at + m.target * INTERVAL '1 second', NULL, NULL, NULL, m.done,
                   CASE WHEN m.done IS NULL THEN ''
                        WHEN m.done > c.first_message_at + m.target * INTERVAL '1 second' THEN 'breached'
                        ELSE 'met' END
            FROM bench_conv c CROSS JOIN LATERAL (
                VALUES ('first_response', 3600, c.first_response_at), ('resolution', 86400, c.resolved_at)
            ) m(metric, target, done)""",
        f"""INSERT INTO crm_customer (organization_id, name, email, phone, external_id, tier, lifetime_value,
            order_count, custom_fields, created_at, address, handles, hubspot_id, location, name_key,
            sync_snapshot, first_key)
            SELECT {o}, 'Customer ' || g, 'c' || g || '@example.com', '+1 555 ' || lpad((g % 10000000)::text, 7, '0'),
                   'cust-' || g, CASE WHEN g % 10 = 0 THEN 'gold' ELSE '' END, (g % 2000) * 1.5, g % 12, '{{}}',
                   TIMESTAMPTZ '{YEAR_START}', g || ' Main Street', '[]', '', 'Springfield',
                   'customer ' || g, '{{}}', 'customer'
            FROM generate_series(1, {CUSTOMERS}) g""",
        "DROP TABLE bench_draws",
        "DROP TABLE bench_conv",
    ]
    with connection.cursor() as cursor:
        for sql in steps:
            t = time.perf_counter()
            cursor.execute(sql)
            print(f"  {' '.join(sql.split())[:70]}… {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)


def _seed_csat(org: Any, agents: dict[int, list[int]]) -> None:
    """The CSAT answers `benchmarks/reports.py` seeds, spread over the year."""
    import random
    from datetime import datetime

    from hubbub.crm.models import Customer
    from hubbub.tenancy.models import Brand
    from reports import seed_csat

    brand_ids = sorted(Brand.objects.filter(organization=org).values_list("id", flat=True))
    customer = Customer.objects.filter(organization=org).order_by("id").first()
    start = datetime.fromisoformat(YEAR_START + "T00:00:00+00:00")
    seed_csat(org, agents, brand_ids, customer, start, 365 * 1440, random.Random(20261207))


def build(url: str) -> None:
    """Migrate, seed and generate the data set once; `bench_meta` is written last, so a run cut short is
    rebuilt rather than measured."""
    from django.db import connection

    from reports import _seed

    org, _, agents = _seed()
    t0 = time.perf_counter()
    _generate(org, agents)
    _seed_csat(org, agents)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("CREATE TABLE bench_meta (built_at timestamptz, seconds float)")
        cursor.execute("INSERT INTO bench_meta VALUES (now(), %s)", [time.perf_counter() - t0])
    print(f"generated in {time.perf_counter() - t0:.0f} s", file=sys.stderr)


def _build_rollups() -> float:
    """The Reports' daily rollups of the data's year, as `hubbub report rebuild` builds them after an upgrade:
    the seconds it took, 0 when every day was built already (a later run of the same data set)."""
    from datetime import date

    from hubbub.insights import rollups  # models: only once `setup_django` has run
    from hubbub.tenancy.models import Organization

    first, last = date.fromisoformat(YEAR_START), date(date.fromisoformat(YEAR_START).year, 12, 31)
    t0 = time.perf_counter()
    for org_id in Organization.objects.values_list("id", flat=True):
        if rollups.dirty_days(org_id, first, last):
            rollups.rebuild(org_id, first, last)
    seconds = time.perf_counter() - t0
    print(f"report rollups of {first}..{last}: {seconds:.0f} s", file=sys.stderr, flush=True)
    return seconds if seconds > 1 else 0.0


def _pages() -> dict[str, str]:
    return {
        "response_times": "/reports/",
        "sla": "/reports/sla/",
        "volume": "/reports/volume/",
        "agents": "/reports/agents/",
        "csat": "/reports/csat/",
        "api_agents": "/api/v1/reports/agents",
        "volume_csv_brand_days": "/reports/export/volume/brand_days.csv",
    }


def _time_pages(client: Any, ranges: dict[str, str], repeat: int, deadline: float) -> dict[str, float]:
    out: dict[str, float] = {}
    for label, query in ranges.items():
        timings: dict[str, list[float]] = {k: [] for k in _pages()}
        for path in _pages().values():  # warm: templates compiled, caches filled
            res = client.get(f"{path}?{query}")
            assert res.status_code == 200, (path, res.status_code)
            if res.streaming:
                b"".join(res.streaming_content)
        for _ in range(repeat):
            if time.monotonic() > deadline:
                break
            for name, path in _pages().items():
                t = time.perf_counter()
                res = client.get(f"{path}?{query}")
                if res.streaming:
                    b"".join(res.streaming_content)
                timings[name].append((time.perf_counter() - t) * 1000)
        for name, values in timings.items():
            if not values:
                continue
            values.sort()
            out[f"{label}_{name}_p50_ms"] = round(statistics.median(values), 1)
            out[f"{label}_{name}_p95_ms"] = round(values[max(0, math.ceil(len(values) * 0.95) - 1)], 1)
            print(f"  {label} {name}: p50 {out[f'{label}_{name}_p50_ms']} ms", file=sys.stderr, flush=True)
    return out


def _export_peak_rss(client: Any, url: str) -> tuple[float, float, int]:
    """Stream Customers → Export (every customer) from a web process of its own, as a user's browser would
    get it, and sample that process's resident memory meanwhile: (peak MB, MB before the export, rows).

    A fresh `hubbub serve --no-worker` on the benchmark's database, signed in with the session `client`
    holds (sessions are in the database), so the figure is what one web process of a fleet needs, not this
    benchmark process with its generator and every page it timed."""
    import socket
    import subprocess

    import httpx
    import psutil
    from django.conf import settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**os.environ, "DATABASE_URL": url, "HUBBUB_DATA_DIR": tempfile.mkdtemp(prefix="hubbub-export-")}
    cmd = [sys.executable, "-m", "hubbub", "serve", "--no-worker", "--port", str(port)]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, server)
        cookies = {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}
        web = psutil.Process(server.pid)

        def rss() -> float:
            return sum(p.memory_info().rss for p in [web, *web.children(recursive=True)]) / 2**20

        httpx.get(base + "/customers/", cookies=cookies, timeout=60)  # the page a user exports from
        before = rss()
        peak = [before]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], rss())
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        lines = 0
        with httpx.stream("GET", base + "/customers/export.csv", cookies=cookies, timeout=600) as res:
            assert res.status_code == 200, res.status_code
            for chunk in res.iter_bytes():
                lines += chunk.count(b"\n")
        done.set()
        sampler.join()
        return peak[0], before, lines - 1
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_healthy(base: str, server: Any) -> None:
    import httpx

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.5)
    raise SystemExit(f"the web process at {base} did not answer (exit {server.poll()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--max-seconds", type=float, default=600, help="stop timing pages after this long")
    parser.add_argument("--rebuild", action="store_true", help="drop and generate the data set again")
    parser.add_argument("--ranges", nargs="*", default=["days30"], choices=sorted(RANGES), help="date ranges timed")
    parser.add_argument(
        "--export-only", action="store_true", help="measure the export alone; keep the JSON's page figures"
    )
    args = parser.parse_args()
    url, complete = _database(args.rebuild)
    _setup_django(tempfile.mkdtemp(prefix="hubbub-bench-"), url)
    if not complete:
        print(f"generating the data set into {DATABASE} (once)…", file=sys.stderr, flush=True)
        build(url)
    from django.contrib.auth import get_user_model
    from django.test import Client

    from hubbub.inbox.models import Conversation, Message

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench-sup"))
    deadline = time.monotonic() + args.max_seconds
    results: dict[str, float] = {
        "conversations": Conversation.objects.count(),
        "messages": Message.objects.count(),
        "repeat": args.repeat,
    }
    if args.export_only and RESULTS.exists():
        results = {**json.loads(RESULTS.read_text()), **results}
    else:
        ranges = {k: v for k, v in RANGES.items() if k in args.ranges}
        results["rollup_build_seconds"] = round(_build_rollups(), 1)
        results.update(_time_pages(client, ranges, args.repeat, deadline))
        pages = [v for k, v in results.items() if k.startswith("days30_") and k.endswith("_p95_ms")]
        results["report_p95_ms_1m"] = max(pages)
    peak, before, rows = _export_peak_rss(client, url)
    results.update(
        {"export_rows": rows, "export_peak_rss_mb": round(peak, 1), "export_rss_before_mb": round(before, 1)}
    )
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
