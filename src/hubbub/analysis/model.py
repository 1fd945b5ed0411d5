"""Hubbub's analysis model: one featurisation, four linear heads, urgency on top.

The model is a plain object pickled with joblib into the package
(`artifacts/model.joblib.gz`), so it loads without the shared datasets and
without Django. It is built by `hubbub analysis train` (see `train.py`).
"""

from __future__ import annotations

import re
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
from hubbub.analysis.language import detect_languages, is_english
from hubbub.analysis.linear import linear_proba
from hubbub.analysis.reasons import readable, resolve
from hubbub.analysis.scan import PatternSet
from hubbub.analysis.stages import adjust_stage, adjust_suggestion, wording
from hubbub.analysis.topics import UNKNOWN_TOPIC, TopicModel
from hubbub.analysis.types import Analysis, AnalysisContext
from hubbub.analysis.urgency import URGENCY_PATTERNS, score_urgency

ARTIFACT_DIR = Path(__file__).resolve().parent / "artifacts"
DEFAULT_MODEL_PATH = ARTIFACT_DIR / "model.joblib.gz"
EXPLAIN_TOP = 3
_NO_CAUSE = ("suggestion", "praise", "spam")  # a negative-sounding suggestion has no complaint cause
AIRLINE = "airline"  # the industry whose brands get the airline topic preset (`topics.DEFAULT_TOPICS`)
EMOJI_RULE_K = 10.0  # sharpness of VADER's rule for emoji-only text (the middle of `train.GENERAL_KS`)
_WORDLESS = re.compile(r"[^\W\d_]{2,}")  # a word of two letters or more, in any script
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


