"""Prediction multiplies the dense columns (static embeddings, the heads' sentiment inputs) apart
from the sparse ones (`model.linear_proba`, `Featurizer.transform_parts`). These tests pin that to
scikit-learn's own `predict_proba` on the full matrix, so a drift would change labels visibly."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import hstack
from scipy.sparse import random as sparse_random
from sklearn.linear_model import LogisticRegression

from hubbub.analysis.model import HubbubModel, linear_proba
from tests.analysis.test_fastvec import _sample_texts


@pytest.mark.parametrize("n_classes", [2, 3, 6])
def test_split_product_equals_predict_proba(n_classes: int) -> None:
    rng = np.random.default_rng(n_classes)
    xs = sparse_random(400, 300, density=0.03, format="csr", dtype=np.float32, random_state=n_classes)
    dense = rng.normal(size=(400, 20)).astype(np.float32)
    y = rng.integers(0, n_classes, size=400)
    full = hstack([xs, dense], format="csr", dtype=np.float32)
    clf = LogisticRegression(max_iter=300).fit(full, y)
    got = linear_proba(clf, xs, dense)
    want = clf.predict_proba(full)
    assert got.shape == want.shape
    assert np.allclose(got, want, atol=1e-6)
    assert (got.argmax(axis=1) == want.argmax(axis=1)).all()


def test_parts_join_to_the_full_matrix(shipped_model: HubbubModel) -> None:
    texts = _sample_texts()
    xs, emb, v, d = shipped_model.featurizer.transform_parts(texts)
    x, v2, d2 = shipped_model.featurizer.transform_all(texts)
    joined = xs if emb is None else hstack([xs, emb], format="csr", dtype=np.float32)
    assert (joined != x).nnz == 0
    assert np.array_equal(v, v2) and np.array_equal(d, d2)


def test_every_head_matches_the_full_matrix_path(shipped_model: HubbubModel) -> None:
    m = shipped_model
    texts = _sample_texts()
    xs, emb, v, d = m.featurizer.transform_parts(texts)
    x, _, _ = m.featurizer.transform_all(texts)
    sp_full = m.sentiment_proba(x, v, d)
    sp = m._sentiment_proba_parts(xs, emb, v, d)
    assert np.allclose(sp, sp_full, atol=1e-5)
    assert (sp.argmax(axis=1) == sp_full.argmax(axis=1)).all()
    xi = m._head_inputs(x, sp_full)
    dense = sp.astype(np.float32) * 2.0 if emb is None else np.hstack([emb, sp.astype(np.float32) * 2.0])
    for head in (m.intent, m.journey):
        assert np.allclose(linear_proba(head, xs, dense), head.predict_proba(xi), atol=1e-5)
