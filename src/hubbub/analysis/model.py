"""Hubbub's analysis model: one featurisation, four linear heads, urgency on top.

The model is a plain object pickled with joblib into the package
(`artifacts/model.joblib.gz`), so it loads without the shared datasets and
without Django. It is built by `hubbub analysis train` (see `train.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression
from threadpoolctl import ThreadpoolController

from hubbub.analysis.features import CUE_PATTERNS, MAX_CHARS, Featurizer, cue_row, normalise, top_contributions
from hubbub.analysis.linear import linear_proba
from hubbub.analysis.scan import PatternSet
from hubbub.analysis.topics import TopicModel
from hubbub.analysis.types import Analysis, AnalysisContext
from hubbub.analysis.urgency import URGENCY_PATTERNS, score_urgency

ARTIFACT_DIR = Path(__file__).resolve().parent / "artifacts"
DEFAULT_MODEL_PATH = ARTIFACT_DIR / "model.joblib.gz"
EXPLAIN_TOP = 3
# Every word list the engine looks for in the raw text (cues, risk and repeat words):
# one regex pass per text instead of a dozen searches.
_SIGNALS = PatternSet(CUE_PATTERNS | URGENCY_PATTERNS)
_N_CUES = len(CUE_PATTERNS)


def _scan(texts: Sequence[str]) -> tuple[np.ndarray, list[list[str]]]:
    """Cue flags (as `features.cue_flags`) and the urgency words found (for `score_urgency`) per text."""
    urgency_names = _SIGNALS.names[_N_CUES:]
    cues: list[tuple[bool, ...]] = []
    found: list[list[str]] = []
    for text in texts:
        low = text[:MAX_CHARS].lower()
        flags = _SIGNALS.flags(low)
        cues.append(cue_row(low, flags[:_N_CUES]))
        if len(text) > MAX_CHARS:  # cues read the first MAX_CHARS characters, urgency the whole text
            flags = _SIGNALS.flags(text.lower())
        hits = flags[_N_CUES:]
        found.append([n for n, hit in zip(urgency_names, hits, strict=True) if hit] if True in hits else [])
    return np.array(cues, dtype=np.float64).reshape(len(texts), -1), found


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


@lru_cache(maxsize=1)
def _blas() -> ThreadpoolController:
    """Created once: a controller's `limit` then costs ~8 µs instead of ~200 µs for `threadpool_limits`."""
    return ThreadpoolController()


