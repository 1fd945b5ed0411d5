"""The VADER + keyword baseline analyzer.

It is the fallback when no trained model is packaged, and the baseline the
benchmark compares the trained model against.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from hubbub.analysis.types import Analysis, AnalysisContext
from hubbub.analysis.urgency import score_urgency

VERSION = "vader-baseline-1"

_QUESTION = re.compile(r"\?|\b(how|when|where|why|what|can i|can you|could you|is there|do you|does)\b", re.I)
_SUGGEST = re.compile(r"\b(should|would be (great|nice)|please add|suggest|wish you|why not|idea)\b", re.I)
_SPAM = re.compile(r"(https?://\S+.*){3,}|\b(follow back|free followers|click here|giveaway|promo code)\b", re.I)
_PURCHASE = re.compile(r"\b(book(ed|ing)?|bought|buy|purchas\w*|checkout|pay(ment)?|ticket|order(ed)?)\b", re.I)
_RESEARCH = re.compile(r"\b(compare|price|prices|fare|fares|deal|review|recommend|options?|which)\b", re.I)
_INSPIRE = re.compile(r"\b(dream|wanderlust|someday|bucket list|wish i|inspir\w*)\b", re.I)
_SELECT = re.compile(r"\b(worth it|should i|vs\.?|versus|deciding|choose|choosing)\b", re.I)


class BaselineAnalyzer:
    """Rules plus VADER; fast and transparent but not very accurate."""

    version = VERSION

    def __init__(self) -> None:
        self._vader = SentimentIntensityAnalyzer()

    def analyze_batch(
        self, texts: Sequence[str], contexts: Sequence[AnalysisContext | None] | None = None
    ) -> list[Analysis]:
        out: list[Analysis] = []
        for i, text in enumerate(texts):
            ctx = contexts[i] if contexts is not None else None
            out.append(self.analyze_one(text or "", ctx))
        return out

    def analyze_one(self, text: str, ctx: AnalysisContext | None) -> Analysis:
        compound = float(self._vader.polarity_scores(text[:2000])["compound"])
        sentiment = "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"
        if _SPAM.search(text):
            intent = "spam"
        elif sentiment == "negative":
            intent = "complaint"
        elif _SUGGEST.search(text):
            intent = "suggestion"
        elif _QUESTION.search(text):
            intent = "question"
        elif sentiment == "positive":
            intent = "praise"
        else:
            intent = "other"
        if _INSPIRE.search(text):
            stage = "inspiration"
        elif _SELECT.search(text):
            stage = "selection"
        elif _RESEARCH.search(text):
            stage = "research"
        elif _PURCHASE.search(text) and intent != "complaint":
            stage = "purchase"
        else:
            stage = "support"
        urgency, reasons = score_urgency(text, compound, intent, ctx, sentiment=sentiment)
        return Analysis(
            sentiment=sentiment,
            sentiment_score=compound,
            intent=intent,
            topic="",
            journey_stage=stage,
            urgency=urgency,
            urgency_reasons=reasons,
            confidence={"sentiment": abs(compound)},
            explanations={},
            model_version=VERSION,
        )