def _reason_names(featurizer: Featurizer) -> np.ndarray:
    """Each feature column as a reason candidate (see `reasons.readable`); "" = never shown."""
    return np.array([readable(n) or "" for n in featurizer.feature_names], dtype=object)


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

    def general_log_proba(self, lexicon: np.ndarray, k: float | None = None) -> np.ndarray:
        """Log-probabilities (negative, neutral, positive) of VADER's published rule on the compound score.

        The lexicon model fitted on airline tweets learnt the airline habit "no sentiment words → negative";
        for text unlike airline tweets (gate → 0) the domain-general rule (compound ±0.05, as VADER's authors
        fixed it) is the better fallback. `general_k` is its sharpness; 0 switches the rule off (older models).
        """
        c = np.asarray(lexicon, dtype=np.float64)[:, 3]
        k = getattr(self, "general_k", 0.0) if k is None else k
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
        self.topic = topic  # the airline preset (`topics.DEFAULT_TOPICS`)
        self.general_topic: TopicModel | None = None  # the general care taxonomy (`general_topics.py`)
        self.meta = meta or {}
        self._names = _reason_names(featurizer)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        # rebuilt, not trusted from the pickle: models saved before `reasons.readable` showed cue names
        self._names = _reason_names(self.featurizer)
        self.__dict__.pop("_allowed", None)

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
            cache[lexicon] = np.array([bool(n) and (lexicon or not n.startswith("lexicon:")) for n in names])
        # twice as many candidates as shown: `reasons.resolve` drops those not in the text
        return top_contributions(x, clf.coef_, classes, self._names, cache[lexicon], 2 * EXPLAIN_TOP)

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
        languages = detect_languages(norm)
        # x: the sparse blocks; the dense embedding block (if the model has one) and the heads' sentiment
        # inputs are multiplied separately (`linear_proba`): same probabilities, a fraction of the work.
        x, emb, vader, domain = self.featurizer.transform_parts(texts, cues=cues, norm=norm)
        sent_classes = [str(c) for c in self.sentiment.classes_]
        sp = _emoji_only_rule(self._sentiment_proba_parts(x, emb, vader, domain), norm, vader, self.blend)
        head_dense = sp.astype(np.float32) * 2.0  # as `_head_inputs` appends them
        if emb is not None:
            head_dense = np.hstack([emb, head_dense])
        said = wording(norm)
        ip = adjust_suggestion(linear_proba(self.intent, x, head_dense), self.intent.classes_, said)
        jp = adjust_stage(linear_proba(self.journey, x, head_dense), self.journey.classes_, said)
        s_idx, i_idx, j_idx = sp.argmax(axis=1), ip.argmax(axis=1), jp.argmax(axis=1)
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
            i
            for i, (a, b) in enumerate(zip(i_list, s_list, strict=True))
            if intents[a] == "complaint" or (b == neg and intents[a] not in _NO_CAUSE)
        ]
        topics = self._topics(texts, norm, x, need_topic, contexts)
        why = {
            "sentiment": self._explain(self.sentiment, x, s_idx),
            # the dense columns are never shown as reasons, so explanations read the sparse blocks only
            "intent": self._explain(self.intent, x, i_idx, lexicon=False),
            "journey_stage": self._explain(self.journey, x, j_idx, lexicon=False),
        }
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
            english = is_english(languages[i])
            sign = 1.0 if sentiment == "positive" else -1.0 if sentiment == "negative" else 0.0
            low = text.lower()
            explanations = {name: resolve(lists[i], low, english, EXPLAIN_TOP, sign) for name, lists in why.items()}
            if topic:
                confidence["topic"] = float(topic_conf)
                explanations["topic"] = resolve(topic_words, low, english, EXPLAIN_TOP)
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
                    language=languages[i],
                )
            )
        return out

    def topic_model_for(self, ctx: AnalysisContext | None) -> TopicModel | None:
        """The topic list a mention is labelled with: the brand's own topics when it defined some, the
        airline preset for a brand whose industry is airline, else the general care taxonomy (None: a
        model saved before the taxonomy existed, which then gives no topic rather than an airline one)."""
        if ctx is not None and isinstance(ctx.topics, TopicModel):
            return ctx.topics
        if ctx is not None and ctx.industry == AIRLINE:
            return self.topic
        return getattr(self, "general_topic", None)

    def _topics(
        self,
        texts: list[str],
        norm: list[str],
        x: csr_matrix,
        need: list[int],
        contexts: list[AnalysisContext | None],
    ) -> dict[int, tuple[str, float, list[str]]]:
        """(topic, confidence, words) of the rows in `need`, each by its brand's topic list."""
        groups: dict[int, tuple[TopicModel, list[int]]] = {}
        out: dict[int, tuple[str, float, list[str]]] = {}
        for i in need:
            if not norm[i].isascii() and _WORDLESS.search(norm[i].replace("@user", "")) is None:
                out[i] = (UNKNOWN_TOPIC, 0.0, [])  # emoji alone say how, not why
                continue
            tm = self.topic_model_for(contexts[i])
            if tm is not None:
                groups.setdefault(id(tm), (tm, []))[1].append(i)
        for tm, idx in groups.values():
            # the topic vectorizers read the same normalised text: don't normalise again, and a model on the
            # engine's own word vectorizer reuses its block instead of tokenising again
            shared = getattr(tm, "shared", False) and tm.vectorizer is self.featurizer.word
            word_x = self.featurizer.word_block(x[idx]) if shared else None
            topic_x, topic_chars = tm.inputs([norm[i] for i in idx], word_x)
            predicted = tm.predict([texts[i] for i in idx], x=topic_x, chars=topic_chars, explain=2 * EXPLAIN_TOP)
            out.update(zip(idx, predicted, strict=True))
        return out


def _emoji_only_rule(sp: np.ndarray, norm: list[str], vader: np.ndarray, blend: SentimentBlend) -> np.ndarray:
    """Texts whose only sentiment evidence is emoji ("@verizon 😡😡😡") take VADER's published rule.

    The text models read words; with none (only a mention and emoji) they fall back to their prior,
    neutral. The emoji's valence is in the lexicon scores, and VADER's own rule (compound ±0.05) reads it.
    """
    rows = [i for i, t in enumerate(norm) if not t.isascii() and _WORDLESS.search(t.replace("@user", "")) is None]
    rows = [i for i in rows if vader[i, 3] != 0.0]
    if rows:
        sp = sp.copy()
        sp[rows] = np.exp(blend.general_log_proba(vader[rows], k=EMOJI_RULE_K))
    return sp


def load_default_model() -> HubbubModel:
    """The model shipped in the package; FileNotFoundError if it was never trained."""
    if not DEFAULT_MODEL_PATH.exists():
        raise FileNotFoundError(DEFAULT_MODEL_PATH)
    return HubbubModel.load(DEFAULT_MODEL_PATH)
