""" "Why this label": turn the model's strongest features into words and emoji that are in the text.

The heads weigh three kinds of features, and only one of them is literally in the text:

- word n-grams ("late", "was amazing", "😡"): shown when they occur in the text as written;
- cue flags ("cue:thanks" fires on "thank you", "awesome", "kudos", ...): shown as the words that set
  the flag. Showing the flag's name was the bug behind a praise tweet whose "why" cited "thanks", a
  word it did not contain ("awesome" had set the flag);
- lexicon scores ("lexicon:negative"): shown as the text's own sentiment words and emoji pointing the
  label's way ("hate", "😡").

Everything is then checked against the lower-cased text (whole words only), so a reason can be
highlighted in place. For a text in another language (`language.is_english` false) the English word
lists prove nothing: only emoji and "!"/"?" may explain it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from hubbub.analysis.cues import CHATTER, PROBLEM, QUESTION, SPAM, SUGGEST, THANKS
from hubbub.analysis.emoji_lexicon import emoji_in, emoji_valence

# compiled without re.I: they run on lower-cased text, where case-insensitive matching only costs time
_CUE_WORDS: dict[str, re.Pattern[str]] = {
    "cue:thanks": re.compile(THANKS.pattern),
    "cue:suggestion": re.compile(SUGGEST.pattern),
    "cue:problem": re.compile(PROBLEM.pattern),
    "cue:spam": re.compile(SPAM.pattern),
    "cue:chatter": re.compile(CHATTER.pattern),
    "cue:question": re.compile(QUESTION.pattern),
}
_HIDDEN_CUES = ("cue:url", "cue:many_mentions")  # a link or four mentions is not a word to highlight
_WORD = re.compile(r"[a-z][a-z']*")
_SYMBOLS = frozenset({"!", "?", "!!", "??"})


def readable(name: str) -> str | None:
    """A feature name as a reason candidate: a word n-gram, `cue:...` or `lexicon:...`; None = never shown.

    N-grams with a placeholder ("@user how") or a lone punctuation token ("late .") are left out: neither
    is what the customer wrote.
    """
    if name.startswith("w:"):
        gram = name[2:]
        if gram in _SYMBOLS:
            return gram
        if len(gram) == 1 and gram.isalnum():
            return None  # "i", "a", the "b" of a tag: nothing a reader learns from
        for tok in gram.split(" "):
            if tok in ("@user", "httpurl") or not (any(ch.isalnum() for ch in tok) or tok in emoji_valence()):
                return None
        return gram
    if name.startswith(("vader:", "lexicon:")):
        return "lexicon:" + name.split(":", 1)[1]
    if name.startswith("cue:"):
        return None if name in _HIDDEN_CUES else name
    return None


@lru_cache(maxsize=1)
def _word_valence() -> dict[str, float]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return {w: float(v) for w, v in SentimentIntensityAnalyzer().lexicon.items() if re.fullmatch(r"[a-z][a-z']*", w)}


def sentiment_words(low: str, sign: float) -> list[str]:
    """The text's lexicon words and emoji whose valence has `sign`, strongest first."""
    valence = _word_valence()
    found = [(w, valence[w]) for w in _WORD.findall(low) if w in valence]
    found += emoji_in(low)
    picked = sorted({w: v for w, v in found if v * sign > 0}.items(), key=lambda wv: -abs(wv[1]))
    return [w for w, _ in picked]


def present(reason: str, low: str) -> bool:
    """True when `reason` occurs in `low` as whole words (emoji and "!"/"?" as they are)."""
    start = low.find(reason)
    while start >= 0:
        end = start + len(reason)
        before = low[start - 1] if start else " "
        after = low[end] if end < len(low) else " "
        if not (reason[0].isalnum() and before.isalnum()) and not (reason[-1].isalnum() and after.isalnum()):
            return True
        start = low.find(reason, start + 1)
    return False


def _evidence(reason: str, low: str, sign: float, lexicon: list[list[str]]) -> list[str]:
    """The words in `low` that stand for `reason`; `lexicon` caches the text's sentiment words (several
    lexicon features of one text all stand for the same words)."""
    if reason.startswith("cue:"):
        m = _CUE_WORDS[reason].search(low) if reason in _CUE_WORDS else None
        return [m.group(0).strip()] if m and m.group(0).strip() else []
    if reason.startswith("lexicon:"):
        if not sign:
            return []
        if not lexicon:
            lexicon.append(sentiment_words(low, sign)[:2])
        return lexicon[0]
    return [reason]


def resolve(reasons: Sequence[str], low: str, english: bool, k: int, sign: float = 0.0) -> list[str]:
    """At most `k` reasons, each present in `low` (the text lower-cased); `sign` = the label's sentiment
    direction (-1, 0, 1), which lexicon features are shown as sentiment words of."""
    out: list[str] = []
    lexicon: list[list[str]] = []
    for reason in reasons:
        for word in _evidence(reason, low, sign, lexicon):
            if word in out or not present(word, low):
                continue
            if not english and any(ch.isalnum() for ch in word):
                continue  # an English word list says nothing about a Spanish text
            out.append(word)
        if len(out) >= k:
            break
    return out[:k]


def spans(text: str, reasons: Sequence[str]) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) of every whole-word occurrence of the reasons in `text`, in order:
    where the "why" view highlights them."""
    low = text.lower()
    if len(low) != len(text):  # a few characters change length when lower-cased: offsets would drift
        return []
    found: list[tuple[int, int]] = []
    for reason in sorted(set(reasons), key=len, reverse=True):  # longest first: "not here" before "here"
        start = low.find(reason) if reason else -1
        while start >= 0:
            end = start + len(reason)
            if present(reason, low[max(start - 1, 0) : end + 1]) and all(e <= start or s >= end for s, e in found):
                found.append((start, end))
            start = low.find(reason, start + 1)
    return sorted(found)
