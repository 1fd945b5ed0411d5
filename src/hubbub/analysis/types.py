"""Value types shared by the analysis engine and its callers (ingest, CLI, UI).

Kept free of Django so the engine can be trained, benchmarked and used by the
`hubbub classify` CLI without a database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SENTIMENTS = ("negative", "neutral", "positive")
INTENTS = ("complaint", "question", "praise", "suggestion", "other", "spam")
JOURNEY_STAGES = ("inspiration", "research", "selection", "purchase", "support")
# The airline preset's complaint topics (the shared data's `negativereason` categories), and what a complaint
# that matches none of a list's topics gets. Here rather than in `topics.py`, so the pages and ingest that only
# name topics do not import scikit-learn with it.
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


@dataclass(frozen=True, slots=True)
class AnalysisContext:
    """What we know about a mention besides its text; feeds urgency."""

    followers: int = 0
    retweets: int = 0
    likes: int = 0
    age_minutes: float = 0.0
    customer_value: float = 0.0
    brand: str = ""
    network: str = ""
    # which topic list labels the mention (`HubbubModel.topic_model_for`): the brand's industry ("airline"
    # gets the airline preset) and the brand's own topics, a `topics.TopicModel`, when it defined some
    industry: str = ""
    topics: object | None = None


@dataclass(slots=True)
class Analysis:
    """The labels of one text. `explanations` maps a label name to its top features."""

    sentiment: str
    sentiment_score: float
    intent: str
    topic: str
    journey_stage: str
    urgency: int
    urgency_reasons: list[str] = field(default_factory=list)
    confidence: dict[str, float] = field(default_factory=dict)
    explanations: dict[str, list[str]] = field(default_factory=dict)
    model_version: str = ""
    language: str = ""  # ISO 639-1 code detected from the text, "" when unsure (`language.py`)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sentiment": self.sentiment,
            "sentiment_score": round(self.sentiment_score, 4),
            "intent": self.intent,
            "topic": self.topic,
            "journey_stage": self.journey_stage,
            "urgency": self.urgency,
            "urgency_reasons": list(self.urgency_reasons),
            "confidence": {k: round(v, 4) for k, v in self.confidence.items()},
            "explanations": {k: list(v) for k, v in self.explanations.items()},
            "model_version": self.model_version,
            "language": self.language,
        }
