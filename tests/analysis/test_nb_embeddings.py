"""The training pieces added in the fourth iteration: folded NB-LR and the static-embedding block."""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.linear_model import LogisticRegression

from hubbub.analysis import embeddings
from hubbub.analysis.features import Featurizer
from hubbub.analysis.model import lexicon_inputs
from hubbub.analysis.train import NB_SCALE, _fit_nb_lr, _nb_ratios

TEXTS = [
    "worst delay ever, lost my bag",
    "thank you, great crew",
    "what time does the gate open?",
    "cancelled again, awful service",
    "love the new seats, thanks",
    "is there wifi on board?",
] * 5
LABELS = ["negative", "positive", "neutral", "negative", "positive", "neutral"] * 5


def _featurizer() -> Featurizer:
    return Featurizer(ngram_max=2).fit(TEXTS)


def test_folded_nb_lr_equals_the_augmented_model() -> None:
    """Folding the NB blocks back into word weights must not change a single probability."""
    feat = _featurizer()
    x, _, _ = feat.transform_all(TEXTS)
    clf = _fit_nb_lr(x, LABELS, [1.0] * len(TEXTS), c=2.0, n_word=feat.n_word)
    assert clf.coef_.shape[1] == x.shape[1]
    y = np.asarray(LABELS)
    r = _nb_ratios(x, y, clf.classes_, feat.n_word) * NB_SCALE
    aug = hstack([x] + [x[:, : feat.n_word].multiply(r[k]).tocsr() for k in range(3)], format="csr")
    ref = LogisticRegression(C=2.0, max_iter=3000).fit(aug, y, sample_weight=np.ones(len(y)))
    assert np.allclose(ref.predict_proba(aug), clf.predict_proba(x), atol=1e-4)


def test_embedding_block_is_appended_pooled_and_normalised() -> None:
    feat = _featurizer()
    cols, words = embeddings.unigram_columns(feat.word.get_feature_names_out())
    assert words and all(" " not in w for w in words)
    rng = np.random.default_rng(0)
    feat.set_embedding(cols, rng.normal(size=(len(words), 8)), scale=2.0)
    x, v, _ = feat.transform_all(["worst delay ever", "zzz qqq"])
    block = x[:, -8:].toarray()
    assert np.isclose(np.linalg.norm(block[0]), 2.0, atol=1e-3)  # known words: scaled unit vector
    assert np.allclose(block[1], 0.0)  # no known word: zeros, not NaN
    assert len(feat.feature_names) == x.shape[1]
    # the domain-general sentiment model reads the lexicon scores plus exactly this block
    clf = type("Fitted", (), {"n_features_in_": v.shape[1] + 8})()
    assert np.allclose(lexicon_inputs(csr_matrix(x), v, clf)[:, -8:], block)
    # the float32 working copy is not pickled
    assert "_emb32" in feat.__dict__ and "_emb32" not in feat.__getstate__()
