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

from hubbub.analysis.features import Featurizer, top_contributions
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
    if name.startswith(("vader:", "lexicon:")):
        return "lexicon " + name.split(":", 1)[1]
    if name.startswith("cue:"):
        return name[4:].replace("_", " ")
    return None


@dataclass
class SentimentBlend:
    """Log-linear blend of the text model with a lexicon-only model.

    `alpha` weighs the text model and `prior_power` removes that much of the
    airline training prior (63 % negative); both are chosen on airline dev.
    The domain gate (`domain_ref` > 0) then moves a text that the care
    vocabulary covers less than most dev texts do (domain score d) towards the
    lexicon model with no class prior: with g = gate(d) in [0, 1], the text
    weight is alpha·g and the prior removal power·g + (1 - g). The gate is the
    most lexicon-leaning one that costs airline dev at most half a point (see
    `train.choose_gate`); TweetEval, the out-of-domain test, is never used.
    """

    alpha: float = 1.0
    prior_power: float = 0.0
    log_prior: np.ndarray = field(default_factory=lambda: np.zeros(3))
    domain_ref: float = 0.0
    domain_floor: float = 0.0

    def gate(self, domain: np.ndarray) -> np.ndarray:
        """1 for text at least as domain-like as `domain_ref`, falling linearly to 0 at `domain_floor`."""
        ref = self.domain_ref
        floor = min(getattr(self, "domain_floor", 0.0), ref - 1e-6)
        return np.clip((np.asarray(domain, dtype=np.float64) - floor) / (ref - floor), 0.0, 1.0)


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
    def sentiment_proba(self, x: csr_matrix, vader: np.ndarray, domain: np.ndarray | None = None) -> np.ndarray:
        """Blended class probabilities in the order of `self.sentiment.classes_`."""
        p = np.asarray(self.sentiment.predict_proba(x))
        b = self.blend
        gated = domain is not None and getattr(b, "domain_ref", 0.0) > 0
        if b.alpha >= 1.0 and b.prior_power == 0.0 and not gated:
            return p
        q = np.asarray(self.sentiment_vader.predict_proba(vader))
        alpha = np.full((len(p), 1), b.alpha)
        power = np.full((len(p), 1), b.prior_power)
        if gated:
            g = b.gate(np.asarray(domain))[:, None]
            alpha = alpha * g
            power = power * g + (1.0 - g)
        # only the text model carries the airline prior (the lexicon model is class-balanced)
        logit = alpha * (np.log(p + 1e-9) - power * b.log_prior) + (1 - alpha) * np.log(q + 1e-9)
        e = np.exp(logit - logit.max(axis=1, keepdims=True))
        return np.asarray(e / e.sum(axis=1, keepdims=True))

    def _head_inputs(self, x: csr_matrix, sent_p: np.ndarray) -> csr_matrix:
        from scipy.sparse import hstack

        return hstack([x, csr_matrix(sent_p.astype(np.float32) * 2.0)], format="csr")

    def _explain(
        self, clf: LogisticRegression, x: csr_matrix, classes: np.ndarray, lexicon: bool = True
    ) -> list[list[str]]:
        """Top contributing readable features of every row towards its predicted class."""
        cache: dict[bool, np.ndarray] = self.__dict__.setdefault("_allowed", {})
        if lexicon not in cache:
            names = self._names
            cache[lexicon] = np.array([bool(n) and (lexicon or not n.startswith("lexicon")) for n in names])
        return top_contributions(x, clf.coef_, classes, self._names, cache[lexicon], EXPLAIN_TOP)

    def analyze_batch(
        self, texts: Sequence[str], contexts: Sequence[AnalysisContext | None] | None = None
    ) -> list[Analysis]:
        """Labels for every text, in order; empty texts get neutral/other labels."""
        texts = [t or "" for t in texts]
        if not texts:
            return []
        x, vader, domain = self.featurizer.transform_all(texts)
        sent_classes = list(self.sentiment.classes_)
        sp = self.sentiment_proba(x, vader, domain)
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
        topic_x = None
        if getattr(self.topic, "shared", False) and need_topic:
            topic_x = self.featurizer.word_block(x[need_topic])  # same vectorizer: reuse, don't re-tokenise
        topic_out = self.topic.predict([texts[i] for i in need_topic], x=topic_x)
        topics = dict(zip(need_topic, topic_out, strict=True))
        why_sentiment = self._explain(self.sentiment, x, s_idx)
        why_intent = self._explain(self.intent, xi, i_idx, lexicon=False)
        why_journey = self._explain(self.journey, xi, j_idx, lexicon=False)
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
                "sentiment": why_sentiment[i],
                "intent": why_intent[i],
                "journey_stage": why_journey[i],
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
