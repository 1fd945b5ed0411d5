"""The one entry point of the analysis engine: `analyze_batch(texts, contexts)`.

The ingest pipeline, the `hubbub classify` CLI and re-analysis (`inbox/reanalysis.py`) all call this,
so swapping the model never touches its callers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from hubbub.analysis.types import INTENTS, JOURNEY_STAGES, SENTIMENTS, Analysis, AnalysisContext

if TYPE_CHECKING:
    from hubbub.analysis.models import LabelCorrection  # Django: `classify` imports this module without it
    from hubbub.analysis.train import Correction  # scikit-learn, scipy


class Analyzer(Protocol):
    version: str

    def analyze_batch(
        self, texts: Sequence[str], contexts: Sequence[AnalysisContext | None] | None = None
    ) -> list[Analysis]: ...


@lru_cache(maxsize=1)
def get_analyzer() -> Analyzer:
    """Load the shipped model once per process. Without its artifact (a source checkout that has not run
    `hubbub analysis train`) fall back to the VADER baseline, and say so: labels are then much weaker."""
    from hubbub.analysis.model import load_default_model  # scikit-learn, scipy: only when labelling starts

    try:
        return load_default_model()
    except FileNotFoundError as exc:
        from hubbub.analysis.baseline import BaselineAnalyzer  # vaderSentiment: needed on the fallback only

        logging.getLogger("hubbub.analysis").warning(
            "no trained model artifact (%s): labelling with the VADER baseline; run `hubbub analysis train`", exc
        )
        return BaselineAnalyzer()


def analyze_batch(texts: Sequence[str], contexts: Sequence[AnalysisContext | None] | None = None) -> list[Analysis]:
    return get_analyzer().analyze_batch(texts, contexts)


# --- agents' corrections (Django; imported lazily so `classify` stays Django-free) ---------------------------
# Applying a correction to a message and re-analysing stored messages work on the inbox's data, so they live
# in the inbox (`inbox/actions/labels.py`, `inbox/reanalysis.py`); the label rules they share are here.


def allowed_values(label_name: str) -> tuple[str, ...] | None:
    """Valid values of a label; None for topic, which brands define themselves."""
    return {"sentiment": SENTIMENTS, "intent": INTENTS, "journey_stage": JOURNEY_STAGES}.get(label_name)


def score_for(sentiment: str, score: float) -> float:
    """A sentiment score that agrees with a corrected sentiment label.

    Lists sort and charts average by the score, so a message an agent calls
    positive must not keep a score of -0.8; the model's magnitude is kept when
    it points the right way.
    """
    if sentiment == "neutral":
        return 0.0
    sign = 1.0 if sentiment == "positive" else -1.0
    return sign * max(abs(score), 0.5) if score * sign <= 0 else score


def corrections_for_training(organization_id: int | None = None) -> list[Correction]:
    """Stored corrections as `train()` rows; the latest correction of a (message, label) wins."""
    from hubbub.analysis.models import LabelCorrection
    from hubbub.analysis.train import Correction

    qs = LabelCorrection.objects.select_related("message").order_by("created_at", "id")
    if organization_id is not None:
        qs = qs.filter(organization_id=organization_id)
    latest: dict[tuple[int, str], LabelCorrection] = {}
    for c in qs:
        latest[(c.message_id, c.label_name)] = c
    out: list[Correction] = []
    for c in latest.values():
        try:
            out.append(Correction(c.message.text, c.label_name, c.new_value))
        except ValueError:
            continue  # a value that is no longer a valid label (e.g. renamed intent) is skipped
    return out


# --- the accurate tier (`analysis/accurate/`) ------------------------------------------------------------------
# Loaded on first use only (the encoder maps ~70 MB); a failure is remembered with its reason, so ingest, the
# Model page and `classify` keep working on the fast tier and can say why.


@lru_cache(maxsize=1)
def _accurate() -> tuple[Analyzer | None, str]:
    from hubbub.analysis.accurate.loading import load_accurate

    try:
        return load_accurate(get_analyzer()), ""
    except Exception as exc:  # EncoderUnavailable, a missing or mismatched heads file: never fatal
        logging.getLogger("hubbub.analysis").warning("accurate tier unavailable, staying on the fast tier: %s", exc)
        return None, str(exc) or type(exc).__name__


def get_accurate_analyzer() -> Analyzer | None:
    """The accurate tier, or None when it cannot load (`accurate_status` says why)."""
    return _accurate()[0]


def accurate_status() -> tuple[str | None, str]:
    """(version of the accurate tier or None, why it is unavailable or "")."""
    analyzer, reason = _accurate()
    return (analyzer.version if analyzer is not None else None), reason


def analyzer_for(tier: str) -> Analyzer:
    """`tier` "accurate" (falling back to the fast tier when it cannot load) or "fast"."""
    if tier == "accurate":
        return get_accurate_analyzer() or get_analyzer()
    return get_analyzer()
