"""Assignment: manual, round-robin or load-balanced per team, with capacity and availability;
going away hands conversations back; two agents in one composer are warned."""

from __future__ import annotations

import json

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client

from hubbub.inbox.models import Conversation
from hubbub.tenancy.models import AuditEvent, Membership
from hubbub.tenancy.scoping import PermissionDenied
from hubbub.workflow.inputs import RuleIn
from hubbub.workflow.services.assignment import save_assignment_policy, set_availability
from hubbub.workflow.services.presence import touch_composer
from hubbub.workflow.services.rule_admin import create_rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def team_of_three(acme, scopes):  # type: ignore[no-untyped-def]
    User = get_user_model()
    agents = []
    for name in ("amy", "bob", "cat"):
        u = User.objects.create_user(username=name, password="pw-12345678")
        Membership.objects.create(user=u, organization=acme["org"], role="agent")
        agents.append(u)
    team = acme["team"]
    team.members.set(agents)
    create_rule(scopes["supervisor"], RuleIn(name="all to care", actions={"team_id": team.pk}))
    return team, agents


def test_manual_teams_leave_conversations_unassigned(make_conv, team_of_three):
    assert make_conv().assignee_id is None


def test_round_robin_takes_turns(make_conv, scopes, team_of_three):
    team, agents = team_of_three
    save_assignment_policy(scopes["supervisor"], team, "round_robin", 10)
    owners = [make_conv().assignee_id for _ in range(4)]
    ids = sorted(a.pk for a in agents)
    assert owners == [ids[0], ids[1], ids[2], ids[0]]
    assert AuditEvent.objects.filter(verb="conversation.assign", data__auto=True).count() == 4


def test_load_balanced_picks_the_least_busy_and_respects_capacity(acme, make_conv, scopes, team_of_three):
    team, (amy, bob, cat) = team_of_three
    save_assignment_policy(scopes["supervisor"], team, "load_balanced", 2)
    busy = make_conv(route=False)
    Conversation.objects.filter(pk=busy.pk).update(assignee=amy)
    owners = [make_conv().assignee_id for _ in range(6)]
    assert owners[:2] == [bob.pk, cat.pk]
    assert owners.count(amy.pk) == 1 and owners.count(bob.pk) == 2 and owners.count(cat.pk) == 2
    assert owners[-1] is None  # everybody is at capacity: it waits in the team queue


def test_away_agents_get_nothing_and_going_away_reassigns(acme, make_conv, scopes, scope_of, team_of_three):
    team, (amy, bob, cat) = team_of_three
    save_assignment_policy(scopes["supervisor"], team, "load_balanced", 10)
    set_availability(scope_of(cat, acme["org"]), cat.pk, False)
    convs = [make_conv() for _ in range(4)]
    assert {c.assignee_id for c in convs} == {amy.pk, bob.pk}
    set_availability(scope_of(amy, acme["org"]), amy.pk, False)
    assert set(Conversation.objects.filter(pk__in=[c.pk for c in convs]).values_list("assignee_id", flat=True)) == {
        bob.pk
    }
    assert AuditEvent.objects.filter(verb="member.availability").count() == 2


def test_agents_set_only_their_own_availability(acme, scopes, team_of_three):
    _, (amy, _, _) = team_of_three
    with pytest.raises(PermissionDenied):
        set_availability(scopes["agent"], amy.pk, False)
    set_availability(scopes["supervisor"], amy.pk, False)
    assert not Membership.objects.get(user=amy).is_available


@pytest.mark.parametrize("role", ["agent", "analyst"])
def test_only_supervisors_change_a_teams_assignment(acme, scopes, role):
    with pytest.raises(PermissionDenied):
        save_assignment_policy(scopes[role], acme["team"], "round_robin", 5)
    c = Client()
    c.force_login(acme["users"][role])
    assert c.post(f"/workflow/teams/{acme['team'].pk}/", {"mode": "round_robin"}).status_code == 403
    r = c.put(
        f"/api/v1/workflow/teams/{acme['team'].pk}/assignment",
        json.dumps({"mode": "round_robin"}),
        content_type="application/json",
    )
    assert r.status_code == 403


def test_two_agents_in_one_composer_are_warned(acme, make_conv, scopes):
    conv = make_conv()
    assert touch_composer(scopes["agent"], conv) == []
    assert touch_composer(scopes["supervisor"], conv) == ["acme-agent"]
    c = Client()
    c.force_login(acme["users"]["agent"])
    r = c.post(f"/c/{conv.pk}/composing/")
    assert b"acme-supervisor" in r.content and b"also writing" in r.content


def test_the_collision_warning_expires(make_conv, scopes):
    from datetime import timedelta

    from django.utils import timezone

    conv = make_conv()
    touch_composer(scopes["agent"], conv)
    with time_machine.travel(timezone.now() + timedelta(minutes=2), tick=False):
        assert touch_composer(scopes["supervisor"], conv) == []


def test_teams_page_and_availability_api(acme, scopes):
    c = Client()
    c.force_login(acme["users"]["agent"])
    assert b"Availability" in c.get("/workflow/teams/").content
    r = c.put("/api/v1/workflow/availability", json.dumps({"available": False}), content_type="application/json")
    assert r.json() == {"user_id": acme["users"]["agent"].pk, "available": False}


def test_availability_form_never_redirects_off_site(acme):
    c = Client()
    c.force_login(acme["users"]["agent"])
    r = c.post("/workflow/availability/", {"available": "0", "next": "https://evil.example/"})
    assert r.status_code == 302 and r["Location"] == "/workflow/teams/"
    r = c.post("/workflow/availability/", {"available": "1", "next": "/"})
    assert r["Location"] == "/"
