"""The issue's ten tweets to a bank, a phone carrier, a food-delivery app and others, as a new user tried them.

Each test states what that user noticed was wrong and checks it is not any more: topics that fit the
brand, emoji that carry sentiment, reasons that are in the text, non-English text not explained with
English words, suggestions and journey stages other than support.
"""

from __future__ import annotations

import re

import pytest

from hubbub.analysis.general_topics import GENERAL_TOPICS
from hubbub.analysis.model import HubbubModel
from hubbub.analysis.topics import DEFAULT_TOPICS, TopicModel
from hubbub.analysis.types import Analysis, AnalysisContext

AIRLINE_TOPICS = set(DEFAULT_TOPICS)


def one(model: HubbubModel, text: str, ctx: AnalysisContext | None = None) -> Analysis:
    return model.analyze_batch([text], [ctx])[0]


def reasons_of(a: Analysis) -> list[str]:
    return [w for words in a.explanations.values() for w in words]


def in_text(word: str, text: str) -> bool:
    """Whole-word presence, as a reader would check it ("!", "?" and emoji as they are)."""
    if not any(ch.isalnum() for ch in word):
        return word in text
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text.lower()) is not None


def test_a_declined_debit_card_is_a_billing_problem_not_a_flight_attendant(shipped_model: HubbubModel) -> None:
    a = one(shipped_model, "@chase my debit card got declined at the store again, there is money in my account!")
    assert a.sentiment == "negative"
    assert a.topic == "billing and payments"


def test_cold_food_is_about_the_product_not_a_late_flight(shipped_model: HubbubModel) -> None:
    a = one(shipped_model, "@UberEats my food arrived cold and soggy, not ordering again")
    assert a.intent == "complaint"
    assert a.topic == "product quality"


def test_pausing_a_phone_line_is_not_a_flight_booking_problem(shipped_model: HubbubModel) -> None:
    a = one(shipped_model, "@TMobile I want to pause my phone line while abroad and your site won't let me, useless")
    assert a.topic in GENERAL_TOPICS
    assert a.topic not in AIRLINE_TOPICS


def test_three_angry_faces_are_negative(shipped_model: HubbubModel) -> None:
    a = one(shipped_model, "@Verizon 😡😡😡")
    assert a.sentiment == "negative" and a.sentiment_score < -0.5
    assert a.explanations["sentiment"] == ["😡"]
    # and the mirror image: praise in emoji alone is positive
    assert one(shipped_model, "@Spotify 😍🙌").sentiment == "positive"


def test_a_spanish_complaint_is_detected_as_spanish_and_never_explained_with_english_words(
    shipped_model: HubbubModel,
) -> None:
    a = one(shipped_model, "@Movistar mi internet no funciona desde hace tres días y nadie me ayuda, es una vergüenza")
    assert a.language == "es"
    assert not any(any(ch.isalpha() for ch in w) for w in reasons_of(a)), reasons_of(a)
    assert not {"mi", "de", "y", "no", "es"} & set(reasons_of(a))


def test_a_feature_suggestion_is_a_suggestion_not_a_complaint(shipped_model: HubbubModel) -> None:
    a = one(shipped_model, "@Spotify you should add a sleep timer to the desktop app, it would be really useful")
    assert a.intent == "suggestion"
    assert a.topic == ""  # a suggestion has no complaint cause


def test_a_praise_tweet_is_explained_only_with_words_it_contains(shipped_model: HubbubModel) -> None:
    text = "@Delta the crew on my flight today was awesome, great job!"
    a = one(shipped_model, text)
    assert a.sentiment == "positive" and a.intent == "praise"
    reasons = reasons_of(a)
    assert reasons and "thanks" not in reasons  # the cue that "awesome" sets used to be shown as "thanks"
    assert all(in_text(w, text) for w in reasons), reasons


def test_every_reason_of_every_label_is_in_its_text(shipped_model: HubbubModel) -> None:
    texts = [
        "@AmericanAir thank you so much, the crew was lovely",
        "@AmazonHelp my package was marked delivered but it's not here",
        "@Netflix is the premium plan worth it or should I get standard?",
        "@united worst airline ever, 3 hours late and no one at the desk!!",
        "@Uber love the new update 🙌 so quick",
    ]
    for text, a in zip(texts, shipped_model.analyze_batch(texts), strict=True):
        for label, words in a.explanations.items():
            assert all(in_text(w, text) for w in words), (label, words, text)


def test_journey_stages_other_than_support_are_found(shipped_model: HubbubModel) -> None:
    selection = one(shipped_model, "@Netflix is the premium plan worth it or should I get standard?")
    purchase = one(shipped_model, "@Zara trying to buy these shoes but payment failed at checkout three times")
    research = one(shipped_model, "@Southwest do you fly to Boise from Denver? how much is it usually?")
    support = one(shipped_model, "@AmazonHelp my package was marked delivered but it's not here")
    assert selection.journey_stage == "selection"
    assert purchase.journey_stage == "purchase"
    assert research.journey_stage == "research"
    assert support.journey_stage == "support"


def test_airline_topics_only_for_airline_brands(shipped_model: HubbubModel) -> None:
    text = "@brand my flight was delayed three hours and nobody told us anything"
    airline = one(shipped_model, text, AnalysisContext(brand="united", industry="airline"))
    bank = one(shipped_model, text, AnalysisContext(brand="chase", industry="banking"))
    no_context = one(shipped_model, text)
    assert airline.topic in AIRLINE_TOPICS
    assert bank.topic in GENERAL_TOPICS and no_context.topic in GENERAL_TOPICS


def test_a_brand_with_its_own_topics_gets_the_topic_of_the_nearest_example(shipped_model: HubbubModel) -> None:
    own = TopicModel.from_examples(
        {
            "slow delivery": ["my parcel is still not here", "delivery is a week late"],
            "rude courier": ["the courier was rude to me", "driver shouted at my mum"],
        },
        shared_vectorizer=shipped_model.featurizer.word,
        kind="nearest",
    )
    ctx = AnalysisContext(brand="parcelco", industry="retail", topics=own)
    texts = ["@parcelco your courier was so rude today, awful", "@parcelco my parcel is still not here, terrible"]
    got = [a.topic for a in shipped_model.analyze_batch(texts, [ctx, ctx])]
    assert got == ["rude courier", "slow delivery"]
    unrelated = one(shipped_model, "@parcelco I hate mondays and this weather is awful", ctx)
    assert unrelated.topic in ("other", "")


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("my order never arrived and nobody answers the phone", "en"),
        ("mon colis n'est toujours pas arrivé, c'est inadmissible", "fr"),
        ("Ich warte seit zwei Wochen auf meine Bestellung", "de"),
        ("@Verizon 😡😡😡", ""),
    ],
)
def test_the_language_is_detected_or_left_unknown(shipped_model: HubbubModel, text: str, lang: str) -> None:
    assert one(shipped_model, text).language == lang
