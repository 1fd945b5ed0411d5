"""The Reports' daily rollups give the figures a direct computation gives, built, derived or half of each.

The data set is a fortnight of two organisations' conversations with random (seeded) response and resolution
times down to the second, SLA clocks in every state, inbound messages with every sentiment label and agents'
replies; each report is computed from the conversations (`rollup_read.direct()`) and from the rollups, and
compared: counts exactly, percentiles within the histogram's bound (`rollup_hist`: under 1.1 %, plus the
page's rounding to 0.1 minute).
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from itertools import count
from typing import Any

import pytest

from hubbub.insights import reports, rollups
from hubbub.insights.models import ConversationRollup, ReportDay
from hubbub.insights.reports import Filters
from hubbub.insights.rollup_read import direct

pytestmark = pytest.mark.django_db

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


def _seed(made: dict[str, Any], rng: random.Random, n: int = 160) -> None:
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


@pytest.fixture
def fortnight(acme, make_org):  # type: ignore[no-untyped-def]
    rng = random.Random(16)
    other = make_org("globex", brands=("Globex One",))
    _seed(acme, rng)
    _seed(other, rng, n=40)
    return {"acme": acme, "globex": other}


def _same(rolled: Any, exact: Any, path: str = "") -> None:
    """Equal, but for percentiles: within 1.1 % of the exact value plus the pages' 0.1-minute rounding."""
    if isinstance(exact, dict):
        assert rolled.keys() == exact.keys(), path
        for key in exact:
            if key in PERCENTILE_KEYS and exact[key] is not None:
                assert rolled[key] is not None, f"{path}.{key}"
                assert abs(rolled[key] - exact[key]) <= 0.011 * exact[key] + 0.1, f"{path}.{key}"
            else:
                _same(rolled[key], exact[key], f"{path}.{key}")
    elif isinstance(exact, list):
        assert len(rolled) == len(exact), path
        for i, (a, b) in enumerate(zip(rolled, exact, strict=True)):
            _same(a, b, f"{path}[{i}]")
    else:
        assert rolled == exact, path


def _run(name: str, scope: Any, f: Filters) -> dict[str, Any]:
    return reports.sla(scope, f, now=NOW) if name == "sla" else reports.REPORTS[name](scope, f)


def _filter_sets(made: dict[str, Any]) -> list[Filters]:
    end = START + timedelta(days=DAYS - 1)
    air = made["brands"]["Acme Air"].pk
    return [
        Filters(start=START, end=end),
        Filters(start=START + timedelta(days=3), end=end - timedelta(days=2), brand_id=air),
        Filters(start=START, end=end, team_id=made["team"].pk),
    ]


def _compare_all(scope: Any, made: dict[str, Any]) -> None:
    for f in _filter_sets(made):
        for name in reports.REPORTS:
            with direct():
                exact = _run(name, scope, f)
            _same(_run(name, scope, f), exact, f"{name} {f}")


@pytest.mark.parametrize("built", ["none", "all", "half"])
def test_every_report_equals_the_direct_computation(fortnight, scope_of, built) -> None:
    acme = fortnight["acme"]
    org_id = acme["org"].pk
    if built == "all":
        assert rollups.rebuild(org_id, START, START + timedelta(days=DAYS - 1)) == DAYS
    elif built == "half":  # the first week stored, the second derived from the rows on each request
        rollups.rebuild(org_id, START, START + timedelta(days=6))
    stored = ConversationRollup.objects.filter(organization_id=org_id).count()
    assert (stored > 0) == (built != "none")
    for role in ("supervisor", "agent"):
        _compare_all(scope_of(acme["users"][role]), acme)


def test_the_figures_are_read_from_the_stored_rollups(fortnight, scope_of) -> None:
    """Not derived again: a stored row changed by hand shows on the page (the day is clean)."""
    acme = fortnight["acme"]
    rollups.rebuild(acme["org"].pk, START, START + timedelta(days=DAYS - 1))
    f = _filter_sets(acme)[0]
    scope = scope_of(acme["users"]["supervisor"])
    before = reports.response_times(scope, f)["total"]["conversations"]
    row = ConversationRollup.objects.filter(organization_id=acme["org"].pk).first()
    ConversationRollup.objects.filter(pk=row.pk).update(conversations=row.conversations + 1000)
    assert reports.response_times(scope, f)["total"]["conversations"] == before + 1000


