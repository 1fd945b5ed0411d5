"""Training accepts agents' corrections, and they change what the model says."""

from __future__ import annotations

import pytest

from hubbub.analysis.train import Correction, train

NOVEL = "the zorblax portal flimflammed my snorkel voucher"


@pytest.mark.slow
def test_corrections_move_the_model(shared_data: str) -> None:
    before = train(data_dir=shared_data, output=None, quick=True)
    (a,) = before.analyze_batch([NOVEL])
    target = "suggestion" if a.intent != "suggestion" else "spam"
    corrections = [Correction(NOVEL, "intent", target)] * 3 + [Correction(NOVEL, "topic", "lost luggage")] * 3
    after = train(corrections, data_dir=shared_data, output=None, quick=True)
    (b,) = after.analyze_batch([NOVEL])
    assert b.intent == target
    assert after.version != before.version
    assert [t for t, _, _ in after.topic.predict([NOVEL])] == ["lost luggage"]


def test_corrections_are_validated() -> None:
    with pytest.raises(ValueError):
        Correction("hi", "mood", "happy")
    with pytest.raises(ValueError):
        Correction("hi", "intent", "rant")
