"""Topics that fit the brand and language at ingest, through the pipeline, the inbox and Settings."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from hubbub.analysis.brand_topics import TopicsError, evaluate_brand_topics, parse_topics_text
from hubbub.analysis.general_topics import GENERAL_TOPICS
from hubbub.analysis.models import BrandTopic
from hubbub.analysis.topics import DEFAULT_TOPICS
from hubbub.inbox.actions.labels import do_correct_label
from hubbub.inbox.models import Message
from hubbub.inbox.queries import InboxFilters, filter_conversations
from hubbub.tenancy.models import AuditEvent

pytestmark = pytest.mark.django_db

DELAY = "@{} my order is three hours late and nobody answers, worst service ever"


def _brands(acme):  # type: ignore[no-untyped-def]
    air, rail = acme["brands"]["Acme Air"], acme["brands"]["Acme Rail"]
    air.industry = "airline"
    air.save()
    rail.industry = "retail"
    rail.save()
    return air, rail


def test_only_the_airline_brand_gets_airline_topics(acme, make_event, ingest):
    _brands(acme)
    ingest(
        acme["org"],
        [
            make_event(DELAY.format("AcmeAir"), brand="acme-air", author="a"),
            make_event(DELAY.format("AcmeRail"), brand="acme-rail", author="b"),
        ],
    )
    air = Message.objects.get(brand__slug="acme-air")
    rail = Message.objects.get(brand__slug="acme-rail")
    assert air.topic in DEFAULT_TOPICS
    assert rail.topic in GENERAL_TOPICS


def test_a_brand_with_its_own_topics_is_labelled_with_them(acme, make_event, ingest, scope_of):
    _, rail = _brands(acme)
    client = Client()
    client.force_login(acme["users"]["admin"])
    text = (
        "# seat reservations\nmy reserved seat was taken\nno seat although I booked one\n\n"
        "# dirty trains\nthe toilet was filthy\ncarriage was dirty"
    )
    response = client.post("/analysis/topics/", {"brand": rail.pk, "industry": "travel", "topics": text})
    assert response.status_code == 302
    rail.refresh_from_db()
    assert rail.industry == "travel"
    assert sorted(BrandTopic.objects.filter(brand=rail).values_list("name", flat=True)) == [
        "dirty trains",
        "seat reservations",
    ]
    assert AuditEvent.objects.filter(verb="brand.topics_changed", target_id=str(rail.pk)).exists()
    page = client.get("/analysis/topics/").content.decode()
    assert "seat reservations" in page and "the toilet was filthy" in page

    ingest(acme["org"], [make_event("@AcmeRail the toilet on my train was filthy, disgusting", brand="acme-rail")])
    msg = Message.objects.get(brand=rail)
    assert msg.topic == "dirty trains"
    assert "toilet" in msg.analysis["explanations"]["topic"]


def test_settings_refuse_a_topic_without_examples_and_non_admins(acme):
    _, rail = _brands(acme)
    admin, agent = Client(), Client()
    admin.force_login(acme["users"]["admin"])
    agent.force_login(acme["users"]["agent"])
    bad = admin.post("/analysis/topics/", {"brand": rail.pk, "industry": "", "topics": "# empty topic\n"})
    assert bad.status_code == 400 and "at least one example" in bad.content.decode()
    refused = agent.post("/analysis/topics/", {"brand": rail.pk, "industry": "", "topics": "# a\nexample"})
    assert refused.status_code == 403
    assert not BrandTopic.objects.exists()
    with pytest.raises(TopicsError):
        parse_topics_text("an example before any topic name")


def test_each_own_topic_is_evaluated_on_agents_corrections(acme, make_event, ingest, scope_of):
    _, rail = _brands(acme)
    BrandTopic.objects.create(
        organization=acme["org"], brand=rail, name="dirty trains", examples=["the toilet was filthy", "dirty carriage"]
    )
    BrandTopic.objects.create(
        organization=acme["org"], brand=rail, name="seat reservations", examples=["my reserved seat was taken"]
    )
    ingest(
        acme["org"],
        [
            make_event("@AcmeRail the carriage was dirty and smelly, awful", brand="acme-rail", author="a"),
            make_event("@AcmeRail someone was in my reserved seat, terrible", brand="acme-rail", author="b"),
        ],
    )
    scope = scope_of(acme["users"]["agent"])
    dirty, seat = Message.objects.filter(brand=rail).order_by("created_at")
    do_correct_label(scope, dirty, "topic", "dirty trains")  # the agent confirms
    do_correct_label(scope, seat, "topic", "dirty trains")  # the agent disagrees with whatever the model said
    rows = {r["topic"]: r for r in evaluate_brand_topics(rail)}
    assert rows["dirty trains"]["n"] == 2
    assert rows["dirty trains"]["recall"] == 0.5
    assert rows["seat reservations"]["n"] == 0 and rows["seat reservations"]["recall"] is None


def test_the_language_is_detected_at_ingest_stored_and_filterable(acme, make_event, ingest, scope_of):
    ingest(
        acme["org"],
        [
            make_event("@AcmeAir mi vuelo lleva tres horas de retraso y nadie nos dice nada", author="es"),
            make_event("@AcmeAir my flight is three hours late and nobody tells us anything", author="en"),
            make_event("@AcmeAir merci pour tout", author="fr", lang="fr"),  # the network's own language is kept
        ],
    )
    langs = dict(Message.objects.values_list("author__handle", "lang"))
    assert langs == {"es": "es", "en": "en", "fr": "fr"}
    spanish = Message.objects.get(author__handle="es")
    words = [w for ws in spanish.analysis["explanations"].values() for w in ws]
    assert not any(any(ch.isalpha() for ch in w) for w in words)

    scope = scope_of(acme["users"]["agent"])
    only_es = filter_conversations(scope, InboxFilters(status=None, lang="es"))
    assert [c.author.handle for c in only_es] == ["es"]
    client = Client()
    client.force_login(acme["users"]["agent"])
    page = client.get(reverse("inbox"), {"status": "", "lang": "es"}).content.decode()
    assert "@es" in page and "@en" not in page


def test_the_thread_highlights_the_reasons_in_place(acme, make_event, ingest):
    ingest(acme["org"], [make_event("@AcmeAir <b>worst</b> service ever, rude staff 😡", author="zed")])
    msg = Message.objects.get()
    client = Client()
    client.force_login(acme["users"]["agent"])
    page = client.get(reverse("conversation", args=[msg.conversation_id])).content.decode()
    marked = page.split(f'id="why-text-{msg.pk}">', 1)[1].split("</p>", 1)[0]
    assert '<mark class="why-word">' in marked
    assert "&lt;" in marked and "<b>" not in marked  # the customer's text stays escaped
    for word in msg.analysis["explanations"]["sentiment"]:
        assert f'<mark class="why-word">{word}</mark>' in marked or word.lower() in marked.lower()
