"""Background refinement: the accurate tier relabels stored mentions, most useful first, within its budget."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hubbub.analysis.services import get_accurate_analyzer, get_analyzer
from hubbub.inbox.actions.labels import do_correct_label
from hubbub.inbox.models import Conversation, Message, Status
from hubbub.inbox.reanalysis import reanalyze
from hubbub.ingest import refinement
from hubbub.ingest.services import accept
from hubbub.listening.models import Grain, Incident, MentionRollup

pytestmark = pytest.mark.django_db


@pytest.fixture
def mentions(acme, make_event, ingest):  # type: ignore[no-untyped-def]
    """Five mentions in five conversations, each with a different claim to be refined early."""
    texts = {
        "calm": ("ok, noted", "acme-air", "ann"),
        "spanish": ("la app no funciona desde ayer y nadie responde", "acme-air", "bea"),
        "open_unsure": ("hmm my order", "acme-air", "cid"),
        "incident": ("your trains are stuck again, third time this week", "acme-rail", "dee"),
        "old": ("thanks for the quick help yesterday", "acme-air", "eve"),
    }
    ingest(acme["org"], [make_event(t, brand=b, author=a) for t, b, a in texts.values()])
    msgs = {k: Message.objects.get(direction="in", text=t) for k, (t, _, _) in texts.items()}
    Conversation.objects.update(status=Status.RESOLVED)
    Conversation.objects.filter(pk=msgs["open_unsure"].conversation_id).update(status=Status.OPEN)
    Message.objects.filter(pk=msgs["spanish"].pk).update(lang="es")
    Message.objects.filter(pk__in=[m.pk for k, m in msgs.items() if k != "open_unsure"]).update(
        analysis={"confidence": {"sentiment": 0.95, "intent": 0.95}}
    )
    Message.objects.filter(pk=msgs["open_unsure"].pk).update(analysis={"confidence": {"sentiment": 0.4}})
    Incident.objects.create(
        organization=acme["org"], brand=msgs["incident"].brand, title="delays", opened_at=datetime.now(UTC)
    )
    return {k: Message.objects.get(pk=m.pk) for k, m in msgs.items()}


def test_incidents_open_conversations_unsure_and_foreign_mentions_come_first(mentions) -> None:  # type: ignore[no-untyped-def]
    batch = refinement.next_batch(size=5)
    order = [next(k for k, m in mentions.items() if m.pk == b.pk) for b in batch]
    assert order[0] == "open_unsure"  # open conversation and unsure: two reasons
    assert set(order[1:3]) == {"incident", "spanish"}  # one reason each
    assert set(order[3:]) == {"calm", "old"}  # no hurry, newest first
    assert order.index("old") < order.index("calm")


def test_refined_labels_replace_the_fast_ones_with_the_version_and_keep_corrections(  # type: ignore[no-untyped-def]
    acme, scope_of, mentions, monkeypatch
) -> None:
    accurate = get_accurate_analyzer()
    assert accurate is not None
    events: list[tuple[str, int, dict[str, object]]] = []
    monkeypatch.setattr(refinement.live, "publish", lambda kind, org, **data: events.append((kind, org, data)))
    calm = mentions["calm"]
    do_correct_label(scope_of(acme["users"]["agent"]), calm, "intent", "spam")
    result = refinement.refine(cpu_budget=600)
    assert result.messages == 5 and result.stopped == "done"
    assert result.by_reason["incident"] == 1 and result.by_reason["not English"] == 1
    for m in Message.objects.filter(direction="in"):
        assert m.refined_at is not None and m.model_version == accurate.version
        conv = Conversation.objects.get(pk=m.conversation_id)
        assert (conv.sentiment, conv.intent, conv.topic) == (m.sentiment, m.intent, m.topic)
    spanish = Message.objects.get(pk=mentions["spanish"].pk)
    assert spanish.sentiment == "negative" and spanish.intent == "complaint"
    assert Message.objects.get(pk=calm.pk).intent == "spam"  # the agent's label outranks any model
    # open inbox pages and war rooms hear of it: no new messages, these conversations' labels changed
    announced = {
        i
        for kind, org, data in events
        if kind == "messages" and org == acme["org"].pk
        for i in data["conversation_ids"]
    }  # type: ignore[attr-defined]
    assert announced == {m.conversation_id for m in mentions.values()}
    assert all(data["count"] == 0 for _, _, data in events)
    assert refinement.unrefined_count() == 0 and refinement.refine(cpu_budget=600).messages == 0
    # the war room's counts follow the refined labels
    for label in ("negative", "neutral", "positive"):
        counted = sum(MentionRollup.objects.filter(grain=Grain.DAY).values_list(label, flat=True))
        assert counted == Message.objects.filter(direction="in", sentiment=label).count()

    # relabelling with the fast tier makes the messages wait for refinement again
    reanalyze(datetime(2026, 1, 1, tzinfo=UTC), analyzer=get_analyzer())
    assert refinement.unrefined_count() == 5
    assert set(Message.objects.filter(direction="in").values_list("model_version", flat=True)) == {
        get_analyzer().version
    }


def test_ingest_goes_first_and_the_budget_is_kept(acme, make_event, mentions) -> None:  # type: ignore[no-untyped-def]
    accept(acme["org"].pk, [make_event("a new mention waiting to be processed")], "test")
    busy = refinement.refine(cpu_budget=600)
    assert (busy.messages, busy.stopped) == (0, "ingest busy")
    from hubbub.ingest.models import RawEvent

    RawEvent.objects.update(state=RawEvent.State.PROCESSED)
    spent = refinement.refine(cpu_budget=0)
    assert (spent.messages, spent.stopped) == (0, "budget")


def test_without_the_accurate_tier_nothing_changes(monkeypatch, mentions) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(refinement, "get_accurate_analyzer", lambda: None)
    result = refinement.refine(cpu_budget=600)
    assert (result.messages, result.stopped) == (0, "no accurate tier")
    assert refinement.unrefined_count() == 5


def test_the_periodic_run_gets_a_thread_of_its_own_at_the_lowest_priority(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import os
    import threading

    seen: dict[str, object] = {}
    release = threading.Event()

    def fake_refine(cpu_budget=None):  # type: ignore[no-untyped-def]
        seen["thread"] = threading.current_thread().name
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        release.wait(10)
        return refinement.RefineResult()

    monkeypatch.setattr(refinement, "refine", fake_refine)
    assert refinement.refine_in_background(1.0) is True
    assert refinement.refine_in_background(1.0) is False  # one run at a time
    release.set()
    for t in threading.enumerate():
        if t.name == "hubbub-refine":
            t.join(10)
    assert seen == {"thread": "hubbub-refine", "nice": 19}
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) != 19  # the caller's thread is untouched
    assert refinement.refine_in_background(1.0) is True  # the lock is free again
    for t in threading.enumerate():
        if t.name == "hubbub-refine":
            t.join(10)


def test_agents_corrections_train_the_accurate_heads_too(acme, scope_of, mentions, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from hubbub.analysis.accurate import training
    from hubbub.analysis.cli import analysis_app

    do_correct_label(scope_of(acme["users"]["agent"]), mentions["calm"], "sentiment", "positive")
    seen: dict[str, object] = {}

    class Fake:
        version = "e5acc-test"

    def fake_train(encoder, corrections=(), **kw):  # type: ignore[no-untyped-def]
        seen["corrections"] = corrections
        return Fake()

    monkeypatch.setattr(training, "train_accurate", fake_train)
    res = CliRunner().invoke(analysis_app, ["train-accurate", "--from-db", "--org", "acme"])
    assert res.exit_code == 0, res.output
    assert "e5acc-test" in res.output
    assert [(c.label_name, c.label, c.text) for c in seen["corrections"]] == [  # type: ignore[attr-defined]
        ("sentiment", "positive", "ok, noted")
    ]
