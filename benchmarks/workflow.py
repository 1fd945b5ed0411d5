"""Workflow benchmark: routing + SLA evaluation speed, breach-warning delay, ingest slowdown.

    python benchmarks/workflow.py [--conversations 100000] [--ingest 20000] [--skip-ingest]

Self-contained: each measurement runs in a child process with its own temporary
HUBBUB_DATA_DIR (set before django.setup()), on the real airline tweets packaged with
Hubbub. Prints the figures and writes benchmarks/results/workflow.json:

* routing_conversations_per_s — 50 active rules compiled once, evaluated with their
  actions and the SLA due-time computation (business hours, team time zone) on 100,000
  conversations' facts, single core (the in-memory part of `route_new_conversations`;
  `routing_db_conversations_per_s` is the whole hook incl. its queries and writes);
* breach_warning_delay_s — the worst delay between a warning/breach falling due and the
  running task engine (real Huey consumer, periodic scheduler, 10 s sweeps) recording it,
  with the clock travelled (time-machine) to 20 s before a minute boundary;
* ingest_slowdown_pct — ingest of the same tweets with 50 active rules vs. none.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "workflow.json"

from _common import AIRLINE_BRANDS  # noqa: E402
from _common import replicated_airline_events as _events  # noqa: E402
from _common import setup_django as _setup_django  # noqa: E402

BRANDS = AIRLINE_BRANDS
KEYWORDS = [
    ["lost bag", "luggage", "baggage"],
    ["refund", "money back"],
    ["delay", "delayed"],
    ["cancelled", "canceled", "cancellation"],
    ["rude", "attitude"],
    ["seat", "legroom"],
    ["wifi", "internet"],
    ["miles", "points", "status"],
    ["booking", "reservation"],
    ["customer service", "on hold", "hold music"],
]


def _seed(rules: int):  # type: ignore[no-untyped-def]
    """An organisation with six brands, three teams, an SLA policy in business hours and `rules` rules."""
    from django.contrib.auth import get_user_model

    from hubbub.tenancy.models import Brand, Membership, Organization, Team
    from hubbub.tenancy.scoping import scope_for
    from hubbub.workflow.hours import OFFICE_HOURS
    from hubbub.workflow.inputs import BusinessHoursIn, RuleIn, SLAPolicyIn
    from hubbub.workflow.services.policies import save_business_hours, save_sla_policy
    from hubbub.workflow.services.rule_admin import create_rule

    org = Organization.objects.create(slug="bench", name="Bench")
    brands = [Brand.objects.create(organization=org, name=n, slug=s, handles=[s]) for n, s in BRANDS]
    sup = get_user_model().objects.create_user("bench-sup", password="x-bench-12345")
    Membership.objects.create(user=sup, organization=org, role="supervisor")
    scope = scope_for(sup, org.pk)
    teams = [
        Team.objects.create(organization=org, name=n, timezone=tz)
        for n, tz in (("Baggage", "America/Chicago"), ("Refunds", "America/New_York"), ("Care", "Europe/London"))
    ]
    hours = save_business_hours(
        scope,
        BusinessHoursIn(name="Office", timezone="America/New_York", schedule=OFFICE_HOURS, holidays=["2015-02-16"]),
    )
    targets = {
        "first_response": {"0": 240, "1": 60, "2": 30, "3": 15},
        "next_response": {"1": 120},
        "resolution": {"1": 1440, "2": 480},
    }
    policy = save_sla_policy(
        scope, SLAPolicyIn(name="Office SLA", targets=targets, business_hours_id=hours.pk, is_default=True)
    )
    fast = save_sla_policy(scope, SLAPolicyIn(name="VIP 24/7", targets={"first_response": {"1": 15, "3": 5}}))
    made = []
    for i in range(rules):
        kind = i % 5
        cond: dict[str, object] = {}
        if kind == 0:
            cond = {"keywords": KEYWORDS[i % len(KEYWORDS)]}
        elif kind == 1:
            cond = {"intents": ["complaint"], "brands": [brands[i % 6].pk], "min_urgency": 40 + i % 30}
        elif kind == 2:
            cond = {"sentiments": ["negative"], "keywords": KEYWORDS[(i * 3) % len(KEYWORDS)], "networks": ["x"]}
        elif kind == 3:
            cond = {"min_followers": 1000 * (1 + i % 5), "customer_tiers": ["loyal", "regular"], "languages": ["en"]}
        else:
            cond = {"business_hours": "outside", "business_hours_id": hours.pk, "intents": ["question"]}
        actions: dict[str, object] = {"team_id": teams[i % 3].pk}
        if i % 2:
            actions["priority"] = 1 + i % 3
        if i % 4 == 0:
            actions["tags"] = [f"rule-{i % 10}"]
        if i % 7 == 0:
            actions["sla_policy_id"] = fast.pk
        made.append(create_rule(scope, RuleIn(name=f"rule {i}", conditions=cond, actions=actions)))
    return org, scope, policy


def child_routing(n: int) -> dict[str, float]:
    """In-memory routing + SLA due computation over n conversations' facts (one core)."""
    data_dir = tempfile.mkdtemp(prefix="hubbub-wf-bench-")
    _setup_django(data_dir)
    import random

    from hubbub.analysis.services import analyze_batch
    from hubbub.analysis.types import AnalysisContext
    from hubbub.workflow import sla
    from hubbub.workflow.models import SLAPolicy
    from hubbub.workflow.rules import Facts, compile_rules
    from hubbub.workflow.services.routing import active_rules

    org, scope, policy = _seed(50)
    rules = active_rules(org.pk)
    events = _events(14000)
    analyses = analyze_batch([e.text for e in events[:14000]], [AnalysisContext() for _ in events[:14000]])
    brand_ids = sorted(scope.brand_ids)
    rng = random.Random(7)
    tiers = ["unknown", "one_time", "regular", "loyal"]
    facts = []
    for i in range(n):
        ev, a = events[i % len(events)], analyses[i % len(events)]
        at = datetime(2015, 2, 16, tzinfo=UTC) + timedelta(minutes=rng.randrange(0, 60 * 24 * 14))
        facts.append(
            Facts(
                brand_ids[i % len(brand_ids)],
                "x",
                a.intent,
                a.topic,
                a.sentiment,
                a.urgency,
                "en",
                ev.text.lower(),
                tiers[i % 4],
                float(i % 500),
                rng.choice((10, 100, 2000, 50000)),
                at,
                None,
            )
        )
    policies = {p.pk: p for p in SLAPolicy.objects.filter(organization=org)}
    team_tz = {}
    from hubbub.tenancy.models import Team

    team_tz = dict(Team.objects.filter(organization=org).values_list("id", "timezone"))
    t0 = time.perf_counter()
    c0 = time.process_time()
    compiled = compile_rules(rules)  # once per batch in the pipeline; included here
    cals = sla.CalendarCache()
    hours_cache: dict[tuple[int, int | None, datetime], bool] = {}
    due_count = 0
    for f in facts:
        team_id = f.team_id

        def hours(bh_id: int, f: Facts = f) -> bool:
            return cals.get(bh_id, team_tz.get(f.team_id) if f.team_id else None).is_open(f.at)

        matched = compiled.match(f, hours if compiled.needs_hours else None)
        priority = None
        sla_id = None
        tags: set[str] = set()
        for idx in matched:
            act = rules[idx].actions
            team_id = act.get("team_id", team_id)
            if act.get("priority") is not None:
                priority = act["priority"]
            sla_id = act.get("sla_policy_id", sla_id)
            tags.update(act.get("tags", ()))
        if priority is None:
            priority = 3 if f.urgency >= 80 else 2 if f.urgency >= 60 else 1
        pol = policies.get(sla_id) if sla_id else policy
        cal = cals.get(pol.business_hours_id, team_tz.get(team_id) if team_id else None)
        for metric in ("first_response", "resolution"):
            minutes = pol.target_minutes(metric, priority)
            if minutes is not None:
                due = cal.add_seconds(f.at, minutes * 60)
                due_count += due is not None
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - c0
    del hours_cache
    # the whole hook, with its queries and writes, on conversations stored by ingest
    db_rate = _routing_db(org, events[:5000])
    shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "conversations": n,
        "rules": len(rules),
        "seconds": elapsed,
        "conversations_per_s": n / elapsed,
        "conversations_per_cpu_s": n / cpu,
        "due_times": due_count,
        "db_conversations_per_s": db_rate,
    }


