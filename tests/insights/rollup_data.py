"""The rollup tests' data and their yardstick: a fortnight of conversations, clocks and messages with random
(seeded) times and labels, and `compare_all`, which computes every report from the rows (`rollup_read.direct()`)
and from the rollups and compares them: counts exactly, percentiles within the histogram's bound
(`rollup_hist`: under 1.1 %, plus the page's rounding to 0.1 minute)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from itertools import count
from typing import Any

from hubbub.insights import reports
from hubbub.insights.reports import Filters
from hubbub.insights.rollup_read import direct

START = date(2026, 3, 1)
DAYS = 14
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)  # after the data: some running clocks are overdue, some not
_ids = count()
PERCENTILE_KEYS = {"p50", "p90", "p95", "first_response_p50", "first_response_p90", "resolution_p50", "resolution_p90"}


def _message(conv: Any, at: datetime, **kw: Any) -> Any:
    from hubbub.inbox.models import Message

    return Message(
        organization_id=conv.organization_id,
        brand=conv.brand,
        conversation=conv,
        network="x",
        author=conv.author,
        text="hi",
        created_at=at,
        **kw,
    )


def seed(made: dict[str, Any], rng: random.Random, n: int = 160) -> None:
    """`n` conversations of one organisation over the fortnight, with clocks and messages."""
    from hubbub.crm.models import SocialProfile
    from hubbub.inbox.models import Conversation, Message
    from hubbub.tenancy.models import Team
    from hubbub.workflow.models import SLAClock

    org = made["org"]
    brands = list(made["brands"].values())
    teams = [made["team"], Team.objects.create(organization=org, name=f"Social {org.slug}"), None]
    people = [made["users"]["agent"], made["users"]["supervisor"], None]
    authors = [
        SocialProfile.objects.create(
            organization=org, network="x", external_id=f"r{next(_ids)}", handle="fan", is_brand_account=i == 0
        )
        for i in range(6)
    ]
    messages = []
    for _ in range(n):
        at = datetime.combine(START, datetime.min.time(), UTC) + timedelta(seconds=rng.randrange(DAYS * 86400))
        fr = rng.lognormvariate(7.5, 1.2) if rng.random() < 0.8 else None
        res = fr + rng.lognormvariate(9.5, 1.0) if fr is not None and rng.random() < 0.6 else None
        conv = Conversation.objects.create(
            organization=org,
            brand=rng.choice(brands),
            network="x",
            author=rng.choice(authors),
            first_message_at=at,
            last_message_at=at + timedelta(hours=2),
            first_response_at=at + timedelta(seconds=round(fr)) if fr is not None else None,
            resolved_at=at + timedelta(seconds=round(res)) if res is not None else None,
            assignee=rng.choice(people),
            team=rng.choice(teams),
            is_spam=rng.random() < 0.05,
        )
        for metric in ("first_response", "resolution", "next_response"):
            outcome = rng.choice(["met", "breached", "cancelled", "", "", ""])
            state = "stopped" if outcome else rng.choice(["running", "running", "paused"])
            SLAClock.objects.create(
                organization=org,
                conversation=conv,
                metric=metric,
                state=state,
                outcome=outcome,
                target_seconds=3600,
                used_seconds=rng.choice([0, 7200]),
                started_at=at,
                due_at=None if outcome else NOW + timedelta(hours=rng.choice([-30, -1, 1, 30])),
                breached_at=NOW if not outcome and rng.random() < 0.1 else None,
            )

        for k in range(rng.randrange(1, 4)):
            sentiment = rng.choice(["negative", "neutral", "positive", ""])
            messages.append(
                _message(conv, at + timedelta(minutes=50 * k), external_id=f"rm{next(_ids)}", sentiment=sentiment)
            )
        if fr is not None:
            sent_by = rng.choice(people)
            reply_at = at + timedelta(seconds=round(fr))
            messages.append(_message(conv, reply_at, external_id=f"ro{next(_ids)}", direction="out", sent_by=sent_by))
    Message.objects.bulk_create(messages)


def same(rolled: Any, exact: Any, path: str = "") -> None:
    """Equal, but for percentiles: within 1.1 % of the exact value plus the pages' 0.1-minute rounding."""
    if isinstance(exact, dict):
        assert rolled.keys() == exact.keys(), path
        for key in exact:
            if key in PERCENTILE_KEYS and exact[key] is not None:
                assert rolled[key] is not None, f"{path}.{key}"
                assert abs(rolled[key] - exact[key]) <= 0.011 * exact[key] + 0.1, f"{path}.{key}"
            else:
                same(rolled[key], exact[key], f"{path}.{key}")
    elif isinstance(exact, list):
        assert len(rolled) == len(exact), path
        for i, (a, b) in enumerate(zip(rolled, exact, strict=True)):
            same(a, b, f"{path}[{i}]")
    else:
        assert rolled == exact, path


def run(name: str, scope: Any, f: Filters) -> dict[str, Any]:
    return reports.sla(scope, f, now=NOW) if name == "sla" else reports.REPORTS[name](scope, f)


def filter_sets(made: dict[str, Any]) -> list[Filters]:
    end = START + timedelta(days=DAYS - 1)
    air = made["brands"]["Acme Air"].pk
    return [
        Filters(start=START, end=end),
        Filters(start=START + timedelta(days=3), end=end - timedelta(days=2), brand_id=air),
        Filters(start=START, end=end, team_id=made["team"].pk),
    ]


def compare_all(scope: Any, made: dict[str, Any]) -> None:
    for f in filter_sets(made):
        for name in reports.REPORTS:
            with direct():
                exact = run(name, scope, f)
            same(run(name, scope, f), exact, f"{name} {f}")


def fortnight_of(acme: dict[str, Any], make_org: Any) -> dict[str, Any]:
    """Acme's 160 conversations and another organisation's 40 (`fortnight` fixture)."""
    rng = random.Random(16)
    other = make_org("globex", brands=("Globex One",))
    seed(acme, rng)
    seed(other, rng, n=40)
    return {"acme": acme, "globex": other}
