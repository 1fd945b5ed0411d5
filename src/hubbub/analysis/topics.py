"""Complaint topics (the cause of a complaint), definable per brand.

A brand writes its own topic list with a few example sentences each;
`TopicModel.from_examples` turns that into a nearest-centroid classifier over
tf-idf, which works with 3-10 examples per topic and needs no retraining of the
rest of the engine. The default list is the airline data's `negativereason`
categories, fit on the airline training split (with many examples per topic a
logistic regression replaces the centroids: same interface, better accuracy).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

from hubbub.analysis.features import normalise

DEFAULT_TOPICS = (
    "late flight",
    "cancelled flight",
    "lost luggage",
    "damaged luggage",
    "customer service issue",
    "bad flight",
    "flight booking problems",
    "flight attendant complaints",
    "long lines",
)
UNKNOWN_TOPIC = "other"


class TopicModel:
    """Topic of a complaint with a confidence and the words that decided it."""

    def __init__(self, min_confidence: float = 0.0) -> None:
        self.vectorizer = TfidfVectorizer(
            ngram_range=(1, 2),
            min_df=1,
            sublinear_tf=True,
            dtype=np.float32,
            token_pattern=r"(?u)\b\w[\w']*\b",
        )
        self.topics: list[str] = []
        self.kind = "centroid"
        self.centroids: np.ndarray | None = None
        self.clf: LogisticRegression | None = None
        self.min_confidence = min_confidence
        self._names: np.ndarray = np.array([])

    @classmethod
    def from_examples(cls, examples: Mapping[str, Sequence[str]], min_confidence: float = 0.0) -> TopicModel:
        """A brand's own topic list: {"slow delivery": ["parcel still not here", ...], ...}."""
        texts: list[str] = []
        labels: list[str] = []
        for topic, sentences in examples.items():
            for s in sentences:
                texts.append(s)
                labels.append(topic)
        return cls(min_confidence).fit(texts, labels, kind="centroid")

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        kind: str = "auto",
        sample_weight: Sequence[float] | None = None,
    ) -> TopicModel:
        """Fit centroids (few examples) or a logistic regression (many, kind='auto' decides)."""
        if not texts:
            raise ValueError("a topic model needs at least one example")
        self.topics = sorted(set(labels))
        per_topic = min(sum(1 for y in labels if y == t) for t in self.topics)
        self.kind = ("lr" if per_topic >= 30 else "centroid") if kind == "auto" else kind
        if self.kind == "centroid":
            self.vectorizer.set_params(min_df=1)
        else:
            self.vectorizer.set_params(min_df=2, max_features=20000)
        x = self.vectorizer.fit_transform([normalise(t) for t in texts])
        self.vectorizer.stop_words_ = None  # type: ignore[assignment]
        self._names = self.vectorizer.get_feature_names_out()
        y = np.array(labels)
        if self.kind == "centroid":
            cents = np.vstack([np.asarray(x[y == t].mean(axis=0)).ravel() for t in self.topics])
            self.centroids = normalize(cents).astype(np.float32)
            self.clf = None
        else:
            self.clf = LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced")
            self.clf.fit(x, y, sample_weight=None if sample_weight is None else np.asarray(sample_weight))
            self.clf.coef_ = self.clf.coef_.astype(np.float32)
            self.topics = [str(c) for c in self.clf.classes_]
            self.centroids = None
        return self

    def _scores(self, x: object) -> np.ndarray:
        if self.clf is not None:
            return np.asarray(self.clf.predict_proba(x))
        assert self.centroids is not None
        sims = np.asarray(x @ self.centroids.T)  # type: ignore[operator]
        # softmax over cosine similarities: a confidence comparable across brands
        e = np.exp((sims - sims.max(axis=1, keepdims=True)) * 10.0)
        return np.asarray(e / e.sum(axis=1, keepdims=True))

    def predict(self, texts: Sequence[str], explain: int = 3) -> list[tuple[str, float, list[str]]]:
        """(topic, confidence, top words) for each text."""
        if not texts:
            return []
        x = self.vectorizer.transform([normalise(t) for t in texts]).tocsr()
        probs = self._scores(x)
        out: list[tuple[str, float, list[str]]] = []
        for i in range(len(texts)):
            k = int(probs[i].argmax())
            conf = float(probs[i, k])
            lo, hi = x.indptr[i], x.indptr[i + 1]
            idx, vals = x.indices[lo:hi], x.data[lo:hi]
            weights = self.clf.coef_[k] if self.clf is not None else self.centroids[k]  # type: ignore[index]
            contrib = vals * weights[idx]
            order = np.argsort(-contrib)[:explain]
            words = [str(self._names[idx[j]]) for j in order if contrib[j] > 0]
            if hi == lo or conf < self.min_confidence:
                out.append((UNKNOWN_TOPIC, conf, words))
            else:
                out.append((str(self.topics[k]), conf, words))
        return out
