"""Text normalisation and the shared feature matrix every classifier head reads.

One vectorisation per batch feeds all heads (sentiment, intent, journey), which is
what keeps the engine above 5,000 texts/s on one core. Features:

- word 1-2-gram tf-idf (sublinear) on normalised text: what the text says;
- optional char_wb 3-5-gram tf-idf: misspellings, elongations, emoji, hashtags;
- VADER lexicon scores (neg/neu/pos/compound): a domain-general sentiment prior,
  which is what keeps the model sane outside airline tweets;
- a few cue flags (question mark, suggestion/spam/thanks wording) that carry the
  rare intents the gold set has few examples of.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

MAX_CHARS = 2000  # longer texts are cut: the first 2,000 characters decide the labels

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_AMP = re.compile(r"&amp;")
_ENT = re.compile(r"&(gt|lt|quot);")
# The Kaggle airline file had "cancel", "late" and "booking" search-and-replaced by
# the category names ("Cancelled Flightled", "pLate Flight", "reFlight Booking
# Problems"). Undo it so the model learns the words real customers write.
_ARTEFACTS = (
    ("Cancelled Flight", "cancel"),
    ("Late Flight", "late"),
    ("Flight Booking Problems", "booking"),
)

QUESTION = re.compile(r"\?|^\W*(how|when|where|why|what|which|who|can|could|do|does|is|are|will|would)\b", re.I)
SUGGEST = re.compile(
    r"\b(you should|should (have|add|offer|make|consider|start|bring)|please (add|bring|start|offer|consider)|"  # noqa: E501
    r"bring back|would (be|love) (nice|great|awesome|cool)|would be nice|suggest\w*|why not|how about|"
    r"feature request|consider (adding|offering)|wish you (had|would|guys)|it would help|need to add)\b",
    re.I,
)
SPAM = re.compile(
    r"\b(follow (me )?back|free followers|click here|giveaway|promo code|limited time|#contest|"
    r"chance to win|check out my|for only \$|get \d+ months)\b",
    re.I,
)
THANKS = re.compile(
    r"\b(thank\w*|thx|thnx|ty|kudos|shout ?out|appreciate\w*|love (you|it|flying)|awesome|great job)\b", re.I
)
CUE_NAMES = ("cue:question", "cue:suggestion", "cue:spam", "cue:thanks", "cue:url", "cue:many_mentions")
VADER_NAMES = ("vader:neg", "vader:neu", "vader:pos", "vader:compound", "vader:positive", "vader:negative")


def normalise(text: str) -> str:
    """Lower-cased text with URLs and mentions replaced by placeholders."""
    t = text[:MAX_CHARS]
    for bad, good in _ARTEFACTS:
        t = t.replace(bad, good)
    t = _AMP.sub("&", t)
    t = _ENT.sub(" ", t)
    t = _URL.sub(" httpurl ", t)
    t = _MENTION.sub(" @user ", t)
    return t.lower()


def cue_flags(texts: Sequence[str]) -> np.ndarray:
    """Binary cue features per raw text (see CUE_NAMES)."""
    out = np.zeros((len(texts), len(CUE_NAMES)), dtype=np.float64)
    for i, t in enumerate(texts):
        t = t[:MAX_CHARS]
        out[i, 0] = bool(QUESTION.search(t))
        out[i, 1] = bool(SUGGEST.search(t))
        out[i, 2] = bool(SPAM.search(t))
        out[i, 3] = bool(THANKS.search(t))
        out[i, 4] = bool(_URL.search(t))
        out[i, 5] = len(_MENTION.findall(t)) >= 4
    return out


class Featurizer:
    """Fit once on training text; `transform` gives (matrix, vader compound scores)."""

    def __init__(self, use_char: bool = True, vader_scale: float = 3.0, cue_scale: float = 1.0) -> None:
        self.use_char = use_char
        self.vader_scale = vader_scale
        self.cue_scale = cue_scale
        self.word = TfidfVectorizer(
            ngram_range=(1, 2),
            min_df=2,
            max_features=60000,
            sublinear_tf=True,
            token_pattern=r"(?u)[@#]?\b\w[\w']*\b|[!?]+|[^\w\s]{1}",
            dtype=np.float32,
        )
        self.char = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(3, 5),
            min_df=3,
            max_features=80000,
            sublinear_tf=True,
            dtype=np.float32,
        )
        self._vader = SentimentIntensityAnalyzer()
        self.feature_names: list[str] = []
        self.n_word = 0

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state["_vader"] = None  # rebuilt on load; the lexicon ships with vaderSentiment
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._vader = SentimentIntensityAnalyzer()

    def fit(self, texts: Sequence[str]) -> Featurizer:
        norm = [normalise(t) for t in texts]
        self.word.fit(norm)
        self.word.stop_words_ = None  # type: ignore[assignment]  # sklearn keeps every pruned n-gram otherwise
        names = [f"w:{n}" for n in self.word.get_feature_names_out()]
        self.n_word = len(names)
        if self.use_char:
            self.char.fit(norm)
            self.char.stop_words_ = None  # type: ignore[assignment]
            names += [f"c:{n}" for n in self.char.get_feature_names_out()]
        self.feature_names = names + list(VADER_NAMES) + list(CUE_NAMES)
        return self

    def vader(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), 6), dtype=np.float64)
        for i, t in enumerate(texts):
            s = self._vader.polarity_scores(t[:MAX_CHARS])
            c = s["compound"]
            out[i] = (s["neg"], s["neu"], s["pos"], c, max(c, 0.0), max(-c, 0.0))
        return out

    def transform(self, texts: Sequence[str]) -> tuple[csr_matrix, np.ndarray]:
        norm = [normalise(t) for t in texts]
        blocks = [self.word.transform(norm)]
        if self.use_char:
            blocks.append(self.char.transform(norm))
        v = self.vader(texts)
        blocks.append(csr_matrix(v * self.vader_scale))
        blocks.append(csr_matrix(cue_flags(texts) * self.cue_scale))
        return hstack(blocks, format="csr", dtype=np.float32), v
