"""The Reports' daily rollups give the figures a direct computation gives, built, derived or half of each.

The data set is a fortnight of two organisations' conversations with random (seeded) response and resolution
times down to the second, SLA clocks in every state, inbound messages with every sentiment label and agents'
replies; each report is computed from the conversations (`rollup_read.direct()`) and from the rollups, and
compared: counts exactly, percentiles within the histogram's bound (`rollup_hist`: under 1.1 %, plus the
page's rounding to 0.1 minute).
"""

from __future__ import annotations

from datetime import UTC, date, timedelta

import pytest

from hubbub.insights import reports, rollups
from hubbub.insights.models import ConversationRollup, ReportDay
from hubbub.insights.reports import Filters
from hubbub.insights.rollup_read import direct
from tests.insights.rollup_data import DAYS, START, compare_all, filter_sets, run, same

pytestmark = pytest.mark.django_db


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
        compare_all(scope_of(acme["users"][role]), acme)


def test_the_figures_are_read_from_the_stored_rollups(fortnight, scope_of) -> None:
    """Not derived again: a stored row changed by hand shows on the page (the day is clean)."""
    acme = fortnight["acme"]
    rollups.rebuild(acme["org"].pk, START, START + timedelta(days=DAYS - 1))
    f = filter_sets(acme)[0]
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
    compare_all(scope, acme)  # the marked days are derived from the rows meanwhile
    assert rollups.rebuild_marked() >= len(touched)
    assert not rollups.dirty_days(org_id, START, START + timedelta(days=DAYS - 1))
    compare_all(scope, acme)  # and stored again
    agents = reports.agents(scope, filter_sets(acme)[0])["agents"]
    assert "acme-analyst" in [a["name"] for a in agents]  # the new assignee's row, from the rebuilt day


def test_a_user_sees_only_their_organisations_brands(fortnight, scope_of) -> None:
    from hubbub.tenancy.models import Membership

    acme, globex = fortnight["acme"], fortnight["globex"]
    for made in (acme, globex):
        rollups.rebuild(made["org"].pk, START, START + timedelta(days=DAYS - 1))
    f = filter_sets(acme)[0]
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
        data = run(name, restricted, f)
        assert {b["brand"] for b in data["brands"]} <= {"Acme Rail"}, name
        with direct():
            same(run(name, restricted, f), data, name)


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
