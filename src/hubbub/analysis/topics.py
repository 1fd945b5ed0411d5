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
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

from hubbub.analysis.fastvec import fast_vectorizer
from hubbub.analysis.features import normalise, top_contributions
from hubbub.analysis.linear import linear_proba
from hubbub.analysis.scan import PatternSet
from hubbub.analysis.stages import boost_column
from hubbub.analysis.types import DEFAULT_TOPICS, UNKNOWN_TOPIC

__all__ = ["DEFAULT_TOPICS", "UNKNOWN_TOPIC", "MIN_SIMILARITY", "TopicModel"]

# A brand's topics (`kind="nearest"`): a complaint whose best example shares less than this cosine
# similarity with it is "other" rather than the least unlike topic.
MIN_SIMILARITY = 0.12


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
        self.shared = False  # True when `vectorizer` is the engine's own word vectorizer
        # optional character n-grams inside word boundaries, appended to the word block (x `char_scale`):
        # they catch misspellings and word forms ("delayd", "cancelation", "luggages") that word n-grams miss
        self.char_vectorizer: TfidfVectorizer | None = None
        self.char_scale = 1.0
        self._names: np.ndarray = np.array([])
        self.examples_x: csr_matrix | None = None  # kind "nearest": the examples, grouped by topic
        self.example_starts = np.zeros(0, dtype=np.int64)

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        # working copies built on first use, not shipped: `_allowed` (the "why" mask) and `_split` (weights
        # split by an earlier version of `_scores`; artifacts saved after a benchmark run carried it along)
        state.pop("_allowed", None)
        state.pop("_split", None)
        state.pop("_cue_re", None)
        return state

    @classmethod
    def from_examples(
        cls,
        examples: Mapping[str, Sequence[str]],
        min_confidence: float = 0.0,
        shared_vectorizer: TfidfVectorizer | None = None,
        kind: str = "centroid",
    ) -> TopicModel:
        """A brand's own topic list: {"slow delivery": ["parcel still not here", ...], ...}.

        `kind="nearest"`: the topic of the most similar example (what Settings uses: one odd example
        does not drag a whole centroid); `shared_vectorizer`: the engine's word vectorizer, so the
        examples live in the same space as every analysed text and its block is reused.
        """
        texts: list[str] = []
        labels: list[str] = []
        for topic, sentences in examples.items():
            for s in sentences:
                texts.append(s)
                labels.append(topic)
        return cls(min_confidence).fit(texts, labels, kind=kind, shared_vectorizer=shared_vectorizer)

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        kind: str = "auto",
        sample_weight: Sequence[float] | None = None,
        shared_vectorizer: TfidfVectorizer | None = None,
        chars: tuple[int, int] | None = None,
        char_scale: float = 1.0,
        class_weight_power: float = 1.0,
        c: float = 4.0,
    ) -> TopicModel:
        """Fit centroids (few examples) or a logistic regression (many, kind='auto' decides).

        `shared_vectorizer`: an already fitted vectorizer whose matrix the caller
        computes anyway (the engine's word n-grams); the topic model then reuses
        that matrix at prediction time instead of vectorising the text again.
        `chars`: add character n-grams of these lengths (inside word boundaries,
        own vocabulary) to the logistic regression. `class_weight_power`: 1 =
        classes balanced, 0 = none, between = partial (weights (n/k n_c)^p), which
        trades macro-F1 against accuracy.
        """
        if not texts:
            raise ValueError("a topic model needs at least one example")
        self.topics = sorted(set(labels))
        per_topic = min(sum(1 for y in labels if y == t) for t in self.topics)
        self.kind = ("lr" if per_topic >= 30 else "centroid") if kind == "auto" else kind
        if shared_vectorizer is not None:
            self.vectorizer = shared_vectorizer
            self.shared = True
            x = self.vectorizer.transform([normalise(t) for t in texts])
        else:
            if self.kind == "centroid":
                self.vectorizer.set_params(min_df=1)
            else:
                self.vectorizer.set_params(min_df=2, max_features=20000)
            x = self.vectorizer.fit_transform([normalise(t) for t in texts])
            self.vectorizer.stop_words_ = None  # type: ignore[assignment]
        self._names = self.vectorizer.get_feature_names_out()
        self.char_vectorizer = None
        if chars is not None and self.kind == "lr":
            self.char_vectorizer = TfidfVectorizer(
                analyzer="char_wb", ngram_range=chars, min_df=3, max_features=60000, sublinear_tf=True, dtype=np.float32
            )
            self.char_scale = char_scale
            xc = self.char_vectorizer.fit_transform([normalise(t) for t in texts])
            self.char_vectorizer.stop_words_ = None  # type: ignore[assignment]
            x = hstack([x, xc * np.float32(char_scale)], format="csr")  # `_names` stay the word columns
        y = np.array(labels)
        if self.kind == "nearest":
            order = np.argsort(np.searchsorted(self.topics, y), kind="stable")
            self.examples_x = csr_matrix(normalize(x[order]), dtype=np.float32)
            self.example_starts = np.searchsorted(y[order], self.topics)
        if self.kind in ("centroid", "nearest"):
            cents = np.vstack([np.asarray(x[y == t].mean(axis=0)).ravel() for t in self.topics])
            self.centroids = normalize(cents).astype(np.float32)
            self.clf = None
        else:
            counts = {t: sum(1 for v in labels if v == t) for t in self.topics}
            weight = {t: (len(labels) / (len(self.topics) * n)) ** class_weight_power for t, n in counts.items()}
            self.clf = LogisticRegression(C=c, max_iter=3000, class_weight=weight)
            self.clf.fit(x, y, sample_weight=None if sample_weight is None else np.asarray(sample_weight))
            self.clf.coef_ = self.clf.coef_.astype(np.float32)
            self.topics = [str(c) for c in self.clf.classes_]
            self.centroids = None
        return self

    def _scores(self, x: object, chars: csr_matrix | None = None) -> np.ndarray:
        """Class probabilities; `chars` = the character block, scored apart from the word block `x`."""
        if self.clf is not None:
            if chars is None:
                return np.asarray(self.clf.predict_proba(x))
            return linear_proba(self.clf, csr_matrix(x), chars * np.float32(self.char_scale))
        assert self.centroids is not None
        if self.kind == "nearest":  # each topic's best example: the per-topic maximum of the similarities
            assert self.examples_x is not None
            dense = np.asarray((csr_matrix(x) @ self.examples_x.T).todense())
            sims = np.maximum.reduceat(dense, self.example_starts, axis=1)
            self.__dict__["_best_similarity"] = sims.max(axis=1) if len(sims) else np.zeros(0)
        else:
            sims = np.asarray(x @ self.centroids.T)  # type: ignore[operator]
        # softmax over cosine similarities: a confidence comparable across brands
        e = np.exp((sims - sims.max(axis=1, keepdims=True)) * 10.0)
        return np.asarray(e / e.sum(axis=1, keepdims=True))

    def set_cues(self, cues: Mapping[str, str], boost: float) -> None:
        """Regexes (on the lower-cased text) of words that name a topic outright; a text with them gets
        `boost` added to that topic's log-probability (see `general_topics.TOPIC_CUES`)."""
        self.cues = {t: p for t, p in cues.items() if t in self.topics}
        self.cue_boost = boost
        self.__dict__.pop("_cue_re", None)

    def _with_cues(self, probs: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        cues: Mapping[str, str] = self.__dict__.get("cues") or {}
        if not cues:
            return probs
        patterns = self.__dict__.get("_cue_re")
        if patterns is None:  # one regex pass per text for all the cues (`scan.PatternSet`)
            patterns = self.__dict__["_cue_re"] = PatternSet(dict(cues))
        rows: dict[str, list[int]] = {}
        for i, text in enumerate(texts):
            for topic in patterns.found(text.lower()):
                rows.setdefault(topic, []).append(i)
        for topic, hit in rows.items():
            probs = boost_column(probs, self.topics.index(topic), hit, self.cue_boost)
        return probs

    def inputs(
        self, normalised: Sequence[str], word_x: csr_matrix | None = None
    ) -> tuple[csr_matrix, csr_matrix | None]:
        """(word block, character block or None) for already normalised texts (`word_x`: if at hand)."""
        if word_x is None:
            word_x = fast_vectorizer(self.vectorizer).transform(normalised)
        chars = self.__dict__.get("char_vectorizer")  # absent in models pickled before character n-grams
        if chars is None:
            return csr_matrix(word_x), None
        return csr_matrix(word_x), fast_vectorizer(chars).transform(normalised)

    def predict(
        self,
        texts: Sequence[str],
        explain: int = 3,
        x: csr_matrix | None = None,
        chars: csr_matrix | None = None,
    ) -> list[tuple[str, float, list[str]]]:
        """(topic, confidence, top words) for each text.

        `x`, `chars`: their word and character blocks (`inputs`), if at hand; without them the text is
        vectorised here.
        """
        if not texts:
            return []
        if x is None:
            x, chars = self.inputs([normalise(t) for t in texts])
        x = x.tocsr()
        if chars is None and self.__dict__.get("char_vectorizer") is not None:
            chars = self.inputs([normalise(t) for t in texts], x)[1]
        probs = self._with_cues(self._scores(x, chars), texts)
        ks = probs.argmax(axis=1)
        weights = self.clf.coef_ if self.clf is not None else self.centroids
        assert weights is not None
        # reasons come from the word block `x` only: character n-grams mean nothing to an agent (models
        # pickled before this listed blank names for the character columns after the words)
        names = np.asarray(self._names[: x.shape[1]], dtype=object)
        allowed = self.__dict__.get("_allowed")
        if allowed is None or len(allowed) != len(names):
            allowed = np.array(
                [any(ch.isalnum() for ch in n) and n not in ("@user", "httpurl") for n in names], dtype=bool
            )
            self.__dict__["_allowed"] = allowed
        why = top_contributions(x, np.asarray(weights)[:, : len(names)], ks, names, allowed, explain)
        empty = np.diff(x.indptr) == 0
        if chars is not None:  # a misspelt text may have no known word but known character n-grams
            empty &= np.diff(chars.tocsr().indptr) == 0
        nearest = self.__dict__.pop("_best_similarity", None) if self.kind == "nearest" else None
        out: list[tuple[str, float, list[str]]] = []
        for i in range(len(texts)):
            k = int(ks[i])
            conf = float(probs[i, k])
            if empty[i] or conf < self.min_confidence or (nearest is not None and nearest[i] < MIN_SIMILARITY):
                out.append((UNKNOWN_TOPIC, conf, why[i]))
            else:
                out.append((str(self.topics[k]), conf, why[i]))
        return out
