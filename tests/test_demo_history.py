"""The demo's lived-in week: the brands' answers and the CSAT survey (`hubbub.demo_history`)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from statistics import mean

import pytest

from hubbub.connectors.events import InboundEvent
from hubbub.demo_history import History, import_survey, need, survey_rows, with_brand_answers

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
COMPLAINTS = ["my bag is lost", "flight delayed 3 hours", "cancelled again", "on hold for an hour"]
OTHERS = ["lovely crew today", "first time on this route", "nice lounge"]


def _tweets(n: int = 600) -> list[InboundEvent]:
    rng = random.Random(1)
    return [
        InboundEvent(
            network="x",
            external_id=str(1000 + i),
            text=rng.choice(COMPLAINTS + OTHERS + ["can I bring a pet?"]),
            created_at=T0 + timedelta(minutes=7 * i),
            author_id=f"c{i % 150}",
            author_handle=f"c{i % 150}",
            brand_slug="acme-air",
        )
        for i in range(n)
    ]


def test_the_brand_answers_complaints_first_in_its_own_name_and_never_after_the_history_ends():
    tweets = _tweets()
    lived = with_brand_answers(tweets, {"acme-air": "AcmeAir"}, random.Random(7))
    answers = [e for e in lived.events if e.direction == "out"]
    assert len(lived.events) == len(tweets) + len(answers)
    assert [e.created_at for e in lived.events] == sorted(e.created_at for e in lived.events)
    by_id = {t.external_id: t for t in tweets}
    for answer in answers:
        asked = by_id[answer.in_reply_to]
        assert answer.author_handle == "AcmeAir" and answer.brand_slug == "acme-air"
        assert answer.text.startswith(f"@{asked.author_handle} ")
        assert asked.created_at < answer.created_at < tweets[-1].created_at
    answered = {a.in_reply_to for a in answers}
    share = {
        kind: mean(t.external_id in answered for t in tweets if need(t.text) == kind) for kind in ("complaint", "other")
    }
    assert share["complaint"] > 0.7 > 0.5 > share["other"] > 0.1, share
    # a week has a tail of slow answers as well as quick ones
    waits = sorted(minutes for _, _, minutes in lived.answered)
    assert waits[len(waits) // 2] < 60 < waits[-1]


def test_the_same_seed_gives_the_same_week():
    a = with_brand_answers(_tweets(), {"acme-air": "AcmeAir"}, random.Random(7))
    b = with_brand_answers(_tweets(), {"acme-air": "AcmeAir"}, random.Random(7))
    assert [(e.external_id, e.created_at, e.text) for e in a.events] == [
        (e.external_id, e.created_at, e.text) for e in b.events
    ]


def test_a_brand_without_a_handle_and_the_brand_s_own_posts_are_not_answered():
    tweets = _tweets(50)
    tweets[0].author_handle = "acmeair"
    lived = with_brand_answers(tweets, {"acme-air": "AcmeAir"}, random.Random(7))
    assert tweets[0].external_id not in {a.in_reply_to for _, a, _ in lived.answered}
    assert with_brand_answers(tweets, {}, random.Random(7)).answered == []


@pytest.mark.django_db
def test_the_survey_is_imported_through_the_importer_and_slower_answers_score_lower(acme):
    from hubbub.crm.models import Customer
    from hubbub.insights.models import SurveyResponse

    org = acme["org"]
    tweets = _tweets()
    for t in tweets:
        t.brand_slug = org.brands.get(name="Acme Air").slug
    Customer.objects.bulk_create(
        [Customer(organization=org, name=f"c{i}", email=f"c{i}@example.com") for i in range(150)]
    )
    lived = with_brand_answers(tweets, {tweets[0].brand_slug: "AcmeAir"}, random.Random(7))
    rows = survey_rows(lived, org.pk, random.Random(8))
    assert len({r["Email"] for r in rows}) == len(rows) > 20  # each customer asked once
    report = import_survey(org.pk, rows)
    assert SurveyResponse.objects.filter(organization=org).count() == len(rows), report
    waits = {f"demo-csat-{t.external_id}": minutes for t, _, minutes in lived.answered}
    scored = [(waits[r.external_id], float(r.score)) for r in SurveyResponse.objects.filter(organization=org)]
    quick = [s for w, s in scored if w <= 30]
    slow = [s for w, s in scored if w > 60]
    assert quick and slow and mean(quick) > mean(slow) + 0.8
    # importing the same export again updates, it does not add
    import_survey(org.pk, rows)
    assert SurveyResponse.objects.filter(organization=org).count() == len(rows)


def test_an_empty_history_has_no_answers_and_no_survey():
    assert with_brand_answers([], {"a": "A"}, random.Random(1)) == History([], [])
