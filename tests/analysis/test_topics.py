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


_TRAIN = {
    "late flight": [
        "my flight is delayed",
        "delayed two hours at the gate",
        "another delay today",
        "delays every single week",
        "still delayed, no update",
        "the delay made me miss my meeting",
        "flight delayed again",
        "why is everything delayed",
    ],
    "lost luggage": [
        "lost my bag",
        "my luggage is lost",
        "where is my luggage",
        "luggage never arrived",
        "you lost my suitcase",
        "bag missing after landing",
        "still no luggage",
        "luggage lost for three days",
    ],
    "customer service issue": [
        "rude staff at the desk",
        "the agent was rude",
        "nobody answers the phone",
        "on hold for an hour",
        "customer service hung up on me",
        "the staff ignored me",
        "terrible service from your agents",
        "no one replies to my emails",
    ],
}


def _fit(chars: tuple[int, int] | None) -> TopicModel:
    texts = [t for ts in _TRAIN.values() for t in ts]
    labels = [k for k, ts in _TRAIN.items() for _ in ts]
    return TopicModel().fit(texts, labels, kind="lr", chars=chars, char_scale=1.0)


def test_character_ngrams_read_misspelt_complaints() -> None:
    """Customers misspell: "delaaayed", "lugage". Word n-grams know neither word; character n-grams still do."""
    probe = ["delaaayed once more", "my lugage never came"]
    words_only = [t for t, _, _ in _fit(None).predict(probe)]
    with_chars = [t for t, _, _ in _fit((2, 4)).predict(probe)]
    assert with_chars == ["late flight", "lost luggage"]
    assert words_only != with_chars


def test_character_columns_are_never_shown_as_reasons() -> None:
    model = _fit((2, 5))
    for _, _, words in model.predict(["the agent was rude and my bag is lost", "delayyyy"]):
        assert all(w and w.strip() == w and w in model.vectorizer.vocabulary_ for w in words)


def test_a_model_pickled_before_character_ngrams_still_predicts() -> None:
    model = _fit((2, 4))
    del model.__dict__["char_vectorizer"]  # what an artifact from before this attribute looks like
    model._names = model.vectorizer.get_feature_names_out()
    model.clf = _fit(None).clf
    ((topic, _, _),) = model.predict(["flight delayed again today"])
    assert topic == "late flight"


def test_working_copies_are_not_pickled_with_the_model() -> None:
    """Predicting builds caches; saving the model afterwards (as the benchmark does) must not ship them."""
    import pickle

    model = _fit((2, 4))
    model.predict(["flight delayed again today"])
    assert "_allowed" in model.__dict__
    restored = pickle.loads(pickle.dumps(model))
    assert "_allowed" not in restored.__dict__
    assert [t for t, _, _ in restored.predict(["my luggage is lost"])] == ["lost luggage"]
