"""Urgency 0-100 with its reasons: reach, engagement velocity, risk words, customer value.

Kept separate from the text classifiers because it mixes text with context that
only the pipeline knows (followers, retweets, the CRM's value of the customer).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from hubbub.analysis.scan import PatternSet
from hubbub.analysis.types import AnalysisContext

RISK_PATTERNS: dict[str, re.Pattern[str]] = {
    "legal threat": re.compile(r"\b(lawyer|attorney|sue|suing|lawsuit|legal action|court|class action)\b", re.I),
    "safety": re.compile(
        r"\b(unsafe|danger\w*|injur\w*|hurt|bleed\w*|emergency|fire|smoke|crash\w*|allerg\w*|poison\w*|food poisoning)\b",  # noqa: E501
        re.I,
    ),
    "discrimination": re.compile(
        r"\b(racis\w*|sexis\w*|discriminat\w*|harass\w*|homophob\w*|disabled|wheelchair)\b", re.I
    ),
    "data breach": re.compile(r"\b(hack\w*|breach\w*|stolen|fraud\w*|scam\w*|identity theft|leak\w*|phishing)\b", re.I),
    "cancel/switch intent": re.compile(
        r"\b(cancel(l?ing)? my|switch(ing)? to|never (fly|flying|buy|buying|use|using) .{0,20}again|"
        r"last time i|done with|goodbye|leaving you|take my business)\b",
        re.I,
    ),
    "press/influencer": re.compile(r"\b(journalist|reporter|news|viral|going public|media)\b", re.I),
}


# The patterns are lower-case, so they run case-sensitively on lower-cased text
# (re.I made them ~3x slower), all in one regex pass (scan.PatternSet): separate
# searches per message were a tenth of the engine's time.


def risk_reasons(text: str) -> list[str]:
    """Names of the risk categories whose words appear in the text."""
    return _RISK_SET.found(text.lower())


_REPEAT = re.compile(r"\b(again|still|third time|3rd time|every time|keeps? \w+ing|for (hours|days|weeks))\b", re.I)
REPEAT_NAME = "repeated or ongoing problem"

# Everything score_urgency searches the text for, keyed by risk name (and REPEAT_NAME):
# callers that scan text anyway (the model) add these to their own single pass.
URGENCY_PATTERNS: dict[str, str] = {name: p.pattern for name, p in RISK_PATTERNS.items()} | {
    REPEAT_NAME: _REPEAT.pattern
}
_RISK_SET = PatternSet({name: p.pattern for name, p in RISK_PATTERNS.items()})
_URGENCY_SET = PatternSet(URGENCY_PATTERNS)

_NO_CONTEXT = AnalysisContext()  # frozen: one shared instance, not one per message

# Complaint causes that leave a customer stranded or without their things right now.
URGENT_TOPICS = frozenset({"cancelled flight", "lost luggage", "late flight"})


def score_urgency(
    text: str,
    sentiment_score: float,
    intent: str,
    ctx: AnalysisContext | None,
    topic: str = "",
    *,
    found: Sequence[str] | None = None,
    sentiment: str = "",
) -> tuple[int, list[str]]:
    """Combine text risk and context into 0-100; every point added names its reason.

    `found`: the URGENCY_PATTERNS names that occur in the lower-cased text, when the
    caller has already searched for them (then `text` is not searched again).
    `sentiment`: the message's label, so a reason never contradicts the badge beside it: a message
    labelled neutral whose score leans negative gets its points as "leaning negative".
    """
    if found is None:
        found = _URGENCY_SET.found(text.lower())
    ctx = ctx or _NO_CONTEXT
    score = 10.0
    reasons: list[str] = []
    if sentiment_score < -0.05:
        score += 20 * min(1.0, -sentiment_score * 1.5)
        reasons.append("leaning negative" if sentiment and sentiment != "negative" else "negative sentiment")
    if intent == "complaint":
        score += 10
        reasons.append("complaint")
    if intent == "complaint" and REPEAT_NAME in found:
        score += 8
        reasons.append(REPEAT_NAME)
    if topic in URGENT_TOPICS:
        score += 7
        reasons.append(f"topic: {topic}")
    risks = [r for r in found if r != REPEAT_NAME]
    if risks:
        score += 15 * min(len(risks), 2)
        reasons.extend(f"risk: {r}" for r in risks)
    if ctx.followers > 1000:
        score += min(20.0, 5 * math.log10(ctx.followers / 1000 + 1) * 2)
        reasons.append(f"reach: {ctx.followers:,} followers")
    engagement = ctx.retweets + ctx.likes
    if engagement > 0:
        per_minute = engagement / max(ctx.age_minutes, 1.0)
        if per_minute >= 0.5 or engagement >= 10:
            score += min(20.0, 6 * math.log2(1 + engagement))
            reasons.append(f"engagement: {engagement} shares/likes")
    if ctx.customer_value >= 1000:
        score += min(15.0, 5 * math.log10(ctx.customer_value / 100))
        reasons.append(f"customer value: {ctx.customer_value:,.0f}")
    return int(max(0, min(100, round(score)))), reasons
