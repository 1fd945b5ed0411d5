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


def test_class_offsets_move_borderline_messages_to_the_rare_class() -> None:
    """Offsets added to a head's intercepts shift its decision exactly as adding them to the log-probabilities."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from hubbub.analysis.train import _with_offsets

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    y = np.where(x[:, 0] > 1.0, "suggestion", np.where(x[:, 1] > 0, "complaint", "question"))
    clf = LogisticRegression().fit(x, y)
    before = clf.predict_log_proba(x)
    offsets = {"suggestion": 1.0, "question": -0.25}
    shifted = _with_offsets(clf, offsets)
    add = np.array([offsets.get(str(c), 0.0) for c in shifted.classes_])
    expected = shifted.classes_[(before + add).argmax(axis=1)]
    assert np.array_equal(shifted.predict(x), expected)
    assert (shifted.predict(x) == "suggestion").sum() > (clf.classes_[before.argmax(axis=1)] == "suggestion").sum()
