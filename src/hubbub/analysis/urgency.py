"""Urgency 0-100 with its reasons: reach, engagement velocity, risk words, customer value.

Kept separate from the text classifiers because it mixes text with context that
only the pipeline knows (followers, retweets, the CRM's value of the customer).
"""

from __future__ import annotations

import math
import re

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


# One pass over the text first: most messages carry no risk word, and six separate
# searches per message were a tenth of the engine's time.
# The patterns are lower-case, so they run case-sensitively on lower-cased text
# (re.I made them ~3x slower).
_ANY_RISK = re.compile("|".join(f"(?:{p.pattern})" for p in RISK_PATTERNS.values()))
_RISK_LOW = {name: re.compile(p.pattern) for name, p in RISK_PATTERNS.items()}


def risk_reasons(text: str) -> list[str]:
    """Names of the risk categories whose words appear in the text."""
    low = text.lower()
    if not _ANY_RISK.search(low):
        return []
    return [name for name, pattern in _RISK_LOW.items() if pattern.search(low)]


_REPEAT = re.compile(r"\b(again|still|third time|3rd time|every time|keeps? \w+ing|for (hours|days|weeks))\b", re.I)
_REPEAT_LOW = re.compile(_REPEAT.pattern)
# Complaint causes that leave a customer stranded or without their things right now.
URGENT_TOPICS = frozenset({"cancelled flight", "lost luggage", "late flight"})


def score_urgency(
    text: str, sentiment_score: float, intent: str, ctx: AnalysisContext | None, topic: str = ""
) -> tuple[int, list[str]]:
    """Combine text risk and context into 0-100; every point added names its reason."""
    ctx = ctx or AnalysisContext()
    score = 10.0
    reasons: list[str] = []
    if sentiment_score < -0.05:
        score += 20 * min(1.0, -sentiment_score * 1.5)
        reasons.append("negative sentiment")
    if intent == "complaint":
        score += 10
        reasons.append("complaint")
    if intent == "complaint" and _REPEAT_LOW.search(text.lower()):
        score += 8
        reasons.append("repeated or ongoing problem")
    if topic in URGENT_TOPICS:
        score += 7
        reasons.append(f"topic: {topic}")
    risks = risk_reasons(text)
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
