"""SLA clocks: targets by priority in business hours, paused while pending, warned at 75 %,
breached at the target, stopped by a reply or resolution, and kept as history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from hubbub.inbox.actions.conversations import do_change_status
from hubbub.inbox.actions.delivery import do_deliver_reply
from hubbub.inbox.actions.replies import do_create_reply
from hubbub.inbox.models import Conversation, Direction, Message
from hubbub.workflow import sla
from hubbub.workflow.hours import OFFICE_HOURS
from hubbub.workflow.inputs import BusinessHoursIn, RuleIn, SLAPolicyIn
from hubbub.workflow.models import SLAClock, SLAEvent, SLAPolicy
from hubbub.workflow.services.policies import save_business_hours, save_sla_policy
from hubbub.workflow.services.rule_admin import create_rule
from hubbub.workflow.services.sla_hooks import on_customer_messages

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York


def _policy(scopes, hours=None, **targets):  # type: ignore[no-untyped-def]
    t = targets or {
        "first_response": {"0": 240, "1": 60, "2": 30, "3": 15},
        "next_response": {"1": 120, "2": 60},
        "resolution": {"1": 1440},
    }
    return save_sla_policy(
        scopes["supervisor"],
        SLAPolicyIn(name="Standard", targets=t, is_default=True, business_hours_id=hours.pk if hours else None),
    )


def _hours(scopes, holidays=()):  # type: ignore[no-untyped-def]
    return save_business_hours(
        scopes["supervisor"],
        BusinessHoursIn(name="NY office", timezone="America/New_York", schedule=OFFICE_HOURS, holidays=list(holidays)),
    )


def test_without_a_policy_the_first_response_is_due_in_an_hour(make_conv):
    conv = make_conv(at=T0)
    assert conv.sla_due_at == T0 + timedelta(hours=1)
    assert SLAClock.objects.get(conversation=conv).metric == "first_response"


def test_targets_follow_priority(make_conv, scopes):
    _policy(scopes)
    normal = make_conv(at=T0, urgency=10)
    urgent = make_conv(at=T0, urgency=90)
    assert normal.priority == 1 and normal.sla_due_at == T0 + timedelta(minutes=60)
    assert urgent.priority == 3 and urgent.sla_due_at == T0 + timedelta(minutes=15)
    assert set(normal.sla_clocks.values_list("metric", flat=True)) == {"first_response", "resolution"}


def test_business_hours_use_the_team_time_zone_and_skip_a_holiday(acme, make_conv, scopes):
    hours = _hours(scopes, holidays=["2026-11-26"])
    _policy(scopes, hours)
    team = acme["team"]
    team.timezone = "America/New_York"
    team.save()
    create_rule(scopes["supervisor"], RuleIn(name="all to care", actions={"team_id": team.pk}))
    # Wednesday 16:30 New York time, the day before Thanksgiving
    conv = make_conv(at=datetime(2026, 11, 25, 21, 30, tzinfo=UTC))
    assert conv.team_id == team.pk
    assert conv.sla_due_at == datetime(2026, 11, 27, 14, 30, tzinfo=UTC)  # Friday 09:30 EST


def test_a_friday_evening_message_before_the_dst_change_is_due_monday_morning(acme, make_conv, scopes):
    _policy(scopes, _hours(scopes))
    conv = make_conv(at=datetime(2026, 10, 30, 22, 0, tzinfo=UTC))  # Friday 18:00 EDT
    assert conv.sla_due_at == datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # Monday 10:00 EST


def test_warning_at_75_percent_and_breach_at_the_target_are_raised_once(make_conv, monkeypatch):
    from hubbub import live

    events = []
    monkeypatch.setattr(live, "publish", lambda kind, org, **data: events.append((kind, data)))
    conv = make_conv(at=T0)
    with time_machine.travel(T0 + timedelta(minutes=44), tick=False):
        assert sla.sweep() == {"warnings": 0, "breaches": 0}
    with time_machine.travel(T0 + timedelta(minutes=45, seconds=5), tick=False):
        assert sla.sweep() == {"warnings": 1, "breaches": 0}
        assert sla.sweep() == {"warnings": 0, "breaches": 0}
    with time_machine.travel(T0 + timedelta(minutes=60, seconds=8), tick=False):
        assert sla.sweep() == {"warnings": 0, "breaches": 1}
    warning = SLAEvent.objects.get(conversation=conv, kind="warning")
    breach = SLAEvent.objects.get(conversation=conv, kind="breach")
    assert warning.data["delay_s"] == 5 and breach.data["delay_s"] == 8
    assert [d["conversation_ids"] for k, d in events if k == "sla"] == [[conv.pk], [conv.pk]]


def test_pending_pauses_the_clock_and_reopening_resumes_it(make_conv, scopes):
    conv = make_conv(at=T0)
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        do_change_status(scopes["agent"], conv, "pending")
    conv.refresh_from_db()
    assert conv.sla_due_at is None
    clock = SLAClock.objects.get(conversation=conv)
    assert clock.state == "paused" and clock.used_seconds == 600
    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        assert sla.sweep() == {"warnings": 0, "breaches": 0}  # paused clocks never breach
        do_change_status(scopes["agent"], conv, "open")
    conv.refresh_from_db()
    assert conv.sla_due_at == T0 + timedelta(hours=3, minutes=50)


def test_the_customer_answering_a_pending_conversation_reopens_it_and_resumes_the_clock(make_conv, scopes):
    conv = make_conv(at=T0)
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        do_change_status(scopes["agent"], conv, "pending")
    later = T0 + timedelta(hours=2)
    Conversation.objects.filter(pk=conv.pk).update(last_inbound_at=later, last_message_at=later)
    with time_machine.travel(later, tick=False):
        on_customer_messages(conv.organization_id, [conv.pk])
    conv.refresh_from_db()
    assert conv.status == "open" and conv.sla_due_at == later + timedelta(minutes=50)


def test_a_reply_stops_the_first_response_clock_as_met(make_conv, scopes):
    _policy(scopes)
    conv = make_conv(at=T0)
    with time_machine.travel(T0 + timedelta(minutes=20), tick=False):
        reply = do_create_reply(scopes["agent"], conv, "Looking into it")
        do_deliver_reply(reply.pk)
    first = SLAClock.objects.get(conversation=conv, metric="first_response")
    assert first.state == "stopped" and first.outcome == "met"
    conv.refresh_from_db()
    assert conv.sla_due_at == T0 + timedelta(minutes=1440)  # only resolution remains


def test_a_late_reply_is_recorded_as_breached(make_conv, scopes):
    conv = make_conv(at=T0)
    with time_machine.travel(T0 + timedelta(minutes=90), tick=False):
        do_deliver_reply(do_create_reply(scopes["agent"], conv, "Sorry for the wait").pk)
    assert SLAClock.objects.get(conversation=conv).outcome == "breached"


def test_when_the_customer_writes_again_a_next_response_clock_starts(make_conv, scopes):
    _policy(scopes)
    conv = make_conv(at=T0)
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        do_deliver_reply(do_create_reply(scopes["agent"], conv, "Hi").pk)
    again = T0 + timedelta(minutes=30)
    Message.objects.create(
        organization=conv.organization,
        brand=conv.brand,
        conversation=conv,
        network="x",
        external_id="again",
        direction=Direction.IN,
        author=conv.author,
        text="Still no bag",
        created_at=again,
    )
    Conversation.objects.filter(pk=conv.pk).update(last_inbound_at=again, last_message_at=again)
    on_customer_messages(conv.organization_id, [conv.pk])
    on_customer_messages(conv.organization_id, [conv.pk])  # once per wait
    clocks = SLAClock.objects.filter(conversation=conv, metric="next_response")
    assert clocks.count() == 1 and clocks.get().due_at == again + timedelta(minutes=120)
    with time_machine.travel(again + timedelta(minutes=10), tick=False):
        do_deliver_reply(do_create_reply(scopes["agent"], conv, "Found it").pk)
    assert clocks.get().outcome == "met"


def test_resolving_stops_the_resolution_clock_and_keeps_the_history(make_conv, scopes):
    _policy(scopes)
    conv = make_conv(at=T0)
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        do_deliver_reply(do_create_reply(scopes["agent"], conv, "Hi").pk)
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        do_change_status(scopes["agent"], conv, "pending")
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        do_change_status(scopes["agent"], conv, "open")
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        do_change_status(scopes["agent"], conv, "resolved")
    conv.refresh_from_db()
    assert conv.sla_due_at is None
    resolution = SLAClock.objects.get(conversation=conv, metric="resolution")
    assert resolution.outcome == "met" and resolution.used_seconds == 600
    kinds = [(h["metric"], h["kind"]) for h in sla.history(conv)]
    assert kinds[:2] == [("First response", "started"), ("Resolution", "started")]
    assert ("First response", "met") in kinds and ("Resolution", "paused") in kinds
    assert kinds[-1] == ("Resolution", "met")


def test_the_sla_history_api(acme, make_conv):
    from django.test import Client

    conv = make_conv(at=T0)
    c = Client()
    c.force_login(acme["users"]["analyst"])
    body = c.get(f"/api/v1/workflow/conversations/{conv.pk}/sla").json()
    assert body["clocks"][0]["metric"] == "first_response" and body["history"][0]["kind"] == "started"


def test_the_minute_task_schedules_sweeps_every_ten_seconds(monkeypatch):
    from hubbub.workflow import tasks

    calls = []
    monkeypatch.setattr(tasks.sla_sweep, "schedule", lambda delay: calls.append(delay))
    monkeypatch.setattr(tasks.sla, "sweep", lambda: {"warnings": 0, "breaches": 0})
    tasks.sla_minute.call_local()
    assert calls == [10, 20, 30, 40, 50]


def test_a_brand_default_policy_wins_over_the_organisation_default(acme, make_conv, make_event, ingest, scopes):
    """A brand can promise faster answers than the organisation's default; other brands keep it."""
    rail = acme["org"].brands.get(name="Acme Rail")
    _policy(scopes, first_response={"1": 60})
    fast = save_sla_policy(
        scopes["supervisor"],
        SLAPolicyIn(name="Rail express", targets={"first_response": {"1": 10}}, is_default=True, brand_id=rail.pk),
    )
    # saving the brand's default keeps the organisation's default
    assert set(SLAPolicy.objects.filter(is_default=True).values_list("name", flat=True)) == {"Standard", "Rail express"}
    air = make_conv(at=T0, brand="Acme Air", urgency=10)
    on_rail = make_conv(at=T0, brand="Acme Rail", urgency=10)
    assert air.sla_due_at == T0 + timedelta(minutes=60)
    assert on_rail.sla_due_at == T0 + timedelta(minutes=10)
    assert SLAClock.objects.get(conversation=on_rail).policy_id == fast.pk
    # the same through the ingest pipeline, where routing happens before the conversations are written
    ingest(acme["org"], [make_event("train late", brand=rail.slug, author="rider", created_at=T0)])
    piped = Conversation.objects.get(author__external_id="rider")
    assert piped.sla_due_at == T0 + timedelta(minutes=10)


