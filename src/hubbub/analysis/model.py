"""Hubbub's analysis model: one featurisation, four linear heads, urgency on top.

The model is a plain object pickled with joblib into the package
(`artifacts/model.joblib.gz`), so it loads without the shared datasets and
without Django. It is built by `hubbub analysis train` (see `train.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression

from hubbub.analysis.features import Featurizer
from hubbub.analysis.topics import TopicModel
from hubbub.analysis.types import Analysis, AnalysisContext
from hubbub.analysis.urgency import score_urgency

ARTIFACT_DIR = Path(__file__).resolve().parent / "artifacts"
DEFAULT_MODEL_PATH = ARTIFACT_DIR / "model.joblib.gz"
EXPLAIN_TOP = 3


def _readable(name: str) -> str | None:
    """Feature name as shown in the "why this label" view; char n-grams are not shown."""
    if name.startswith("w:"):
        word = name[2:]
        if word in ("@user", "httpurl") or not any(ch.isalnum() for ch in word):
            return None if word not in ("!", "?", "!!", "??") else word
        return word
    if name.startswith("vader:"):
        return "lexicon " + name[6:]
    if name.startswith("cue:"):
        return name[4:].replace("_", " ")
    return None


@dataclass
class SentimentBlend:
    """Log-linear blend of the text model with a VADER-only model, chosen on dev.

    `alpha` weighs the text model, `prior_power` removes that much of the
    airline training prior (63 % negative), which otherwise pushes unfamiliar
    text towards "negative".
    """

    alpha: float = 1.0
    prior_power: float = 0.0
    log_prior: np.ndarray = field(default_factory=lambda: np.zeros(3))


class HubbubModel:
    """Sentiment, intent, topic and journey stage for batches of texts."""

    def __init__(
        self,
        version: str,
        featurizer: Featurizer,
        sentiment: LogisticRegression,
        sentiment_vader: LogisticRegression,
        blend: SentimentBlend,
        intent: LogisticRegression,
        journey: LogisticRegression,
        topic: TopicModel,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.version = version
        self.featurizer = featurizer
        self.sentiment = sentiment
        self.sentiment_vader = sentiment_vader
        self.blend = blend
        self.intent = intent
        self.journey = journey
        self.topic = topic
        self.meta = meta or {}
        self._names = np.array([_readable(n) or "" for n in featurizer.feature_names], dtype=object)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    # -- persistence -------------------------------------------------------
    def save(self, path: str | Path = DEFAULT_MODEL_PATH) -> Path:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, p, compress=("gzip", 6))
        return p

    @staticmethod
    def load(path: str | Path = DEFAULT_MODEL_PATH) -> HubbubModel:
        obj = joblib.load(Path(path))
        if not isinstance(obj, HubbubModel):
            raise TypeError(f"{path} does not hold a HubbubModel")
        return obj

    # -- prediction --------------------------------------------------------
    def sentiment_proba(self, x: csr_matrix, vader: np.ndarray) -> np.ndarray:
        """Blended class probabilities in the order of `self.sentiment.classes_`."""
        p = np.asarray(self.sentiment.predict_proba(x))
        b = self.blend
        if b.alpha >= 1.0 and b.prior_power == 0.0:
            return p
        q = np.asarray(self.sentiment_vader.predict_proba(vader))
        logit = b.alpha * np.log(p + 1e-9) + (1 - b.alpha) * np.log(q + 1e-9) - b.prior_power * b.log_prior
        e = np.exp(logit - logit.max(axis=1, keepdims=True))
        return np.asarray(e / e.sum(axis=1, keepdims=True))

    def _head_inputs(self, x: csr_matrix, sent_p: np.ndarray) -> csr_matrix:
        from scipy.sparse import hstack

        return hstack([x, csr_matrix(sent_p.astype(np.float32) * 2.0)], format="csr")

    def _explain(self, clf: LogisticRegression, x: csr_matrix, i: int, k: int, lexicon: bool = True) -> list[str]:
        row_start, row_end = x.indptr[i], x.indptr[i + 1]
        idx = x.indices[row_start:row_end]
        keep = idx < len(self._names)
        idx = idx[keep]
        vals = x.data[row_start:row_end][keep]
        coef = clf.coef_[k] if clf.coef_.shape[0] > 1 else clf.coef_[0] * (1 if k == 1 else -1)
        contrib = vals * coef[idx]
        words: list[str] = []
        for j in np.argsort(-contrib):
            if contrib[j] <= 0 or len(words) >= EXPLAIN_TOP:
                break
            name = self._names[idx[j]]
            if name and name not in words and (lexicon or not name.startswith("lexicon")):
                words.append(name)
        return words

    def analyze_batch(
        self, texts: Sequence[str], contexts: Sequence[AnalysisContext | None] | None = None
    ) -> list[Analysis]:
        """Labels for every text, in order; empty texts get neutral/other labels."""
        texts = [t or "" for t in texts]
        if not texts:
            return []
        x, vader = self.featurizer.transform(texts)
        sent_classes = list(self.sentiment.classes_)
        sp = self.sentiment_proba(x, vader)
        xi = self._head_inputs(x, sp)
        ip = np.asarray(self.intent.predict_proba(xi))
        jp = np.asarray(self.journey.predict_proba(xi))
        s_idx = sp.argmax(axis=1)
        i_idx = ip.argmax(axis=1)
        j_idx = jp.argmax(axis=1)
        neg = sent_classes.index("negative")
        pos = sent_classes.index("positive")
        intents = [str(c) for c in self.intent.classes_]
        stages = [str(c) for c in self.journey.classes_]
        # topics only for complaints / negative texts: the cause of a complaint
        need_topic = [i for i in range(len(texts)) if intents[i_idx[i]] == "complaint" or s_idx[i] == neg]
        topics = dict(zip(need_topic, self.topic.predict([texts[i] for i in need_topic]), strict=True))
        out: list[Analysis] = []
        for i, text in enumerate(texts):
            if not text.strip():
                out.append(Analysis("neutral", 0.0, "other", "", "support", 0, [], {}, {}, self.version))
                continue
            sentiment = str(sent_classes[s_idx[i]])
            score = float(sp[i, pos] - sp[i, neg])
            intent = intents[i_idx[i]]
            stage = stages[j_idx[i]]
            topic, topic_conf, topic_words = topics.get(i, ("", 0.0, []))
            ctx = contexts[i] if contexts is not None and i < len(contexts) else None
            urgency, reasons = score_urgency(text, score, intent, ctx, topic=topic)
            confidence = {
                "sentiment": float(sp[i, s_idx[i]]),
                "intent": float(ip[i, i_idx[i]]),
                "journey_stage": float(jp[i, j_idx[i]]),
            }
            explanations = {
                "sentiment": self._explain(self.sentiment, x, i, int(s_idx[i])),
                "intent": self._explain(self.intent, xi, i, int(i_idx[i]), lexicon=False),
                "journey_stage": self._explain(self.journey, xi, i, int(j_idx[i]), lexicon=False),
            }
            if topic:
                confidence["topic"] = float(topic_conf)
                explanations["topic"] = topic_words
            out.append(
                Analysis(
                    sentiment=sentiment,
                    sentiment_score=max(-1.0, min(1.0, score)),
                    intent=intent,
                    topic=str(topic),
                    journey_stage=stage,
                    urgency=urgency,
                    urgency_reasons=reasons,
                    confidence=confidence,
                    explanations=explanations,
                    model_version=self.version,
                )
            )
        return out


def load_default_model() -> HubbubModel:
    """The model shipped in the package; FileNotFoundError if it was never trained."""
    if not DEFAULT_MODEL_PATH.exists():
        raise FileNotFoundError(DEFAULT_MODEL_PATH)
    return HubbubModel.load(DEFAULT_MODEL_PATH)
