"""Reports a care-team lead reads: SLA attainment, response times, volume and sentiment, agents and teams, CSAT.

The fixture builds conversations with known timings and SLA clock outcomes, so every percentage below is
worked out by hand from it (see `care_data`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import count

import pytest

from hubbub.insights import reports
from hubbub.insights.reports import Filters

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 2)
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
_ids = count()


def _conv(org, brand, *, fr=None, res=None, assignee=None, team=None, at=T0, spam=False, brand_author=False):  # type: ignore[no-untyped-def]
    from hubbub.crm.models import SocialProfile
    from hubbub.inbox.models import Conversation

    author = SocialProfile.objects.create(
        organization=org, network="x", external_id=f"au{next(_ids)}", handle="fan", is_brand_account=brand_author
    )
    return Conversation.objects.create(
        organization=org,
        brand=brand,
        network="x",
        author=author,
        first_message_at=at,
        last_message_at=at,
        first_response_at=at + timedelta(minutes=fr) if fr is not None else None,
        resolved_at=at + timedelta(minutes=res) if res is not None else None,
        status="resolved" if res is not None else "open",
        assignee=assignee,
        team=team,
        is_spam=spam,
    )


def _clock(conv, metric, *, outcome="", state=None, due_in=60, breached=False):  # type: ignore[no-untyped-def]
    from hubbub.workflow.models import SLAClock

    return SLAClock.objects.create(
        organization_id=conv.organization_id,
        conversation=conv,
        metric=metric,
        state=state or ("stopped" if outcome else "running"),
        outcome=outcome,
        target_seconds=3600,
        started_at=conv.first_message_at,
        running_since=None if outcome else conv.first_message_at,
        due_at=None if outcome else NOW + timedelta(minutes=due_in),
        breached_at=NOW if breached else None,
    )


@pytest.fixture
def care_data(acme):  # type: ignore[no-untyped-def]
    """Acme Air: c1 (agent, Care) answered in 10 min, resolved in 60, both clocks met; c2 (agent, Care)
    answered in 30 min (first-response breached), resolved in 120 (met); c3 (supervisor, no team) answered
    in 20, resolution clock running; c4 nobody, unanswered, first-response clock overdue (due 1 h before NOW),
    resolution running. Acme Rail: c5 (agent, team Social) 5 / 15 min, both met.
    Not counted: a spam conversation, one started by the brand's account, one before the range."""
    from hubbub.tenancy.models import Team

    air, rail = acme["brands"]["Acme Air"], acme["brands"]["Acme Rail"]
    agent, sup = acme["users"]["agent"], acme["users"]["supervisor"]
    care = acme["team"]
    social = Team.objects.create(organization=acme["org"], name="Social")
    c1 = _conv(acme["org"], air, fr=10, res=60, assignee=agent, team=care)
    c2 = _conv(acme["org"], air, fr=30, res=120, assignee=agent, team=care)
    c3 = _conv(acme["org"], air, fr=20, assignee=sup)
    c4 = _conv(acme["org"], air)
    c5 = _conv(acme["org"], rail, fr=5, res=15, assignee=agent, team=social)
    for c, fr_out, res_out in ((c1, "met", "met"), (c2, "breached", "met"), (c3, "met", ""), (c5, "met", "met")):
        _clock(c, "first_response", outcome=fr_out)
        _clock(c, "resolution", outcome=res_out)
    _clock(c4, "first_response", due_in=-60)
    _clock(c4, "resolution")
    for extra in (
        _conv(acme["org"], air, fr=1, res=1, assignee=agent, spam=True),
        _conv(acme["org"], air, fr=1, res=1, assignee=agent, brand_author=True),
        _conv(acme["org"], air, fr=1, res=1, assignee=agent, at=T0 - timedelta(days=40)),
    ):
        _clock(extra, "first_response", outcome="breached")
    return {**acme, "social": social, "convs": [c1, c2, c3, c4, c5]}


def _filters(**kw) -> Filters:  # type: ignore[no-untyped-def]
    return Filters(start=DAY - timedelta(days=6), end=DAY, **kw)


