"""Fixtures for the analysis tests: the shipped model and the shared data location."""

from __future__ import annotations

import pytest

from hubbub.analysis import data
from hubbub.analysis.model import DEFAULT_MODEL_PATH, HubbubModel


@pytest.fixture(scope="session")
def shipped_model() -> HubbubModel:
    if not DEFAULT_MODEL_PATH.exists():
        pytest.skip("no trained model in the package; run `hubbub analysis train`")
    return HubbubModel.load(DEFAULT_MODEL_PATH)


@pytest.fixture(scope="session")
def shared_data() -> str:
    d = data.shared_dir()
    if not (d / "airline_sentiment" / "Tweets.csv").exists():
        pytest.skip(f"shared datasets not found at {d}")
    return str(d)
