"""The one entry point of the analysis engine: `analyze_batch(texts, contexts)`.

The ingest pipeline, the `hubbub classify` CLI and re-analysis all call this,
so swapping the model never touches its callers.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol

from hubbub.analysis.types import Analysis, AnalysisContext


class Analyzer(Protocol):
    version: str

    def analyze_batch(
        self, texts: Sequence[str], contexts: Sequence[AnalysisContext | None] | None = None
    ) -> list[Analysis]: ...


@lru_cache(maxsize=1)
def get_analyzer() -> Analyzer:
    """Load the shipped model once per process; fall back to the VADER baseline."""
    try:
        from hubbub.analysis.model import load_default_model  # type: ignore[attr-defined]

        return load_default_model()  # type: ignore[no-any-return]
    except (ImportError, FileNotFoundError):
        from hubbub.analysis.baseline import BaselineAnalyzer

        return BaselineAnalyzer()


def analyze_batch(texts: Sequence[str], contexts: Sequence[AnalysisContext | None] | None = None) -> list[Analysis]:
    return get_analyzer().analyze_batch(texts, contexts)
