"""Temperature-check scoring: what a marketer sees before launching a campaign."""

from __future__ import annotations

import pytest

from hubbub.listening.temperature import BrandStats, TermStats, open_ended_hashtag_reason, temperature_check


@pytest.mark.parametrize("tag", ["#AskJPM", "#McDStories", "#AskUnited", "#ShareYourMemories", "#TellUsAnything"])
def test_open_ended_hashtags_are_flagged(tag: str) -> None:
    assert open_ended_hashtag_reason(tag) is not None


@pytest.mark.parametrize("tag", ["#SuperBowl", "#united", "#FlyDelta", ""])
def test_ordinary_hashtags_are_not_flagged(tag: str) -> None:
    assert open_ended_hashtag_reason(tag) is None


def test_calm_brand_and_plain_hashtag_scores_low_with_a_reassuring_reason() -> None:
    brand = BrandStats(1000, 200, 4000, 800)
    r = temperature_check(brand, [TermStats("sale", 50, 5)], ["#SpringSale"], "Delta")
    assert r.score < 25 and r.level == "calm"
    assert r.reasons and "normal" in r.reasons[0]


def test_brand_under_fire_with_question_hashtag_scores_high_and_says_why() -> None:
    brand = BrandStats(1000, 600, 4000, 800, open_incidents=1)
    r = temperature_check(brand, [TermStats("luxury", 40, 30)], ["#AskUnited"], "United")
    assert r.score >= 75
    text = " ".join(r.reasons)
    assert "more negative than usual" in text
    assert "invites hijacking" in text
    assert "open incident" in text


def test_score_rises_with_worse_mood() -> None:
    calm = temperature_check(BrandStats(1000, 200, 4000, 800))
    worse = temperature_check(BrandStats(1000, 400, 4000, 800))
    worst = temperature_check(BrandStats(1000, 700, 4000, 800))
    assert calm.score < worse.score < worst.score <= 100


def test_a_handful_of_mentions_is_not_a_trend() -> None:
    r = temperature_check(BrandStats(3, 3, 4000, 800))
    assert r.score < 25


def test_without_baseline_mentions_no_ratio_against_the_usual_is_claimed() -> None:
    r = temperature_check(BrandStats(400, 300, 0, 0, recent_days=2.0, baseline_days=1e-6), [], [], "Acme")
    assert r.factors["surge"] == 0 and not any("usual" in reason for reason in r.reasons)
    assert any("negative" in reason for reason in r.reasons)  # the absolute mood still counts