def _native_answer(make_event, to: str, minutes: int, text: str = "So sorry, DM us your booking ref"):  # type: ignore[no-untyped-def]
    """The brand's own post on the network (sent from the network's app, not from Hubbub), answering `to`."""
    return make_event(
        text,
        author="acmeair",
        direction="out",
        in_reply_to=to,
        external_id=f"answer-{to}",
        created_at=T0 + timedelta(minutes=minutes),
    )


@pytest.mark.parametrize(("minutes", "outcome"), [(20, "met"), (90, "breached")])
def test_an_answer_posted_on_the_network_itself_stops_the_first_response_clock_when_posted(
    acme, make_event, ingest, scopes, minutes, outcome
):
    """A team that answers some posts from X's own app must not see them breach in Hubbub: the brand's post,
    arriving in a later batch, stops the clock at the time it was posted, met or breached by that time."""
    _policy(scopes, first_response={"1": 60, "2": 60, "3": 60, "0": 60})
    ingest(acme["org"], [make_event("my bag is lost", author="ann", external_id="c1", created_at=T0)])
    conv = Conversation.objects.get(author__external_id="ann")
    assert SLAClock.objects.get(conversation=conv, metric="first_response").state == "running"
    with time_machine.travel(T0 + timedelta(hours=5), tick=False):  # the answer is polled hours later
        ingest(acme["org"], [_native_answer(make_event, "c1", minutes)])
    clock = SLAClock.objects.get(conversation=conv, metric="first_response")
    assert (clock.state, clock.outcome, clock.stopped_at) == ("stopped", outcome, T0 + timedelta(minutes=minutes))
    conv.refresh_from_db()
    assert conv.first_response_at == T0 + timedelta(minutes=minutes)


