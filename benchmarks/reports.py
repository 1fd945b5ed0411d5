"""Reports benchmark: latency of each Reports page, CSV export and API call on a big inbox.

    python benchmarks/reports.py [--mentions 100000] [--repeat 15] [--database-url postgres://…]

Self-contained: a child process with its own temporary HUBBUB_DATA_DIR (SQLite unless a database URL is
given) seeds an organisation (six airline brands, three teams with time zones, eight agents, a default SLA
policy in office hours, routing rules sending each brand to a team), ingests the packaged real airline
tweets replicated to `--mentions` through the real pipeline (accept → process_batch: analysis, threading,
routing, SLA clocks), then plays the care team's work in bulk, as the services would store it:

* each team's conversations are shared round-robin among its agents (assignee);
* ~75% get a first reply (outbound message sent by the assignee, `first_response_at`) after a log-normal
  delay (median ~40 min, long tail), and their first-response clock stops met or breached against its due time;
* ~60% of the replied ones are resolved after a further log-normal delay (median ~5 h), the resolution clock
  stopping met or breached the same way; the rest keep running (overdue ones count as breached);
* 5,000 CSAT survey responses over the brands and 2,000 CSAT answers logged by the agents.

Then each report is requested `--repeat` times through the Django test client as a supervisor (who sees
every agent: the largest pages) over the whole data period, and p50/p95 are printed and written to
benchmarks/results/reports.json (milliseconds).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "reports.json"

from _common import replicated_airline_events as _events  # noqa: E402
from _common import setup_django as _setup_django  # noqa: E402
from workflow import BRANDS  # noqa: E402 (the six airline brands the other benchmarks seed)

TEAMS = (("Baggage", "America/Chicago"), ("Refunds", "America/New_York"), ("Care", "Europe/London"))
AGENTS_PER_TEAM = (3, 3, 2)
RANGE = {"from": "2015-02-01", "to": "2015-03-01"}  # the airline tweets' period (Feb 2015)


def _seed():  # type: ignore[no-untyped-def]
    from django.contrib.auth import get_user_model

    from hubbub.tenancy.models import Brand, Membership, Organization, Team
    from hubbub.tenancy.scoping import scope_for
    from hubbub.workflow.hours import OFFICE_HOURS
    from hubbub.workflow.inputs import BusinessHoursIn, RuleIn, SLAPolicyIn
    from hubbub.workflow.services.policies import save_business_hours, save_sla_policy
    from hubbub.workflow.services.rule_admin import create_rule

    User = get_user_model()
    org = Organization.objects.create(slug="bench", name="Bench")
    brands = [Brand.objects.create(organization=org, name=n, slug=s, handles=[s]) for n, s in BRANDS]
    sup = User.objects.create_user("bench-sup", password="x-bench-12345")
    Membership.objects.create(user=sup, organization=org, role="supervisor")
    scope = scope_for(sup, org.pk)
    teams = [Team.objects.create(organization=org, name=n, timezone=tz) for n, tz in TEAMS]
    agents: dict[int, list[int]] = {}
    for team, count in zip(teams, AGENTS_PER_TEAM, strict=True):
        agents[team.pk] = []
        for i in range(count):
            user = User.objects.create_user(f"{team.name.lower()}-{i}", password="x-bench-12345")
            Membership.objects.create(user=user, organization=org, role="agent")
            team.members.add(user)
            agents[team.pk].append(user.pk)
    hours = save_business_hours(
        scope, BusinessHoursIn(name="Office", timezone="America/New_York", schedule=OFFICE_HOURS, holidays=[])
    )
    targets = {"first_response": {"0": 240, "1": 60, "2": 30, "3": 15}, "resolution": {"0": 2880, "1": 1440, "2": 480}}
    save_sla_policy(scope, SLAPolicyIn(name="Office SLA", targets=targets, business_hours_id=hours.pk, is_default=True))
    for i, brand in enumerate(brands):
        create_rule(
            scope,
            RuleIn(name=f"{brand.name} team", conditions={"brands": [brand.pk]}, actions={"team_id": teams[i % 3].pk}),
        )
    return org, sup, agents


def _lognormal_minutes(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0, sigma))


def _play_the_team(org: Any, agents: dict[int, list[int]]) -> dict[str, int]:
    """Assign, reply, resolve and stop the clocks in bulk, writing what the inbox services write."""
    from django.db import transaction

    from hubbub.crm.models import Customer
    from hubbub.db import fast_update
    from hubbub.inbox.models import Conversation, Message
    from hubbub.workflow.models import SLAClock

    rng = random.Random(20261202)
    convs = list(
        Conversation.objects.filter(organization=org, is_spam=False, author__is_brand_account=False)
        .order_by("id")
        .only("id", "brand_id", "team_id", "first_message_at", "network")
    )
    turn: dict[int, int] = {}
    replied: dict[int, Any] = {}
    resolved: dict[int, Any] = {}
    messages = []
    for c in convs:
        if c.team_id is None:
            continue
        pool = agents[c.team_id]
        c.assignee_id = pool[turn.setdefault(c.team_id, 0) % len(pool)]
        turn[c.team_id] += 1
        if rng.random() < 0.75:
            c.first_response_at = c.first_message_at + timedelta(minutes=_lognormal_minutes(rng, 40, 1.2))
            replied[c.pk] = c.first_response_at
            messages.append(
                Message(
                    organization_id=org.pk,
                    brand_id=c.brand_id,
                    conversation_id=c.pk,
                    network=c.network,
                    external_id=f"reply-{c.pk}",
                    direction="out",
                    text="Sorry to hear that, we're on it. DM us your booking reference.",
                    created_at=c.first_response_at,
                    sent_by_id=c.assignee_id,
                )
            )
            if rng.random() < 0.6:
                c.resolved_at = c.first_response_at + timedelta(minutes=_lognormal_minutes(rng, 300, 1.0))
                c.status = "resolved"
                resolved[c.pk] = c.resolved_at
    with transaction.atomic():
        fast_update(
            [c for c in convs if c.assignee_id],
            ["assignee", "first_response_at", "resolved_at", "status"],
        )
        Message.objects.bulk_create(messages, batch_size=5000)
        clocks = list(
            SLAClock.objects.filter(organization=org, state="running").only("id", "conversation_id", "metric", "due_at")
        )
        stopped = []
        for clock in clocks:
            when = (replied if clock.metric == "first_response" else resolved).get(clock.conversation_id)
            if when is None:
                continue
            clock.state, clock.stopped_at = "stopped", when
            clock.outcome = "breached" if clock.due_at is not None and when > clock.due_at else "met"
            stopped.append(clock)
        fast_update(stopped, ["state", "stopped_at", "outcome"])
        brand_ids = sorted({c.brand_id for c in convs})
        start = min(c.first_message_at for c in convs)
        customer = Customer.objects.create(organization=org, name="Bench customer")
        seed_csat(org, agents, brand_ids, customer, start, 9 * 1440, rng)
    return {
        "conversations": len(convs),
        "replied": len(replied),
        "resolved": len(resolved),
        "clocks_stopped": len(stopped),
        "clocks": SLAClock.objects.filter(organization=org).count(),
    }


def seed_csat(
    org: Any, agents: dict[int, list[int]], brand_ids: list[int], customer: Any, start: Any, minutes: int, rng: Any
) -> None:
    """5,000 CSAT survey responses over the brands and 2,000 CSAT answers logged by the agents (on `customer`),
    spread over `minutes` from `start` (also used by benchmarks/reports_1m.py)."""
    from hubbub.crm.models import Interaction
    from hubbub.insights.models import SurveyResponse

    SurveyResponse.objects.bulk_create(
        [
            SurveyResponse(
                organization_id=org.pk,
                brand_id=rng.choice(brand_ids),
                external_id=f"csat-{i}",
                submitted_at=start + timedelta(minutes=rng.randrange(minutes)),
                score=rng.choices([1, 2, 3, 4, 5], weights=[18, 10, 14, 28, 30])[0],
                scale="csat",
                scale_min=1,
                scale_max=5,
            )
            for i in range(5000)
        ],
        batch_size=2000,
    )
    every_agent = [a for pool in agents.values() for a in pool]
    Interaction.objects.bulk_create(
        [
            Interaction(
                organization_id=org.pk,
                customer=customer,
                kind="csat",
                score=rng.choices([1, 2, 3, 4, 5], weights=[8, 7, 15, 35, 35])[0],
                author_id=rng.choice(every_agent),
                occurred_at=start + timedelta(minutes=rng.randrange(minutes)),
            )
            for _ in range(2000)
        ],
        batch_size=2000,
    )


def child(n: int, repeat: int, database_url: str | None) -> dict[str, float]:
    data_dir = tempfile.mkdtemp(prefix="hubbub-bench-")
    _setup_django(data_dir, database_url)
    from urllib.parse import urlencode

    from django.conf import settings
    from django.test import Client

    from hubbub.inbox.models import Message
    from hubbub.ingest.services import accept, process_batch
    from hubbub.insights import rollups
    from hubbub.runtime import warm_up_worker
    from hubbub.tenancy.models import Brand

    org, sup, agents = _seed()
    warm_up_worker()
    events = _events(n)
    t0 = time.perf_counter()
    for i in range(0, len(events), 5000):
        ids = accept(org.pk, events[i : i + 5000], "bench").raw_ids
        for j in range(0, len(ids), settings.INGEST_BATCH_SIZE):
            process_batch(ids[j : j + settings.INGEST_BATCH_SIZE])
    ingest_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    made = _play_the_team(org, agents)
    play_s = time.perf_counter() - t1
    print(f"ingested {n:,} mentions in {ingest_s:.0f} s; team work in {play_s:.0f} s: {made}", file=sys.stderr)
    # The team's work was written in bulk, past the signals that mark the Reports' daily rollups: build them
    # for the range as `hubbub report rebuild` would (else every day is derived from the rows per request).
    t2 = time.perf_counter()
    rollups.rebuild(org.pk, date.fromisoformat(RANGE["from"]), date.fromisoformat(RANGE["to"]))
    rollup_s = time.perf_counter() - t2
    client = Client()
    client.force_login(sup)
    united = Brand.objects.get(organization=org, slug="united").pk
    query = urlencode(RANGE)
    urls = {
        "response_times": f"/reports/?{query}",
        "sla": f"/reports/sla/?{query}",
        "volume": f"/reports/volume/?{query}",
        "agents": f"/reports/agents/?{query}",
        "csat": f"/reports/csat/?{query}",
        "agents_one_brand": f"/reports/agents/?{query}&brand={united}",
        "sla_csv_teams": f"/reports/export/sla/teams.csv?{query}",
        "volume_csv_brand_days": f"/reports/export/volume/brand_days.csv?{query}",
        "api_agents": f"/api/v1/reports/agents?{query}",
    }
    for url in urls.values():  # warm: templates compiled, caches filled
        res = client.get(url)
        assert res.status_code == 200, (url, res.status_code)
    timings: dict[str, list[float]] = {k: [] for k in urls}
    for _ in range(repeat):
        for name, url in urls.items():
            t = time.perf_counter()
            res = client.get(url)
            if res.streaming:
                b"".join(res.streaming_content)
            timings[name].append((time.perf_counter() - t) * 1000)
    out: dict[str, float] = {
        "mentions": n,
        "messages_inbound": Message.objects.filter(organization=org, direction="in").count(),
        "conversations": made["conversations"],
        "sla_clocks": made["clocks"],
        "ingest_mentions_per_s": round(n / ingest_s),
        "rollup_build_s": round(rollup_s, 1),
        "repeat": repeat,
    }
    for name, values in timings.items():
        values.sort()
        out[f"{name}_p50_ms"] = round(statistics.median(values), 1)
        out[f"{name}_p95_ms"] = round(values[max(0, math.ceil(len(values) * 0.95) - 1)], 1)
    shutil.rmtree(data_dir, ignore_errors=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: embedded SQLite)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.mentions, args.repeat, args.database_url)))
        return
    cmd = [sys.executable, __file__, "--child", "--mentions", str(args.mentions), "--repeat", str(args.repeat)]
    if args.database_url:
        cmd += ["--database-url", args.database_url]
    env = {**os.environ}
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode:
        sys.stderr.write(out.stderr[-5000:])
        raise SystemExit(out.returncode)
    sys.stderr.write(out.stderr[-2000:])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if args.database_url:  # kept next to the SQLite figures, under their own names
        result = {f"postgres_{k}": v for k, v in result.items()}
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    keep = {k: v for k, v in previous.items() if k.startswith("postgres_") != bool(args.database_url)}
    RESULTS.write_text(json.dumps({**keep, **result}, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
