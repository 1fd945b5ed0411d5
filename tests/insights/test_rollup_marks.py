"""Changes made outside the inbox's `do_*` actions keep the Reports equal to a direct computation.

Each test builds the fortnight's rollups (every day clean), makes one change through its real entry point
(re-routing by the rules, an agent going away, `hubbub analysis reanalyze`, the accurate tier's refinement,
an agent's label correction) and checks: the figures the change moves did move, the days it touched are marked,
every report equals the direct computation while they are derived from the rows, and again once the periodic
task has rebuilt them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from hubbub.insights import reports, rollups
from hubbub.insights.reports import Filters
from hubbub.insights.tasks import rebuild_marked_report_days
from tests.insights.rollup_data import DAYS, START, compare_all, filter_sets

pytestmark = pytest.mark.django_db
END = START + timedelta(days=DAYS - 1)


def _built(made: dict[str, Any]) -> int:
    org_id = made["org"].pk
    rollups.rebuild(org_id, START, END)
    assert not rollups.dirty_days(org_id, START, END)
    return int(org_id)


def _equal_before_and_after_the_rebuild(scope: Any, made: dict[str, Any]) -> None:
    org_id = made["org"].pk
    compare_all(scope, made)  # the marked days are derived from the rows meanwhile
    rebuild_marked_report_days.call_local()  # the periodic task's own body
    assert not rollups.dirty_days(org_id, START, END)
    compare_all(scope, made)  # and stored again


def _inbound_days(org_id: int, since: date) -> set[date]:
    from hubbub.inbox.models import Message

    rows = Message.objects.filter(organization_id=org_id, direction="in", created_at__date__gte=since)
    return {at.astimezone(UTC).date() for at in rows.values_list("created_at", flat=True)}


def test_routing_rules_applied_again_move_the_team_figures(
    fortnight, scope_of, django_capture_on_commit_callbacks
) -> None:
    from hubbub.inbox.models import Conversation
    from hubbub.workflow.inputs import RuleIn
    from hubbub.workflow.services.routing import route_new_conversations
    from hubbub.workflow.services.rule_admin import create_rule

    acme = fortnight["acme"]
    org_id = _built(acme)
    scope = scope_of(acme["users"]["supervisor"])
    care, rail = acme["team"], acme["brands"]["Acme Rail"]
    create_rule(scope, RuleIn(name="rail to care", conditions={"brands": [rail.pk]}, actions={"team_id": care.pk}))
    moved = Conversation.objects.filter(organization_id=org_id, brand=rail, status="open").exclude(team=care)
    ids = list(moved.values_list("pk", flat=True))
    assert ids
    by_team = filter_sets(acme)[2]
    before = (reports.volume(scope, by_team), reports.agents(scope, by_team)["teams"])

    with django_capture_on_commit_callbacks(execute=True):
        route_new_conversations(org_id, ids)

    assert Conversation.objects.filter(pk__in=ids, team=care).count() == len(ids)
    touched = {d for d in rollups.cohort_days(ids, whole_span=True)[org_id] if START <= d <= END}
    assert touched and touched <= rollups.dirty_days(org_id, START, END)
    after = (reports.volume(scope, by_team), reports.agents(scope, by_team)["teams"])
    assert after[0]["total"]["messages"] > before[0]["total"]["messages"]  # rail's messages now count for care
    assert after != before
    _equal_before_and_after_the_rebuild(scope, acme)


def test_an_agent_going_away_moves_their_conversations_in_the_agents_report(
    fortnight, scope_of, django_capture_on_commit_callbacks
) -> None:
    from hubbub.inbox.models import Conversation
    from hubbub.workflow.services.assignment import set_availability

    acme = fortnight["acme"]
    org_id = _built(acme)
    agent = acme["users"]["agent"]
    scope = scope_of(acme["users"]["supervisor"])
    theirs = Conversation.objects.filter(organization_id=org_id, assignee=agent).exclude(status="resolved")
    ids = list(theirs.values_list("pk", flat=True))
    assert ids
    whole = filter_sets(acme)[0]

    def handled_by_agent() -> int:
        rows = reports.agents(scope, whole)["agents"]
        return sum(r["conversations"] for r in rows if r["name"] == agent.get_username())

    before = handled_by_agent()
    with django_capture_on_commit_callbacks(execute=True):
        set_availability(scope_of(agent), agent.pk, False)

    assert not Conversation.objects.filter(pk__in=ids, assignee=agent).exists()
    cohort = {c.first_message_at.astimezone(UTC).date() for c in Conversation.objects.filter(pk__in=ids)}
    assert cohort & rollups.dirty_days(org_id, START, END) == {d for d in cohort if START <= d <= END}
    in_range = Conversation.objects.filter(pk__in=ids, first_message_at__date__gte=START, is_spam=False)
    assert handled_by_agent() == before - in_range.exclude(author__is_brand_account=True).count()
    _equal_before_and_after_the_rebuild(scope, acme)


def test_reanalysis_from_the_cli_moves_the_sentiment_counts(
    fortnight, scope_of, django_capture_on_commit_callbacks
) -> None:
    from typer.testing import CliRunner

    from hubbub.cli import app

    acme = fortnight["acme"]
    org_id = _built(acme)
    scope = scope_of(acme["users"]["supervisor"])
    since = START + timedelta(days=9)
    week = Filters(start=since, end=END)
    before = reports.volume(scope, week)

    with django_capture_on_commit_callbacks(execute=True):
        done = CliRunner().invoke(app, ["analysis", "reanalyze", "--since", since.isoformat(), "--org", "acme"])

    assert done.exit_code == 0, done.output
    assert rollups.dirty_days(org_id, START, END) == _inbound_days(org_id, since)  # the earlier days stay clean
    assert reports.volume(scope, week) != before  # every text is "hi": the model's labels are not the seeded ones
    _equal_before_and_after_the_rebuild(scope, acme)


def test_the_accurate_tiers_refinement_moves_the_sentiment_counts(
    fortnight, scope_of, django_capture_on_commit_callbacks
) -> None:
    from hubbub.inbox.models import Message
    from hubbub.ingest import refinement

    acme = fortnight["acme"]
    org_id = _built(acme)
    scope = scope_of(acme["users"]["supervisor"])
    day = START + timedelta(days=4)
    waiting = Message.objects.filter(organization_id=org_id, direction="in", created_at__date=day)
    Message.objects.exclude(pk__in=waiting).update(refined_at=datetime(2026, 3, 20, tzinfo=UTC))
    assert waiting.exists()
    before = reports.volume(scope, Filters(start=day, end=day))

    with django_capture_on_commit_callbacks(execute=True):
        result = refinement.refine(cpu_budget=600)

    assert result.messages == waiting.count() and result.stopped == "done"
    assert rollups.dirty_days(org_id, START, END) == {day}
    assert reports.volume(scope, Filters(start=day, end=day)) != before
    _equal_before_and_after_the_rebuild(scope, acme)


def test_an_agents_sentiment_correction_moves_the_sentiment_counts(
    fortnight, scope_of, django_capture_on_commit_callbacks
) -> None:
    from hubbub.inbox.actions.labels import do_correct_label
    from hubbub.inbox.models import Message

    acme = fortnight["acme"]
    org_id = _built(acme)
    scope = scope_of(acme["users"]["supervisor"])
    message = Message.objects.filter(organization_id=org_id, direction="in", sentiment="positive").first()
    assert message is not None
    day = message.created_at.astimezone(UTC).date()
    one_day = Filters(start=day, end=day)
    negative = reports.volume(scope, one_day)["total"]["negative"]

    with django_capture_on_commit_callbacks(execute=True):
        do_correct_label(scope, message, "sentiment", "negative")

    assert rollups.dirty_days(org_id, START, END) == {day}
    assert reports.volume(scope, one_day)["total"]["negative"] == negative + 1
    _equal_before_and_after_the_rebuild(scope, acme)