def test_sla_attainment_per_brand_and_team_from_the_stored_clocks(care_data, scope_of) -> None:
    scope = scope_of(care_data["users"]["supervisor"])
    data = reports.sla(scope, _filters(), now=NOW)
    fr, res = data["total"]["first_response"], data["total"]["resolution"]
    assert (fr["met"], fr["breached"], fr["running"]) == (3, 2, 0)  # c4's running clock is overdue: breached
    assert (fr["met_pct"], fr["breached_pct"], fr["attainment_pct"]) == (60.0, 40.0, 60.0)
    assert (res["met"], res["breached"], res["running"]) == (3, 0, 2)
    assert (res["met_pct"], res["running_pct"], res["attainment_pct"]) == (60.0, 40.0, 100.0)
    air, rail = data["brands"]
    assert air["brand"] == "Acme Air" and air["first_response"]["met_pct"] == 50.0
    assert air["resolution"]["running_pct"] == 50.0 and rail["first_response"]["met_pct"] == 100.0
    teams = {t["team"]: t for t in data["teams"]}
    assert list(teams) == ["Care", "Social", "No team"]
    assert teams["Care"]["first_response"]["attainment_pct"] == 50.0
    assert teams["No team"]["first_response"]["breached"] == 1


def test_a_running_clock_counts_as_breached_once_overdue(care_data, scope_of) -> None:
    scope = scope_of(care_data["users"]["supervisor"])
    earlier = NOW - timedelta(hours=2)  # c4's first-response clock was not yet due then
    fr = reports.sla(scope, _filters(), now=earlier)["total"]["first_response"]
    assert (fr["met"], fr["breached"], fr["running"]) == (3, 1, 1)


def test_response_time_percentiles_match_numpy(care_data, scope_of) -> None:
    import numpy as np

    data = reports.response_times(scope_of(care_data["users"]["analyst"]), _filters())
    air = data["brands"][0]
    assert air["conversations"] == 4
    first = air["first_response_minutes"]
    assert (first["count"], first["p50"], first["p90"]) == (3, 20.0, 28.0)
    assert first["p95"] == round(float(np.percentile([10, 20, 30], 95)), 1) == 29.0
    assert (air["resolution_minutes"]["p50"], air["resolution_minutes"]["p90"]) == (90.0, 114.0)
    assert data["total"]["conversations"] == 5 and data["total"]["first_response_minutes"]["p50"] == 15.0


def test_agents_and_teams(care_data, scope_of) -> None:
    data = reports.agents(scope_of(care_data["users"]["supervisor"]), _filters())
    rows = {r["name"]: r for r in data["agents"]}
    agent = rows["acme-agent"]
    assert (agent["conversations"], agent["replied"], agent["resolved"]) == (3, 3, 3)
    assert (agent["first_response_p50"], agent["first_response_p90"]) == (10.0, 26.0)
    assert (agent["resolution_p50"], agent["resolution_p90"]) == (60.0, 108.0)
    assert agent["sla"]["first_response"]["attainment_pct"] == 66.7
    assert rows["acme-supervisor"]["resolved"] == 0 and rows["acme-supervisor"]["resolution_p50"] is None
    teams = {r["name"]: r for r in data["teams"]}
    assert teams["Care"]["conversations"] == 2 and teams["No team"]["conversations"] == 2
    assert teams["Social"]["first_response_p50"] == 5.0


def test_an_agent_sees_only_their_own_row(care_data, scope_of) -> None:
    data = reports.agents(scope_of(care_data["users"]["agent"]), _filters())
    assert [r["name"] for r in data["agents"]] == ["acme-agent"] and data["own_row_only"]
    assert len(data["teams"]) == 3  # team figures stay visible


def test_volume_and_sentiment_per_day_and_brand(acme, scope_of) -> None:
    from hubbub.inbox.models import Message

    air, rail = acme["brands"]["Acme Air"], acme["brands"]["Acme Rail"]
    conv_air, conv_rail = _conv(acme["org"], air), _conv(acme["org"], rail)
    spec = [
        (conv_air, T0, "negative", "in", 3),
        (conv_air, T0, "positive", "in", 1),
        (conv_air, T0, "negative", "out", 5),  # our replies are not volume
        (conv_air, T0 - timedelta(days=1), "neutral", "in", 1),
        (conv_rail, T0 - timedelta(days=1), "positive", "in", 2),
        (conv_rail, T0 - timedelta(days=1), "", "in", 1),
    ]
    Message.objects.bulk_create(
        Message(
            organization=acme["org"],
            brand=c.brand,
            conversation=c,
            network="x",
            external_id=f"vm{next(_ids)}",
            direction=d,
            text="t",
            created_at=at,
            sentiment=s,
        )
        for c, at, s, d, n in spec
        for _ in range(n)
    )
    data = reports.volume(scope_of(acme["users"]["analyst"]), Filters(start=DAY - timedelta(days=2), end=DAY))
    days = {d["day"]: d for d in data["days"]}
    assert list(days) == ["2026-02-28", "2026-03-01", "2026-03-02"]  # empty days are shown as zero
    assert days["2026-02-28"]["messages"] == 0
    assert (days["2026-03-02"]["messages"], days["2026-03-02"]["negative_pct"]) == (4, 75.0)
    assert (days["2026-03-01"]["unlabelled"], days["2026-03-01"]["positive_pct"]) == (1, 50.0)
    brands = {b["brand"]: b for b in data["brands"]}
    assert brands["Acme Air"]["messages"] == 5 and brands["Acme Rail"]["positive"] == 2
    assert data["total"]["messages"] == 8 and data["total"]["per_day"] == 2.7
    only_rail = reports.volume(scope_of(acme["users"]["analyst"]), Filters(DAY - timedelta(days=2), DAY, rail.pk))
    assert only_rail["total"]["messages"] == 3


