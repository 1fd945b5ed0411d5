"""A brand can define its own complaint topics from a few examples each."""

from __future__ import annotations

from hubbub.analysis.topics import TopicModel


def test_brand_topics_from_a_few_examples() -> None:
    model = TopicModel.from_examples(
        {
            "late delivery": ["my order is late", "parcel still not delivered", "where is my delivery"],
            "wrong item": ["you sent me the wrong size", "got someone else's order", "wrong item in the box"],
            "billing": ["charged twice on my card", "refund never showed up", "overcharged on my bill"],
        }
    )
    got = [t for t, _, _ in model.predict(["my delivery is two days late", "I was charged twice", "wrong size again"])]
    assert got == ["late delivery", "billing", "wrong item"]


def test_topic_comes_with_confidence_and_words() -> None:
    model = TopicModel.from_examples(
        {"food": ["cold food", "food was bad"], "staff": ["rude staff", "staff ignored me"]}
    )
    ((topic, conf, words),) = model.predict(["the staff were rude"])
    assert topic == "staff" and 0.5 < conf <= 1.0 and "staff" in words


def test_text_with_no_known_word_is_other() -> None:
    model = TopicModel.from_examples({"food": ["cold food"], "staff": ["rude staff"]})
    ((topic, _, words),) = model.predict(["zzz qqq"])
    assert topic == "other" and words == []
