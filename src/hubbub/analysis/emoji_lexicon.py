"""Emoji as sentiment words: a valence (VADER's -4..4 scale) for each emoji, read by the lexicon features.

Why not VADER's own emoji handling: VADER replaces an emoji by its description and scores the words,
and the descriptions of the emoji that matter most in care tweets score 0 ("pouting face" for 😡,
"thumbs down" for 👎, "face with symbols on mouth" for 🤬), so "😡😡😡" came out neutral. Here:

- the emoji people use most in complaints and praise carry a hand-set valence whose sign follows the
  Emoji Sentiment Ranking (Kralj Novak et al., 2015, sentiment of 1.6 million tweets with emoji) and
  whose size sits on VADER's scale (😡 like "hate" -2.7, 😍 like "love" 3.2);
- every other emoji in VADER's emoji file keeps the score of its description, so 😢 ("crying face")
  still counts as negative.

Variation selectors and skin tones are ignored (❤️ is ❤).
"""

from __future__ import annotations

from functools import lru_cache

_SET: dict[str, float] = {
    # anger, disgust, disapproval
    "😡": -3.0, "🤬": -3.2, "😠": -2.6, "😤": -1.8, "👿": -2.4, "💢": -2.0, "👎": -2.2, "💩": -1.8,
    "🤮": -2.6, "🤢": -2.2, "🙄": -1.6, "😒": -1.6, "😑": -1.0, "🤦": -1.6, "🖕": -3.0,
    # sadness, disappointment, fear
    "😞": -2.0, "😔": -1.7, "😩": -2.0, "😫": -2.0, "😖": -2.0, "😣": -1.8, "😢": -2.0, "😭": -1.8,
    "💔": -2.4, "☹": -1.9, "🙁": -1.7, "😕": -1.3, "😟": -1.6, "😓": -1.2, "😥": -1.4, "😿": -1.8,
    "😱": -1.6, "😰": -1.8, "😨": -1.8, "😬": -0.8, "😪": -1.0,
    # joy, love, approval
    "😍": 3.0, "🥰": 3.0, "❤": 2.8, "💕": 2.6, "💖": 2.6, "💗": 2.6, "💙": 2.4, "💜": 2.4, "💚": 2.4,
    "💛": 2.4, "🧡": 2.4, "😘": 2.4, "😊": 2.4, "☺": 2.2, "🙂": 1.3, "😀": 2.0, "😃": 2.2, "😄": 2.2,
    "😁": 2.2, "😆": 1.8, "😂": 1.2, "🤣": 1.2, "😎": 1.6, "🤗": 2.2, "🥳": 2.6, "🎉": 2.2, "🎊": 2.0,
    "👍": 1.9, "👌": 1.6, "👏": 2.0, "🙌": 2.2, "💪": 1.6, "💯": 1.6, "🔥": 1.2, "✨": 1.2, "⭐": 1.6,
    "🌟": 1.8, "🙏": 1.5, "✅": 1.2, "😇": 2.0, "🤩": 2.8,
}  # fmt: skip
_IGNORED = {"\ufe0f", "\u200d"} | {chr(c) for c in range(0x1F3FB, 0x1F400)}  # selectors, joiner, skin tones


@lru_cache(maxsize=1)
def emoji_valence() -> dict[str, float]:
    """Every single-character emoji with a non-zero valence: VADER's descriptions, then the table above."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    vader = SentimentIntensityAnalyzer()
    out: dict[str, float] = {}
    for emo, description in vader.emojis.items():
        emo = "".join(ch for ch in emo if ch not in _IGNORED)
        if len(emo) != 1:
            continue
        # VADER's word valences summed (a description has few sentiment words; no normalisation)
        value = sum(vader.lexicon.get(w, 0.0) for w in description.lower().split())
        if value:
            out[emo] = round(value, 2)
    out.update(_SET)
    return out


def emoji_in(text: str) -> list[tuple[str, float]]:
    """(emoji, valence) for each sentiment-bearing emoji in `text`, in order, repeats included."""
    if text.isascii():  # the common case costs one C-level check
        return []
    table = emoji_valence()
    return [(ch, table[ch]) for ch in text if ch in table]