def lexicon_inputs(x: csr_matrix | np.ndarray, lexicon: np.ndarray, clf: object) -> np.ndarray:
    """What the domain-general sentiment model reads: the lexicon scores, plus the static-embedding block
    (the last columns of `x`: the full feature matrix, or the dense block alone) when it was fitted with
    them — neither depends on airline vocabulary."""
    n_lex: int = lexicon.shape[1]
    n_in: int = getattr(clf, "n_features_in_", n_lex)
    extra = n_in - n_lex
    if extra <= 0:
        return lexicon
    tail = x[:, x.shape[1] - extra :]
    return np.hstack([lexicon, tail if isinstance(tail, np.ndarray) else tail.toarray()])


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
    general_k: float = 0.0

    def gate(self, domain: np.ndarray) -> np.ndarray:
        """1 for text at least as domain-like as `domain_ref`, falling linearly to 0 at `domain_floor`."""
        ref = self.domain_ref
        floor = min(getattr(self, "domain_floor", 0.0), ref - 1e-6)
        return np.clip((np.asarray(domain, dtype=np.float64) - floor) / (ref - floor), 0.0, 1.0)

    def general_log_proba(self, lexicon: np.ndarray) -> np.ndarray:
        """Log-probabilities (negative, neutral, positive) of VADER's published rule on the compound score.

        The lexicon model fitted on airline tweets learnt the airline habit "no sentiment words → negative";
        for text unlike airline tweets (gate → 0) the domain-general rule (compound ±0.05, as VADER's authors
        fixed it) is the better fallback. `general_k` is its sharpness; 0 switches the rule off (older models).
        """
        c = np.asarray(lexicon, dtype=np.float64)[:, 3]
        k = getattr(self, "general_k", 0.0)
        logit = np.column_stack([-k * (c + 0.05), np.zeros_like(c), k * (c - 0.05)])
        logit -= logit.max(axis=1, keepdims=True)
        return np.asarray(logit - np.log(np.exp(logit).sum(axis=1, keepdims=True)))


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
        return self._blend(p, lambda: lexicon_inputs(x, vader, self.sentiment_vader), vader, domain)

    def _sentiment_proba_parts(
        self, xs: csr_matrix, emb: np.ndarray | None, vader: np.ndarray, domain: np.ndarray | None
    ) -> np.ndarray:
        """`sentiment_proba` on `Featurizer.transform_parts` output (the same numbers)."""
        p = linear_proba(self.sentiment, xs, emb)
        tail = xs if emb is None else emb  # a model without word vectors reads the lexicon scores only
        return self._blend(p, lambda: lexicon_inputs(tail, vader, self.sentiment_vader), vader, domain)

    def _blend(
        self, p: np.ndarray, general_inputs: Callable[[], np.ndarray], vader: np.ndarray, domain: np.ndarray | None
    ) -> np.ndarray:
        b = self.blend
        gated = domain is not None and getattr(b, "domain_ref", 0.0) > 0
        if b.alpha >= 1.0 and b.prior_power == 0.0 and not gated:
            return p
        q = np.asarray(self.sentiment_vader.predict_proba(general_inputs()))
        alpha = np.full((len(p), 1), b.alpha)
        power = np.full((len(p), 1), b.prior_power)
        log_q = np.log(q + 1e-9)
        if gated:
            g = b.gate(np.asarray(domain))[:, None]
            alpha = alpha * g
            power = power * g + (1.0 - g)
            if getattr(b, "general_k", 0.0) > 0:  # off-domain text leans on the domain-general rule too
                log_q = g * log_q + (1.0 - g) * b.general_log_proba(vader)
        # only the text model carries the airline prior (the lexicon model is class-balanced)
        logit = alpha * (np.log(p + 1e-9) - power * b.log_prior) + (1 - alpha) * log_q
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
        ctxs = [contexts[i] if contexts is not None and i < len(contexts) else None for i in range(len(texts))]
        keep = [i for i, t in enumerate(texts) if t.strip()]
        if len(keep) == len(texts):
            return self._analyze(texts, ctxs)
        # blank texts get fixed labels: leave them out of the (row-independent) computation
        done = iter(self._analyze([texts[i] for i in keep], [ctxs[i] for i in keep]) if keep else [])
        kept = set(keep)
        return [
            next(done) if i in kept else Analysis("neutral", 0.0, "other", "", "support", 0, [], {}, {}, self.version)
            for i in range(len(texts))
        ]

    def _analyze(self, texts: list[str], contexts: list[AnalysisContext | None]) -> list[Analysis]:
        """`analyze_batch` for non-blank texts; every step is per row, so batching changes nothing."""
        # BLAS's worker threads only spin on products this small (500 × 400 by 3): they doubled the
        # CPU time of a batch and took the second core from the ingest worker's other threads.
        with _blas().limit(limits=1, user_api="blas"):
            return self._analyze_one_thread(texts, contexts)

    def _analyze_one_thread(self, texts: list[str], contexts: list[AnalysisContext | None]) -> list[Analysis]:
        norm = [normalise(t) for t in texts]
        cues, found = _scan(texts)
        # x: the sparse blocks; the dense embedding block (if the model has one) and the heads' sentiment
        # inputs are multiplied separately (`linear_proba`): same probabilities, a fraction of the work.
        x, emb, vader, domain = self.featurizer.transform_parts(texts, cues=cues, norm=norm)
        sent_classes = [str(c) for c in self.sentiment.classes_]
        sp = self._sentiment_proba_parts(x, emb, vader, domain)
        head_dense = sp.astype(np.float32) * 2.0  # as `_head_inputs` appends them
        if emb is not None:
            head_dense = np.hstack([emb, head_dense])
        ip = linear_proba(self.intent, x, head_dense)
        jp = linear_proba(self.journey, x, head_dense)
        s_idx = sp.argmax(axis=1)
        i_idx = ip.argmax(axis=1)
        j_idx = jp.argmax(axis=1)
        neg = sent_classes.index("negative")
        pos = sent_classes.index("positive")
        intents = [str(c) for c in self.intent.classes_]
        stages = [str(c) for c in self.journey.classes_]
        # plain lists: indexing numpy arrays element by element cost more than the rest of the loop below
        rows = np.arange(len(texts))
        s_list, i_list, j_list = s_idx.tolist(), i_idx.tolist(), j_idx.tolist()
        scores = (sp[:, pos] - sp[:, neg]).tolist()
        s_conf, i_conf, j_conf = sp[rows, s_idx].tolist(), ip[rows, i_idx].tolist(), jp[rows, j_idx].tolist()
        # topics only for complaints / negative texts: the cause of a complaint
        need_topic = [
            i for i, (a, b) in enumerate(zip(i_list, s_list, strict=True)) if intents[a] == "complaint" or b == neg
        ]
        topic_x = topic_chars = None
        if need_topic:  # the topic vectorizers read the same normalised text: don't normalise again
            shared = getattr(self.topic, "shared", False)  # same word vectorizer: reuse, don't re-tokenise
            word_x = self.featurizer.word_block(x[need_topic]) if shared else None
            topic_x, topic_chars = self.topic.inputs([norm[i] for i in need_topic], word_x)
        topic_out = self.topic.predict([texts[i] for i in need_topic], x=topic_x, chars=topic_chars)
        topics = dict(zip(need_topic, topic_out, strict=True))
        why_sentiment = self._explain(self.sentiment, x, s_idx)
        # the dense columns are never shown as reasons, so explanations read the sparse blocks only
        why_intent = self._explain(self.intent, x, i_idx, lexicon=False)
        why_journey = self._explain(self.journey, x, j_idx, lexicon=False)
        out: list[Analysis] = []
        for i, text in enumerate(texts):
            score = scores[i]
            intent = intents[i_list[i]]
            topic, topic_conf, topic_words = topics.get(i, ("", 0.0, []))
            sentiment = sent_classes[s_list[i]]
            urgency, reasons = score_urgency(
                text, score, intent, contexts[i], topic=topic, found=found[i], sentiment=sentiment
            )
            confidence = {"sentiment": s_conf[i], "intent": i_conf[i], "journey_stage": j_conf[i]}
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
                    journey_stage=stages[j_list[i]],
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