def _routing_db(org, events) -> float:  # type: ignore[no-untyped-def]
    """Time route_new_conversations alone on conversations the pipeline stored (rules off during ingest)."""
    from hubbub.inbox.models import Conversation
    from hubbub.ingest.services import accept, process_batch
    from hubbub.workflow.models import RoutingRule, SLAClock
    from hubbub.workflow.services.routing import route_new_conversations

    RoutingRule.objects.filter(organization=org).update(is_active=False)
    ids = accept(org.pk, events, "bench").raw_ids
    for i in range(0, len(ids), 500):
        process_batch(ids[i : i + 500])
    RoutingRule.objects.filter(organization=org).update(is_active=True)
    SLAClock.objects.all().delete()
    conv_ids = list(Conversation.objects.filter(organization=org).values_list("id", flat=True))
    Conversation.objects.filter(id__in=conv_ids).update(status="open", routing_log=[], team=None, sla_policy=None)
    t0 = time.perf_counter()
    for i in range(0, len(conv_ids), 500):
        route_new_conversations(org.pk, conv_ids[i : i + 500])
    return len(conv_ids) / (time.perf_counter() - t0)


def child_ingest(n: int, rules: int) -> dict[str, float]:
    data_dir = tempfile.mkdtemp(prefix="hubbub-wf-bench-")
    _setup_django(data_dir)
    from hubbub.analysis.services import get_analyzer
    from hubbub.inbox.models import Conversation
    from hubbub.ingest.services import accept, process_batch

    org, _, _ = _seed(rules)
    get_analyzer()
    events = _events(n)
    t0 = time.perf_counter()
    raw_ids: list[int] = []
    for i in range(0, len(events), 2000):
        raw_ids += accept(org.pk, events[i : i + 2000], "bench").raw_ids
    for i in range(0, len(raw_ids), 500):
        process_batch(raw_ids[i : i + 500])
    total = time.perf_counter() - t0
    routed = Conversation.objects.filter(organization=org).exclude(team=None).count()
    convs = Conversation.objects.filter(organization=org).count()
    shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "mentions": n,
        "rules": rules,
        "seconds": total,
        "mentions_per_s": n / total,
        "routed": routed,
        "conversations": convs,
    }