def test_replies_resolves_and_assignments_keep_the_rollups_equal(
    fortnight, scope_of, django_capture_on_commit_callbacks
) -> None:
    from hubbub.inbox.actions.conversations import do_assign, do_change_status
    from hubbub.inbox.models import Conversation

    acme = fortnight["acme"]
    org_id = acme["org"].pk
    rollups.rebuild(org_id, START, START + timedelta(days=DAYS - 1))
    scope = scope_of(acme["users"]["supervisor"])
    assert not rollups.dirty_days(org_id, START, START + timedelta(days=DAYS - 1))
    convs = list(Conversation.objects.filter(organization_id=org_id, is_spam=False, resolved_at__isnull=True)[:2])
    other_team = acme["team"].pk
    with django_capture_on_commit_callbacks(execute=True):
        do_change_status(scope, convs[0], "resolved")
        do_assign(scope, convs[1], assignee_id=acme["users"]["analyst"].pk, team_id=other_team)
    touched = {c.first_message_at.astimezone(UTC).date() for c in convs}
    assert touched <= rollups.dirty_days(org_id, START, START + timedelta(days=DAYS - 1))
    _compare_all(scope, acme)  # the marked days are derived from the rows meanwhile
    assert rollups.rebuild_marked() >= len(touched)
    assert not rollups.dirty_days(org_id, START, START + timedelta(days=DAYS - 1))
    _compare_all(scope, acme)  # and stored again
    agents = reports.agents(scope, _filter_sets(acme)[0])["agents"]
    assert "acme-analyst" in [a["name"] for a in agents]  # the new assignee's row, from the rebuilt day


def test_a_user_sees_only_their_organisations_brands(fortnight, scope_of) -> None:
    from hubbub.tenancy.models import Membership

    acme, globex = fortnight["acme"], fortnight["globex"]
    for made in (acme, globex):
        rollups.rebuild(made["org"].pk, START, START + timedelta(days=DAYS - 1))
    f = _filter_sets(acme)[0]
    names = {b["brand"] for b in reports.response_times(scope_of(acme["users"]["supervisor"]), f)["brands"]}
    assert names == {"Acme Air", "Acme Rail"}
    globex = scope_of(globex["users"]["supervisor"])
    assert {b["brand"] for b in reports.volume(globex, f)["brands"]} == {"Globex One"}
    acme_air = Filters(start=f.start, end=f.end, brand_id=acme["brands"]["Acme Air"].pk)
    assert reports.volume(globex, acme_air)["total"]["messages"] == 0  # another organisation's brand: nothing
    membership = Membership.objects.get(user=acme["users"]["analyst"])
    membership.brands.set([acme["brands"]["Acme Rail"]])
    restricted = scope_of(acme["users"]["analyst"])
    for name in ("response-times", "sla", "volume"):
        data = _run(name, restricted, f)
        assert {b["brand"] for b in data["brands"]} <= {"Acme Rail"}, name
        with direct():
            _same(_run(name, restricted, f), data, name)


def test_the_rebuild_command_builds_every_day_from_the_first_conversation(fortnight) -> None:
    org_id = fortnight["acme"]["org"].pk
    built = rollups.rebuild_range(org_id, end=START + timedelta(days=DAYS - 1))
    assert built == DAYS  # the first conversation is on the first day of the fortnight
    assert ReportDay.objects.filter(organization_id=org_id, built_at__isnull=False).count() == DAYS


def test_an_ingest_batch_marks_its_days_and_the_page_counts_the_new_mentions(
    acme, scope_of, ingest, make_event, django_capture_on_commit_callbacks
) -> None:
    org_id = acme["org"].pk
    day = date(2026, 11, 1)  # make_event's mentions are written then
    rollups.rebuild(org_id, day, day)
    scope = scope_of(acme["users"]["supervisor"])
    f = Filters(start=day, end=day)
    assert reports.volume(scope, f)["total"]["messages"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        ingest(acme["org"], [make_event("where is my bag?", author=f"fan{i}") for i in range(3)])
    assert rollups.dirty_days(org_id, day, day) == {day}
    assert reports.volume(scope, f)["total"]["messages"] == 3  # derived from the rows until rebuilt
    assert reports.response_times(scope, f)["total"]["conversations"] == 3
    rollups.rebuild_marked()
    assert not rollups.dirty_days(org_id, day, day)
    assert reports.volume(scope, f)["total"]["messages"] == 3  # and now from the stored rollups


def test_the_rebuild_command(fortnight) -> None:
    from typer.testing import CliRunner

    from hubbub.cli import app

    end = (START + timedelta(days=DAYS - 1)).isoformat()
    res = CliRunner().invoke(app, ["report", "rebuild", "--org", "acme", "--from", START.isoformat(), "--to", end])
    assert res.exit_code == 0, res.output
    assert f"acme: {DAYS} days of report rollups built" in res.output
    assert not rollups.dirty_days(fortnight["acme"]["org"].pk, START, START + timedelta(days=DAYS - 1))
    assert ReportDay.objects.filter(organization=fortnight["globex"]["org"]).count() == 0  # --org: only acme
    res = CliRunner().invoke(app, ["report", "rebuild", "--from", "1 March"])
    assert res.exit_code != 0 and "YYYY-MM-DD" in res.output
