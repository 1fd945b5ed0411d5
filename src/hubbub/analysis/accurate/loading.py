"""Loading the accurate tier: the encoder, the heads, and the check that they belong together."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hubbub.analysis.accurate.encoder import ENCODER_SHA256, Encoder, EncoderUnavailable, default_threads
from hubbub.analysis.accurate.heads import DEFAULT_HEADS_PATH, AccurateHeads
from hubbub.analysis.accurate.model import AccurateAnalyzer


def load_accurate(fast: Any, heads_path: Path = DEFAULT_HEADS_PATH, threads: int | None = None) -> AccurateAnalyzer:
    """The accurate tier on top of `fast`. Raises `EncoderUnavailable` (or FileNotFoundError for the heads)."""
    if not heads_path.exists():
        raise FileNotFoundError(f"no accurate heads at {heads_path}: run `hubbub analysis train-accurate`")
    heads = AccurateHeads.load(heads_path)
    encoder = Encoder.load(threads=threads or default_threads(), max_tokens=int(heads.meta.get("max_tokens", 24)))

    if heads.encoder_sha256 != ENCODER_SHA256:
        raise EncoderUnavailable("the accurate heads were trained on other encoder weights: retrain them")
    return AccurateAnalyzer(fast, encoder, heads)