def child_breach(count: int) -> dict[str, float]:
    """Real Huey consumer with its periodic scheduler; clock travelled to 20 s before a minute boundary."""
    import time_machine

    now = datetime.now(UTC)
    start = (now + timedelta(days=1)).replace(second=40, microsecond=0)
    traveller = time_machine.travel(start, tick=True)
    traveller.start()
    data_dir = tempfile.mkdtemp(prefix="hubbub-wf-bench-")
    _setup_django(data_dir)
    from django.db.models import Count, Q
    from django.utils import timezone
    from huey.contrib.djhuey import HUEY

    from hubbub.crm.models import SocialProfile
    from hubbub.inbox.models import Conversation
    from hubbub.workflow.inputs import SLAPolicyIn
    from hubbub.workflow.models import SLAClock, SLAEvent
    from hubbub.workflow.services.policies import save_sla_policy
    from hubbub.workflow.services.routing import route_new_conversations

    org, scope, _ = _seed(0)
    save_sla_policy(scope, SLAPolicyIn(name="one minute", targets={"first_response": {"1": 1}}, is_default=True))
    brand = org.brands.first()
    t_now = timezone.now()
    convs = []
    for i in range(count):
        offset = 40 + 60 * i / count  # due 40–100 s from now; warnings (75 %) 25–85 s from now
        first = t_now - timedelta(seconds=60) + timedelta(seconds=offset)
        author = SocialProfile.objects.create(organization=org, network="x", external_id=f"a{i}", handle=f"a{i}")
        convs.append(
            Conversation(
                organization=org,
                brand=brand,
                network="x",
                author=author,
                urgency=10,
                first_message_at=first,
                last_message_at=first,
                last_inbound_at=first,
            )
        )
    Conversation.objects.bulk_create(convs)
    route_new_conversations(org.pk, [c.pk for c in convs])
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("tasks")  # register the periodic SLA task, as `hubbub serve`/`run_huey` do
    HUEY.immediate = False
    consumer = HUEY.create_consumer(workers=2, worker_type="thread", periodic=True, check_worker_health=False)
    consumer._set_signal_handlers = lambda: None
    consumer.start()
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline:
            done = SLAClock.objects.aggregate(
                w=Count("id", filter=Q(warned_at__isnull=False)), b=Count("id", filter=Q(breached_at__isnull=False))
            )
            if done["w"] == count and done["b"] == count:
                break
            time.sleep(1)
    finally:
        consumer.stop(graceful=True)
        traveller.stop()
    delays = [e.data["delay_s"] for e in SLAEvent.objects.filter(kind__in=["warning", "breach"])]
    shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "clocks": count,
        "events": len(delays),
        "max_delay_s": max(delays) if delays else float("nan"),
        "mean_delay_s": sum(delays) / len(delays) if delays else float("nan"),
    }


