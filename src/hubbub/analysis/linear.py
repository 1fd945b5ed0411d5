"""Linear heads over column blocks that are never stacked into one matrix.

Stacking a sparse block and a second block (dense features, or another sparse
vocabulary) copies every row; multiplying each block by its own slice of the
weights gives the same probabilities for a fraction of the work. Used by the
model's sentiment, intent and journey heads and by the topic model.
"""

from __future__ import annotations

import weakref

import numpy as np
from scipy.sparse import csr_matrix
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.utils.extmath import softmax

# Per classifier: (the coef_ array the split was made from, sparse width, sparse part, dense part).
# Weak keys: a retrained or unloaded model takes its entry with it (an id() key could be reused).
_SPLIT_COEF: weakref.WeakKeyDictionary[LogisticRegression, tuple[np.ndarray, int, np.ndarray, np.ndarray]] = (
    weakref.WeakKeyDictionary()
)


def linear_proba(clf: LogisticRegression, xs: csr_matrix, dense: np.ndarray | csr_matrix | None = None) -> np.ndarray:
    """`clf.predict_proba` of the column-wise concatenation [xs, dense] without building it.

    The decision function is split into a product with the first block and one with the
    second (dense, like the sentiment heads' inputs, or sparse, like the topic model's
    character block), then turned into probabilities exactly as scikit-learn does (expit
    for two classes, softmax otherwise).
    """
    ns = xs.shape[1]
    split = _SPLIT_COEF.get(clf)
    if split is None or split[0] is not clf.coef_ or split[1] != ns:
        coef = np.asarray(clf.coef_)
        split = (clf.coef_, ns, np.ascontiguousarray(coef[:, :ns].T), np.ascontiguousarray(coef[:, ns:].T))
        _SPLIT_COEF[clf] = split
    sparse_w, dense_w = split[2], split[3]
    scores = np.asarray(xs @ sparse_w)
    if dense is not None and dense.shape[1]:
        scores = scores + np.asarray(dense @ dense_w)
    scores = scores + clf.intercept_
    if len(clf.classes_) <= 2:
        prob = expit(scores[:, 0])
        return np.stack([1 - prob, prob], axis=1)
    return np.asarray(softmax(scores, copy=False))