@pytest.fixture
def csat_data(acme):  # type: ignore[no-untyped-def]
    from hubbub.crm.models import Customer, Interaction
    from hubbub.insights.models import SurveyResponse

    air = acme["brands"]["Acme Air"]
    for score, brand in ((5, air), (4, air), (1, air), (Decimal("3.5"), None)):
        SurveyResponse.objects.create(
            organization=acme["org"],
            brand=brand,
            external_id=f"sr{next(_ids)}",
            submitted_at=T0,
            score=score,
            scale="csat",
            scale_min=1,
            scale_max=5,
        )
    SurveyResponse.objects.create(
        organization=acme["org"],
        brand=air,
        external_id="nps1",
        submitted_at=T0,
        score=9,
        scale="nps",
        scale_min=0,
        scale_max=10,
    )
    customer = Customer.objects.create(organization=acme["org"], name="Ann")
    for score, user in ((5, "agent"), (3, "agent"), (2, "supervisor")):
        Interaction.objects.create(
            organization=acme["org"],
            customer=customer,
            kind="csat",
            score=score,
            author=acme["users"][user],
            occurred_at=T0,
        )
    return acme


def test_csat_per_brand_from_surveys_and_per_agent_from_crm_answers(csat_data, scope_of) -> None:
    data = reports.csat(scope_of(csat_data["users"]["analyst"]), _filters())
    surveys = data["surveys"]
    assert surveys["total"]["responses"] == 4 and surveys["total"]["average"] == 3.38  # (5+4+1+3.5)/4; NPS left out
    air, no_brand = surveys["brands"]
    assert (air["brand"], air["average"], air["satisfied_pct"], air["score_1"]) == ("Acme Air", 3.33, 66.7, 1)
    assert no_brand["brand"] == "No brand" and no_brand["score_3"] == 1
    agents = {a["agent"]: a for a in data["interactions"]["agents"]}
    assert agents["acme-agent"]["average"] == 4.0 and agents["acme-supervisor"]["responses"] == 1
    one_brand = reports.csat(scope_of(csat_data["users"]["analyst"]), _filters(brand_id=air["brand_id"]))
    assert one_brand["surveys"]["total"]["responses"] == 3 and not one_brand["interactions"]["counted"]
    agent_view = reports.agents(scope_of(csat_data["users"]["agent"]), _filters())
    assert agent_view["agents"][0]["csat_average"] == 4.0


def test_another_organisation_sees_none_of_the_figures(care_data, csat_data, make_org, scope_of) -> None:
    globex = make_org("globex", brands=("Globex",))
    scope = scope_of(globex["users"]["admin"])
    acme_brand = care_data["brands"]["Acme Air"].pk
    f = reports.parse_filters(scope, {"from": "2026-02-01", "to": "2026-03-05", "brand": str(acme_brand)})
    assert f.brand_id is None  # another organisation's brand is ignored, not trusted
    for name, build in reports.REPORTS.items():
        data = build(scope, f)
        for table, (_, rows) in reports.tables(name, data).items():
            if name == "volume" and table == "days":
                assert all(r[1] == 0 for r in rows)
            else:
                assert rows == [], (name, table)


def test_filters_default_to_the_last_30_days_and_refuse_bad_dates(acme, scope_of) -> None:
    scope = scope_of(acme["users"]["analyst"])
    f = reports.parse_filters(scope, {}, today=DAY)
    assert (f.start, f.end, f.brand_id) == (DAY - timedelta(days=29), DAY, None)
    rail = acme["brands"]["Acme Rail"].pk
    assert reports.parse_filters(scope, {}, default_brand=rail, today=DAY).brand_id == rail
    assert reports.parse_filters(scope, {"brand": ""}, default_brand=rail, today=DAY).brand_id is None
    assert reports.parse_filters(scope, {"team": str(acme["team"].pk)}).team_id == acme["team"].pk
    for bad in (
        {"from": "yesterday"},
        {"from": "2026-03-05", "to": "2026-03-01"},
        {"from": "2020-01-01", "to": "2026-01-01"},
    ):
        with pytest.raises(ValueError):
            reports.parse_filters(scope, bad, today=DAY)