def _child(args: list[str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, cwd=ROOT, env=os.environ.copy()
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-4000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--ingest", type=int, default=20_000)
    parser.add_argument("--clocks", type=int, default=300)
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--only", default="", help="comma list of routing,breach,ingest (others keep their values)")
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "routing":
            result = child_routing(int(rest[0]))
        elif kind == "ingest":
            result = child_ingest(int(rest[0]), int(rest[1]))
        else:
            result = child_breach(int(rest[0]))
        print(json.dumps(result))
        return

    results: dict[str, float] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    only = set(args.only.split(",")) if args.only else {"routing", "breach", "ingest"}
    if args.skip_ingest:
        only.discard("ingest")
    if "routing" in only:
        routing = _child(["routing", str(args.conversations)])
        print(
            f"routing+SLA: {routing['conversations_per_cpu_s']:,.0f} conversations per CPU-second (one core), "
            f"{routing['conversations_per_s']:,.0f}/s wall clock ({routing['rules']} rules, "
            f"{routing['conversations']:,} conversations, in memory); whole hook with DB: "
            f"{routing['db_conversations_per_s']:,.0f}/s"
        )
        results["routing_conversations_per_s"] = round(routing["conversations_per_cpu_s"], 1)
        results["routing_conversations_per_wall_s"] = round(routing["conversations_per_s"], 1)
        results["routing_db_conversations_per_s"] = round(routing["db_conversations_per_s"], 1)
    if "breach" in only:
        breach = _child(["breach", str(args.clocks)])
        print(
            f"breach/warning delay: max {breach['max_delay_s']:.1f} s, mean {breach['mean_delay_s']:.1f} s "
            f"over {breach['events']} events"
        )
        results["breach_warning_delay_s"] = round(breach["max_delay_s"], 2)
        results["breach_warning_mean_delay_s"] = round(breach["mean_delay_s"], 2)
    if "ingest" in only:
        runs: dict[int, list[float]] = {0: [], 50: []}
        for _ in range(2):  # alternate to spread the noise of a shared machine over both
            for rules in (0, 50):
                r = _child(["ingest", str(args.ingest), str(rules)])
                runs[rules].append(r["mentions_per_s"])
                print(
                    f"ingest {args.ingest:,} tweets with {rules} rules: {r['mentions_per_s']:,.0f}/s "
                    f"({r['routed']:,} of {r['conversations']:,} conversations routed to a team)"
                )
        base, with_rules = max(runs[0]), max(runs[50])
        results["ingest_mentions_per_s_no_rules"] = round(base, 1)
        results["ingest_mentions_per_s_50_rules"] = round(with_rules, 1)
        results["ingest_slowdown_pct"] = round(100 * (base - with_rules) / base, 1)
        print(f"ingest slowdown with 50 rules: {results['ingest_slowdown_pct']} %")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
