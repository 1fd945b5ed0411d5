"""The shipped model labels messages the way an agent would expect."""

from __future__ import annotations

from hubbub.analysis import data
from hubbub.analysis.model import HubbubModel
from hubbub.analysis.services import analyze_batch, get_analyzer
from hubbub.analysis.types import INTENTS, JOURNEY_STAGES, SENTIMENTS, AnalysisContext


def test_lost_bag_is_a_negative_complaint_about_luggage(shipped_model: HubbubModel) -> None:
    airline = AnalysisContext(brand="united", industry="airline")  # the airline topics are the airline preset
    (a,) = shipped_model.analyze_batch(["@united lost my bag again, worst airline"], [airline])
    assert a.sentiment == "negative"
    assert a.sentiment_score < -0.3
    assert a.intent == "complaint"
    assert a.topic == "lost luggage"
    assert a.journey_stage == "support"
    assert "topic" in a.explanations and "bag" in " ".join(a.explanations["topic"])


def test_thanks_is_positive_praise(shipped_model: HubbubModel) -> None:
    (a,) = shipped_model.analyze_batch(["@SouthwestAir thank you so much, the crew was amazing today!"])
    assert a.sentiment == "positive"
    assert a.sentiment_score > 0.3
    assert a.intent == "praise"
    assert a.topic == ""


def test_a_plain_question_is_a_question(shipped_model: HubbubModel) -> None:
    (a,) = shipped_model.analyze_batch(["@JetBlue do you fly from Boston to Austin in the summer?"])
    assert a.intent == "question"
    assert a.sentiment != "negative"


def test_complaints_beyond_airlines(shipped_model: HubbubModel) -> None:
    texts = [
        "@AppleSupport the new update broke my phone, it keeps freezing and nobody helps",
        "@AmazonHelp my order still hasn't arrived after two weeks, this is ridiculous",
    ]
    for a in shipped_model.analyze_batch(texts):
        assert (a.sentiment, a.intent) == ("negative", "complaint")


def test_every_label_is_from_the_published_sets_with_confidence_and_reasons(
    shipped_model: HubbubModel,
) -> None:
    texts = ["you should add wifi on the Boise route", "lawyer is next, you hurt my son", "ok", "🙂🙂"]
    out = shipped_model.analyze_batch(texts)
    assert len(out) == len(texts)
    for a in out:
        assert a.sentiment in SENTIMENTS and a.intent in INTENTS and a.journey_stage in JOURNEY_STAGES
        assert -1.0 <= a.sentiment_score <= 1.0
        assert 0 <= a.urgency <= 100
        assert 0.0 <= a.confidence["sentiment"] <= 1.0
        assert a.model_version.startswith("hubbub-2026.11-3+")
    assert any(r.startswith("risk: legal") for r in out[1].urgency_reasons)


def test_urgency_rises_with_reach_and_risk(shipped_model: HubbubModel) -> None:
    text = "@united you cancelled my flight again and I'm stranded with my kids"
    quiet, loud = shipped_model.analyze_batch(
        [text, text], [AnalysisContext(), AnalysisContext(followers=250_000, retweets=400, age_minutes=10)]
    )
    assert loud.urgency > quiet.urgency
    assert any("reach" in r for r in loud.urgency_reasons)


def test_empty_text_gets_neutral_labels_not_an_error(shipped_model: HubbubModel) -> None:
    (a,) = shipped_model.analyze_batch([""])
    assert a.sentiment == "neutral" and a.intent == "other"


def test_services_use_the_shipped_model(shipped_model: HubbubModel) -> None:
    assert get_analyzer().version == shipped_model.version
    out = analyze_batch(["great flight", "terrible flight"], None)
    assert [a.sentiment for a in out] == ["positive", "negative"]


def test_urgency_reasons_never_contradict_the_sentiment_label(shipped_model: HubbubModel, shared_data: str) -> None:
    # general tweets: the score often leans negative while the label stays neutral
    texts, _ = data.load_tweeteval(shared_data)
    out = shipped_model.analyze_batch(texts)
    leaning = [a for a in out if a.sentiment != "negative" and a.sentiment_score < -0.05]
    assert leaning, "the sample should hold neutral messages whose score leans negative"
    for a in out:
        if "negative sentiment" in a.urgency_reasons:
            assert a.sentiment == "negative"
    assert all("leaning negative" in a.urgency_reasons for a in leaning)
