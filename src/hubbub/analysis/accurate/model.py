"""`AccurateAnalyzer`: the accurate tier behind the same `analyze_batch` as the fast one.

It runs the fast tier first and then replaces the labels the encoder's heads decide (sentiment and its score,
intent, topic) and everything that depends on them (urgency and its reasons). The intent head is used only if
it beat the fast tier's intent in cross-validation (`heads.meta["intent_source"]`); otherwise intent stays the
fast tier's; likewise the airline topic, and the sentiment of airline brands' mentions (both decided on
airline dev, where the fast tier was trained and scores higher). The journey stage, language and
the fast tier's explanations of labels it agrees on are kept; a label the accurate tier changed carries no
"why" words, because a sentence encoder has no honest per-word attribution to show.

Topic lists, as in the fast tier (`HubbubModel.topic_model_for`): a brand's own topics stay with the fast
tier's nearest examples; an airline brand gets the airline head; every other mention the general care taxonomy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from hubbub.analysis.accurate.encoder import Encoder
from hubbub.analysis.accurate.heads import AccurateHeads
from hubbub.analysis.types import Analysis, AnalysisContext
from hubbub.analysis.urgency import score_urgency

AIRLINE = "airline"
NO_CAUSE = ("suggestion", "praise", "spam")  # as the fast tier: these intents have no complaint cause
REFINED_LABELS = ("sentiment", "intent", "topic")


class AccurateAnalyzer:
    """Fast tier + encoder heads. `version` is the heads' version: what refined rows record."""

    tier = "accurate"

    def __init__(self, fast: Any, encoder: Encoder, heads: AccurateHeads) -> None:
        self.fast = fast
        self.encoder = encoder
        self.heads = heads
        self.version = heads.version
        # "fast": the intent head lost to the fast tier's intent in cross-validation (`training.FAST_INTENT_CV`)
        self.intent_source = str(heads.meta.get("intent_source", "accurate"))
        self.airline_topic_source = str(heads.meta.get("topic_airline_source", "accurate"))  # the same rule, on dev
        # and for the sentiment of airline brands' mentions, the fast tier's home ground (airline dev macro-F1)
        self.airline_sentiment_source = str(heads.meta.get("sentiment_airline_source", "accurate"))

    def analyze_batch(
        self, texts: Sequence[str], contexts: Sequence[AnalysisContext | None] | None = None
    ) -> list[Analysis]:
        return self.refine(texts, contexts, self.fast.analyze_batch(texts, contexts))

    def refine(
        self,
        texts: Sequence[str],
        contexts: Sequence[AnalysisContext | None] | None,
        base: Sequence[Analysis],
        x: np.ndarray | None = None,
    ) -> list[Analysis]:
        """The fast tier's `base` analyses of `texts` with the accurate tier's labels on top (`x`: the texts'
        embeddings when the caller has them, as the benchmark does)."""
        ctxs: list[AnalysisContext | None] = list(contexts) if contexts is not None else [None] * len(texts)
        keep = [i for i, t in enumerate(texts) if t.strip()]  # blank texts keep the fast tier's empty labels
        out = list(base)
        if not keep:
            return out
        x = self.encoder.embed([texts[i] for i in keep]) if x is None else x[keep]
        h = self.heads.heads
        sp, ip = h["sentiment"].proba(x), h["intent"].proba(x)
        s_cls, i_cls = h["sentiment"].classes, h["intent"].classes
        scores = sp[:, s_cls.index("positive")] - sp[:, s_cls.index("negative")]
        topic_p = {name: h[name].proba(x) for name in ("topic_airline", "topic_general")}
        for row, i in enumerate(keep):
            sentiment, intent = s_cls[int(sp[row].argmax())], i_cls[int(ip[row].argmax())]
            confidence = {**base[i].confidence, "sentiment": float(sp[row].max()), "intent": float(ip[row].max())}
            score = float(scores[row])
            if self.intent_source == "fast":
                intent, confidence["intent"] = base[i].intent, base[i].confidence.get("intent", 0.0)
            if self.airline_sentiment_source == "fast" and getattr(ctxs[i], "industry", "") == AIRLINE:
                sentiment, score = base[i].sentiment, base[i].sentiment_score
                confidence["sentiment"] = base[i].confidence.get("sentiment", 0.0)
            topic = self._topic(base[i], ctxs[i], sentiment, intent, topic_p, row, confidence)
            urgency, reasons = score_urgency(texts[i], score, intent, ctxs[i], topic=topic, sentiment=sentiment)
            new = {"sentiment": sentiment, "intent": intent, "topic": topic}
            explanations = {
                k: v for k, v in base[i].explanations.items() if k not in new or new[k] == getattr(base[i], k)
            }
            if not topic:
                confidence.pop("topic", None)
            out[i] = replace(
                base[i],
                sentiment=sentiment,
                sentiment_score=score,
                intent=intent,
                topic=topic,
                urgency=urgency,
                urgency_reasons=reasons,
                confidence=confidence,
                explanations=explanations,
                model_version=self.version,
            )
        return out

    def _topic(
        self,
        fast: Analysis,
        ctx: AnalysisContext | None,
        sentiment: str,
        intent: str,
        topic_p: dict[str, np.ndarray],
        row: int,
        confidence: dict[str, float],
    ) -> str:
        """The cause of a complaint (only complaints and negative texts have one), from the brand's list."""
        if not (intent == "complaint" or (sentiment == "negative" and intent not in NO_CAUSE)):
            return ""
        if ctx is not None and getattr(ctx, "topics", None) is not None:
            return fast.topic  # the brand's own examples, matched by the fast tier
        name = "topic_airline" if ctx is not None and getattr(ctx, "industry", "") == AIRLINE else "topic_general"
        if name == "topic_airline" and self.airline_topic_source == "fast" and fast.topic:
            return fast.topic
        p = topic_p[name][row]
        confidence["topic"] = float(p.max())
        return self.heads.heads[name].classes[int(p.argmax())]
