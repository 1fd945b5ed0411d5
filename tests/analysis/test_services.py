"""`analysis.services.get_analyzer`: a missing model is said out loud, never a quiet switch to weaker labels."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from hubbub.analysis import model, services
from hubbub.analysis.baseline import BaselineAnalyzer


@pytest.fixture
def fresh_analyzer() -> Iterator[None]:
    """get_analyzer caches per process: start and end every test with an empty cache."""
    services.get_analyzer.cache_clear()
    yield
    services.get_analyzer.cache_clear()


def test_without_its_artifact_the_baseline_labels_and_the_operator_is_warned(
    fresh_analyzer: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def missing() -> model.HubbubModel:
        raise FileNotFoundError("/nowhere/model.joblib.gz")

    monkeypatch.setattr(model, "load_default_model", missing)
    with caplog.at_level(logging.WARNING, logger="hubbub.analysis"):
        analyzer = services.get_analyzer()
    assert isinstance(analyzer, BaselineAnalyzer)
    (record,) = [r for r in caplog.records if r.name == "hubbub.analysis"]
    assert record.levelno == logging.WARNING
    assert "VADER baseline" in record.getMessage() and "hubbub analysis train" in record.getMessage()


def test_a_broken_model_module_fails_instead_of_falling_back(
    fresh_analyzer: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ImportError (a rename, a missing dependency) is a broken install: it surfaces, it is not a baseline."""

    def broken() -> model.HubbubModel:
        raise ImportError("cannot import name 'Featurizer'")

    monkeypatch.setattr(model, "load_default_model", broken)
    with pytest.raises(ImportError, match="Featurizer"):
        services.get_analyzer()
