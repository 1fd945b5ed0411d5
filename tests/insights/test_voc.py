"""Voice of the customer: the statistics against published values, and the comparison on real rows."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from hubbub.insights import voc

# ------------------------------------------------------------------ statistics (pure)


def test_wilson_against_published_and_hand_computed_values() -> None:
    # Newcombe (1998), Stat Med 17:857, Table I: 81/263 → 0.2553 to 0.3662; 0/10 → 0 to 0.2775.
    s = voc.wilson(81, 263)
    assert (round(s.lo, 4), round(s.hi, 4)) == (0.2553, 0.3662)
    s = voc.wilson(0, 10)
    assert (s.p, s.lo, round(s.hi, 4)) == (0.0, 0.0, 0.2775)
    s = voc.wilson(10, 10)
    assert (round(s.lo, 4), s.hi) == (0.7225, 1.0)
    # 62/100 by hand: z² = 3.8415; centre = (0.62 + 3.8415/200) / (1 + 3.8415/100) = 0.63921/1.038415 = 0.61556;
    # half = 1.96·√(0.62·0.38/100 + 3.8415/40000) / 1.038415 = 1.96·0.049518/1.038415 = 0.09346 → [0.5221, 0.7090]
    s = voc.wilson(62, 100)
    assert (round(s.lo, 4), round(s.hi, 4)) == (0.5221, 0.7090)
    assert voc.wilson(0, 0).p is None and voc.wilson(0, 0).text() == "no data"
    with pytest.raises(ValueError):
        voc.wilson(5, 4)


@pytest.mark.parametrize(
    ("a", "b", "lo", "hi"),
    [
        # Newcombe (1998), Stat Med 17:873, method 10 (hybrid score), examples (a)–(c)
        ((56, 70), (48, 80), 0.0524, 0.3339),
        ((9, 10), (3, 10), 0.1705, 0.8090),
        ((5, 56), (0, 29), -0.0381, 0.1926),
    ],
)
def test_difference_is_newcombes_hybrid_score_interval(a, b, lo, hi) -> None:  # type: ignore[no-untyped-def]
    d = voc.difference(voc.wilson(*a), voc.wilson(*b))
    assert d is not None
    assert (round(d.lo, 4), round(d.hi, 4)) == (lo, hi)
    assert d.d == pytest.approx(a[0] / a[1] - b[0] / b[1])
    assert voc.difference(voc.wilson(0, 0), voc.wilson(1, 2)) is None


def test_verdicts_read_plainly() -> None:
    status, text = voc.verdict(voc.wilson(620, 1000), voc.wilson(310, 1000), "negative")
    assert status == "different"
    assert text == (
        "social is more negative than surveys: 62% [59–65] vs 31% [28–34]; "
        "difference 31 pts [27–35] — the loud minority is not representative"
    )
    status, text = voc.verdict(voc.wilson(20, 100), voc.wilson(45, 100), "negative")
    assert status == "different" and text.startswith("social is less negative than surveys: 20% [13–29] vs 45%")
    assert text.endswith("surveys hear dissatisfaction that social does not show")
    status, text = voc.verdict(voc.wilson(30, 100), voc.wilson(35, 100), "positive")
    assert status == "consistent" and text.startswith("consistent within uncertainty: 30% [22–40] vs 35% [26–45]")
    status, text = voc.verdict(voc.wilson(20, 29), voc.wilson(5, 300), "negative")
    assert (status, text) == ("insufficient", "not enough data: n<30 (social 29, surveys 300)")


def test_topic_mix_is_shares_of_each_sides_negatives() -> None:
    rows = voc.topic_mix(Counter(delays=6, staff=2), Counter(refunds=3, delays=1), top=2)
    assert rows == [
        {"topic": "delays", "social": 6, "social_share": 0.75, "survey": 1, "survey_share": 0.25},
        {"topic": "refunds", "social": 0, "social_share": 0.0, "survey": 3, "survey_share": 0.75},
    ]
    assert voc.topic_mix(Counter(), Counter()) == []


# ------------------------------------------------------------------ the comparison (database)


@pytest.fixture
def loud(acme, make_org, mentions, responses, scope_of):  # type: ignore[no-untyped-def]
    """Acme: social 24 of 40 negative; surveys 8 of 40 dissatisfied. Globex: everything negative."""
    air = acme["brands"]["Acme Air"]
    mentions(
        acme["org"],
        air,
        [("negative", "delays", 20), ("negative", "staff", 4), ("positive", "", 10), ("neutral", "", 6)],
    )
    responses(acme["org"], air, [(1, "negative", "refunds", 8), (5, "positive", "", 24), (3, "neutral", "", 8)])
    globex = make_org("globex", brands=("Globex",))
    g = globex["brands"]["Globex"]
    mentions(globex["org"], g, [("negative", "leaked", 100)])
    responses(globex["org"], g, [(1, "negative", "leaked", 100)])
    return scope_of(acme["users"]["analyst"])


def test_compare_sets_social_against_surveys_per_measure(loud) -> None:  # type: ignore[no-untyped-def]
    out = voc.compare(loud)
    assert (out["social_total"], out["survey_total"], out["survey_comments"]) == (40, 40, 40)
    by = {m.key: m for m in out["measures"]}
    assert list(by) == ["negative", "positive", "csat_dissatisfied", "csat_satisfied"]
    neg = by["negative"]
    assert (neg.social.k, neg.social.n, neg.survey.k, neg.survey.n) == (24, 40, 8, 40)
    assert neg.status == "different" and neg.verdict.startswith("social is more negative than surveys: 60%")
    assert by["csat_dissatisfied"].survey.k == 8 and by["csat_dissatisfied"].status == "different"
    sat = by["csat_satisfied"]
    assert (sat.social.k, sat.survey.k) == (10, 24) and sat.verdict.startswith("social is less positive")
    assert [t["topic"] for t in out["topics"]] == ["refunds", "delays", "staff"]
    assert out["topics"][1] == {
        "topic": "delays",
        "social": 20,
        "social_share": 20 / 24,
        "survey": 0,
        "survey_share": 0.0,
    }


def test_another_organisations_rows_never_count(loud, make_org, scope_of) -> None:  # type: ignore[no-untyped-def]
    out = voc.compare(loud)
    assert "leaked" not in {t["topic"] for t in out["topics"]}
    assert out["survey_total"] == 40
    # and the other side sees only its own
    other = scope_of(make_org("initech", brands=("Initech",))["users"]["analyst"])
    empty = voc.compare(other)
    assert (empty["survey_total"], empty["social_total"]) == (0, 0)


def test_nps_buckets_and_small_samples(acme, mentions, responses, scope_of) -> None:
    rail = acme["brands"]["Acme Rail"]
    mentions(acme["org"], rail, [("negative", "delays", 5), ("positive", "", 5)])
    responses(acme["org"], rail, [(10, "", "", 6), (9, "", "", 4), (7, "", "", 5), (2, "", "", 5)], scale="nps")
    out = voc.compare(scope_of(acme["users"]["analyst"]))
    by = {m.key: m for m in out["measures"]}
    assert (by["nps_promoters"].survey.k, by["nps_detractors"].survey.k, by["nps_detractors"].survey.n) == (10, 5, 20)
    assert out["nps"] == 25  # 50% promoters − 25% detractors
    assert by["nps_promoters"].status == "insufficient"
    assert by["negative"].survey.n == 0 and by["negative"].survey.text() == "no data"


def test_brand_and_date_filters(acme, mentions, responses, scope_of) -> None:
    air, rail = acme["brands"]["Acme Air"], acme["brands"]["Acme Rail"]
    responses(acme["org"], air, [(5, "positive", "", 3)])
    responses(acme["org"], rail, [(1, "negative", "delays", 2)])
    responses(acme["org"], None, [(4, "positive", "", 1)])  # a file with no brand column
    responses(acme["org"], air, [(2, "negative", "seats", 4)], at=datetime(2026, 5, 1, tzinfo=UTC))
    mentions(acme["org"], rail, [("negative", "delays", 7)])
    scope = scope_of(acme["users"]["analyst"])
    assert voc.compare(scope)["survey_total"] == 10
    assert voc.compare(scope, brand_id=rail.pk)["survey_total"] == 2
    assert voc.compare(scope, brand_id=rail.pk)["social_total"] == 7
    april = voc.compare(scope, start=datetime(2026, 4, 1, tzinfo=UTC), end=datetime(2026, 6, 1, tzinfo=UTC))
    assert (april["survey_total"], april["social_total"]) == (4, 0)
    # a brand outside the scope is ignored rather than shown
    assert voc.compare(scope, brand_id=999_999)["survey_total"] == 10


def test_users_limited_to_some_brands_see_only_theirs(acme, responses, scope_of) -> None:
    from hubbub.tenancy.models import Membership

    air, rail = acme["brands"]["Acme Air"], acme["brands"]["Acme Rail"]
    responses(acme["org"], air, [(5, "positive", "", 3)])
    responses(acme["org"], rail, [(1, "negative", "delays", 2)])
    responses(acme["org"], None, [(4, "positive", "", 1)])
    Membership.objects.get(user=acme["users"]["analyst"]).brands.set([rail])
    scope = scope_of(acme["users"]["analyst"])
    assert voc.compare(scope)["survey_total"] == 2
    assert voc.compare(scope, brand_id=air.pk)["survey_total"] == 2  # not Air's


def test_custom_scales_are_bucketed_by_quarter_of_the_scale(acme, mentions, scope_of, client) -> None:
    """`--scale 1-7` and `--scale 0-100` surveys get satisfied / dissatisfied rows too: the top and bottom quarter
    of each response's own scale (top-two-box on 1–7; on 1–5 it would be CSAT's 4–5 / 1–2)."""
    import io

    from hubbub.insights import importing

    org = acme["org"]
    rail = acme["brands"]["Acme Rail"]
    mentions(org, rail, [("negative", "delays", 40), ("positive", "", 10)])
    seven = "id,date,score,brand\n" + "".join(f"a{s},2026-03-01,{s},acme-rail\n" for s in range(1, 8))
    hundred = "id,date,score,brand\n" + "".join(
        f"b{s},2026-03-01,{s},acme-rail\n" for s in (0, 25, 26, 50, 74, 75, 100)
    )
    importing.run_stream(org.pk, io.BytesIO(seven.encode()), "seven.csv", scale="1-7")
    importing.run_stream(org.pk, io.BytesIO(hundred.encode()), "hundred.csv", scale="0-100")

    out = voc.compare(scope_of(acme["users"]["analyst"]), brand_id=rail.pk)
    by = {m.key: m for m in out["measures"]}
    assert out["other_responses"] == 14
    # 1–7: 1, 2 and 6, 7; 0–100: 0, 25 and 75, 100 — the middle (3–5; 26–74) is neutral
    assert (by["other_dissatisfied"].survey.k, by["other_dissatisfied"].survey.n) == (4, 14)
    assert (by["other_satisfied"].survey.k, by["other_satisfied"].survey.n) == (4, 14)
    assert by["other_dissatisfied"].social.k == 40 and by["other_dissatisfied"].status == "insufficient"  # n<30
    assert "csat_satisfied" not in by and "nps_promoters" not in by

    client.force_login(acme["users"]["analyst"])
    page = client.get(f"/reports/voice-of-the-customer/?brand={rail.pk}").content.decode()
    assert "Satisfied (other scales: top ¼)" in page and "Dissatisfied (other scales: bottom ¼)" in page
