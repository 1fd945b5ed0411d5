"""Agents correct labels in the conversation view; corrections are stored, audited, shown and learned from."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.http import Http404
from django.test import Client

from hubbub.analysis.models import LabelCorrection
from hubbub.analysis.services import corrections_for_training
from hubbub.inbox.actions.labels import do_correct_label
from hubbub.inbox.models import Conversation, Message
from hubbub.tenancy.models import AuditEvent
from hubbub.tenancy.scoping import PermissionDenied, get_scoped_or_404

pytestmark = pytest.mark.django_db


@pytest.fixture
def thread(acme, make_event, ingest):
    """One customer's two messages in one conversation; the second is the latest inbound."""
    ingest(
        acme["org"],
        [
            make_event("where is my bag? landed two hours ago", author="dana"),
            make_event("you guys should add a bag tracker to the app", author="dana"),
        ],
    )
    first, latest = Message.objects.filter(direction="in").order_by("created_at")
    return {"first": first, "latest": latest, "conv": latest.conversation}


def test_an_agent_corrects_the_intent_of_the_latest_message(acme, scope_of, thread):
    scope = scope_of(acme["users"]["agent"])
    msg = thread["latest"]
    before = msg.intent
    target = "suggestion" if before != "suggestion" else "question"

    c = do_correct_label(scope, msg, "intent", target)

    msg.refresh_from_db()
    conv = Conversation.objects.get(pk=thread["conv"].pk)
    assert (c.old_value, c.new_value, c.corrected_by) == (before, target, acme["users"]["agent"])
    assert msg.intent == target and msg.analysis["corrected"]["intent"]["from"] == before
    assert conv.intent == target  # the conversation summary follows its latest inbound message
    event = AuditEvent.objects.get(verb="analysis.label_corrected")
    assert event.data["new"] == target and event.target_id == str(msg.pk)


def test_correcting_an_older_message_leaves_the_conversation_summary_alone(acme, scope_of, thread):
    scope = scope_of(acme["users"]["agent"])
    conv_before = Conversation.objects.get(pk=thread["conv"].pk).sentiment
    new = "positive" if thread["first"].sentiment != "positive" else "neutral"
    do_correct_label(scope, thread["first"], "sentiment", new)
    thread["first"].refresh_from_db()
    assert thread["first"].sentiment == new
    assert (thread["first"].sentiment_score > 0) if new == "positive" else thread["first"].sentiment_score == 0
    assert Conversation.objects.get(pk=thread["conv"].pk).sentiment == conv_before


def test_analysts_may_not_correct_and_values_are_validated(acme, scope_of, thread):
    with pytest.raises(PermissionDenied):
        do_correct_label(scope_of(acme["users"]["analyst"]), thread["latest"], "intent", "praise")
    agent = scope_of(acme["users"]["agent"])
    with pytest.raises(ValueError):
        do_correct_label(agent, thread["latest"], "intent", "rant")
    with pytest.raises(ValueError):
        do_correct_label(agent, thread["latest"], "mood", "happy")
    assert not LabelCorrection.objects.exists()


def test_other_organisations_messages_are_invisible(acme, make_org, scope_of, thread):
    other = make_org("globex", brands=("Globex",))
    stranger = scope_of(other["users"]["admin"])
    with pytest.raises(Http404):
        get_scoped_or_404(Message.objects.all(), stranger, id=thread["latest"].pk)
    with pytest.raises(PermissionDenied):
        do_correct_label(stranger, thread["latest"], "intent", "praise")
    client = Client()
    client.force_login(other["users"]["admin"])
    r = client.post(f"/messages/{thread['latest'].pk}/labels/", {"intent": "praise"})
    assert r.status_code == 404