def test_a_native_answer_to_a_follow_up_stops_the_next_response_clock(acme, make_event, ingest, scopes):
    _policy(scopes, first_response={"1": 60, "2": 60, "3": 60, "0": 60}, next_response={"1": 60, "2": 60, "3": 60})
    ingest(acme["org"], [make_event("my bag is lost", author="ann", external_id="c1", created_at=T0)])
    ingest(acme["org"], [_native_answer(make_event, "c1", 10)])
    follow_up = make_event("still nothing", author="ann", external_id="c2", created_at=T0 + timedelta(minutes=30))
    ingest(acme["org"], [follow_up])
    conv = Conversation.objects.get(author__external_id="ann")
    assert SLAClock.objects.get(conversation=conv, metric="next_response").state == "running"
    ingest(acme["org"], [_native_answer(make_event, "c2", 45, text="Found it: it arrives tonight")])
    clock = SLAClock.objects.get(conversation=conv, metric="next_response")
    assert (clock.state, clock.outcome, clock.stopped_at) == ("stopped", "met", T0 + timedelta(minutes=45))


@pytest.mark.parametrize(("minutes", "outcome"), [(20, "met"), (90, "breached")])
def test_a_conversation_imported_with_its_answer_counts_in_the_sla(acme, make_event, ingest, scopes, minutes, outcome):
    """A history import (or one batch) holding a customer's post and the brand's answer to it: the reports must
    count that answer as met or breached, not leave the conversation out of the SLA altogether."""
    _policy(scopes, first_response={"1": 60, "2": 60, "3": 60, "0": 60})
    customer = make_event("my bag is lost", author="ann", external_id="c1", created_at=T0)
    ingest(acme["org"], [customer, _native_answer(make_event, "c1", minutes)])
    conv = Conversation.objects.get(author__external_id="ann")
    clock = SLAClock.objects.get(conversation=conv, metric="first_response")
    assert (clock.state, clock.outcome, clock.stopped_at) == ("stopped", outcome, T0 + timedelta(minutes=minutes))
    conv.refresh_from_db()
    assert conv.sla_due_at != clock.due_at  # the list shows no countdown for an answered post