def test_the_thread_offers_the_form_and_saving_it_updates_the_pane(acme, thread):
    client = Client()
    client.force_login(acme["users"]["agent"])
    conv = thread["conv"]
    body = client.get(f"/c/{conv.pk}/").content.decode()
    assert f'hx-post="/messages/{thread["latest"].pk}/labels/"' in body and 'name="journey_stage"' in body

    msg = thread["latest"]
    r = client.post(
        f"/messages/{msg.pk}/labels/",
        {"sentiment": msg.sentiment, "intent": "praise", "topic": "", "journey_stage": "research"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="thread-pane",
    )
    assert r.status_code == 200 and 'id="thread"' in r.content.decode()
    msg.refresh_from_db()
    assert (msg.intent, msg.journey_stage) == ("praise", "research")
    rows = {c.label_name: c for c in LabelCorrection.objects.filter(message=msg)}
    assert set(rows) == {"sentiment", "intent", "journey_stage"}  # an empty topic is not a label
    assert rows["sentiment"].agreed  # left unchanged = the agent confirmed the model


def test_evaluation_page_shows_version_figures_and_agreement(acme, scope_of, thread):
    scope = scope_of(acme["users"]["agent"])
    msg = thread["latest"]
    do_correct_label(scope, msg, "sentiment", msg.sentiment)  # kept
    do_correct_label(scope, msg, "intent", "spam" if msg.intent != "spam" else "other")  # changed
    client = Client()
    client.force_login(acme["users"]["analyst"])
    body = client.get("/analysis/").content.decode()
    from hubbub.analysis.services import get_analyzer

    assert get_analyzer().version in body
    assert 'id="agreement"' in body and "50 %" in body
    assert "Airline sentiment accuracy" in body
    assert 'href="/analysis/"' in body  # the "Model" nav entry
    from hubbub.analysis.views import REPO_ROOT

    bench = json.loads((REPO_ROOT / "benchmarks" / "results" / "analysis.json").read_text(encoding="utf-8"))
    human = bench.get("human_agreement")
    if human:  # the human reference sits next to the model's intent figure
        assert "Second annotator" in body and f"κ = {human['intent_kappa']}" in body


def test_stored_corrections_become_training_rows(acme, scope_of, thread):
    scope = scope_of(acme["users"]["agent"])
    do_correct_label(scope, thread["latest"], "intent", "question")
    do_correct_label(scope, thread["latest"], "intent", "suggestion")  # the latest word counts
    do_correct_label(scope, thread["first"], "topic", "lost luggage")
    rows = {(c.label_name, c.label, c.text) for c in corrections_for_training()}
    assert rows == {
        ("intent", "suggestion", thread["latest"].text),
        ("topic", "lost luggage", thread["first"].text),
    }


def test_train_from_db_feeds_corrections_to_train(acme, scope_of, thread, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from hubbub.analysis import train as train_mod
    from hubbub.analysis.cli import analysis_app

    do_correct_label(scope_of(acme["users"]["agent"]), thread["latest"], "intent", "suggestion")
    seen: dict[str, object] = {}

    class Fake:
        version = "hubbub-test"

    def fake_train(corrections, **kw):  # type: ignore[no-untyped-def]
        seen["corrections"] = corrections
        return Fake()

    monkeypatch.setattr(train_mod, "train", fake_train)
    res = CliRunner().invoke(analysis_app, ["train", "--from-db", "--output", str(tmp_path / "m.joblib.gz")])
    assert res.exit_code == 0, res.output
    assert [(c.label_name, c.label) for c in seen["corrections"]] == [("intent", "suggestion")]  # type: ignore[attr-defined]


def test_reanalyze_relabels_history_and_keeps_agents_corrections(acme, scope_of, thread):
    from typer.testing import CliRunner

    from hubbub.cli import app

    scope = scope_of(acme["users"]["agent"])
    do_correct_label(scope, thread["latest"], "intent", "praise")
    Message.objects.filter(direction="in").update(model_version="old-model", sentiment="", journey_stage="")
    Conversation.objects.update(sentiment="", intent="", urgency=0)

    res = CliRunner().invoke(app, ["analysis", "reanalyze", "--since", "2026-11-01", "--org", "acme"])
    assert res.exit_code == 0, res.output
    assert "re-labelled 2 message(s) in 1 conversation(s)" in res.output.replace("\n", " ")

    from hubbub.analysis.services import get_analyzer

    version = get_analyzer().version
    for m in Message.objects.filter(direction="in"):
        assert m.model_version == version and m.sentiment and m.journey_stage
    latest = Message.objects.get(pk=thread["latest"].pk)
    assert latest.intent == "praise"  # a human label outranks the model
    conv = Conversation.objects.get(pk=thread["conv"].pk)
    assert (conv.sentiment, conv.intent) == (latest.sentiment, "praise")
    assert conv.urgency == max(m.urgency for m in Message.objects.filter(direction="in"))


def test_reanalyze_respects_since_and_org(acme, make_org, make_event, ingest, thread):
    from hubbub.inbox.reanalysis import reanalyze

    other = make_org("globex", brands=("Globex",))
    ingest(other["org"], [make_event("terrible service", brand="globex", author="zed")])
    Message.objects.update(model_version="old-model")
    result = reanalyze(datetime(2026, 11, 1, tzinfo=UTC), acme["org"].pk, batch_size=1)
    assert result.messages == 2
    assert Message.objects.get(organization=other["org"]).model_version == "old-model"
    assert reanalyze(datetime(2030, 1, 1, tzinfo=UTC)).messages == 0
