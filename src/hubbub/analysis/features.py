"""Text normalisation and the shared feature matrix every classifier head reads.

One vectorisation per batch feeds all heads (sentiment, intent, journey), which is
what keeps the engine above 5,000 texts/s on one core. Features:

- word 1-3-gram tf-idf (sublinear) on normalised text: what the text says;
- a vectorised sentiment lexicon (the VADER word list as a sparse dot product,
  with negation scope and "!" emphasis approximated by regexes): a
  domain-general sentiment prior that keeps the model sane outside airline
  tweets. Calling VADER per text cost ~80 µs, more than everything else together;
- a domain score (how much of the text the care vocabulary covers), which lets
  the sentiment blend lean on the lexicon for text unlike the training data;
- a few cue flags (question mark, suggestion/spam/thanks wording) that carry the
  rare intents the gold set has few examples of.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from hubbub.analysis.cues import CHATTER, PROBLEM, QUESTION_START, SPAM, SUGGEST, THANKS
from hubbub.analysis.emoji_lexicon import emoji_in
from hubbub.analysis.fastvec import fast_vectorizer
from hubbub.analysis.scan import PatternSet

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

# The cue patterns run case-sensitively on already lower-cased text (re.I made each
# search ~2.5x slower), and the word-list ones in one regex pass (scan.PatternSet):
# cue flags run on every message. The model adds the urgency patterns to the same
# pass. Keys are the CUE_NAMES they set.
_QUESTION_START_LOW = re.compile(QUESTION_START)  # `match` = the `^...` branch of QUESTION
CUE_PATTERNS: dict[str, str] = {
    "cue:suggestion": SUGGEST.pattern,
    "cue:spam": SPAM.pattern,
    "cue:thanks": THANKS.pattern,
    "cue:problem": PROBLEM.pattern,
    "cue:chatter": CHATTER.pattern,
}
_CUE_SET = PatternSet(CUE_PATTERNS)
CUE_NAMES = (
    "cue:question",
    "cue:suggestion",
    "cue:spam",
    "cue:thanks",
    "cue:url",
    "cue:many_mentions",
    "cue:problem",
    "cue:chatter",
)
LEX_NAMES = ("lexicon:neg", "lexicon:neu", "lexicon:pos", "lexicon:compound", "lexicon:positive", "lexicon:negative")
# Back-compat alias: older code and notebooks called these the VADER features.
VADER_NAMES = LEX_NAMES

# VADER's negation words; the next three words after one are marked "neg_<word>".
_NEGATORS = (
    "not|no|never|nothing|nobody|none|nope|neither|nor|nowhere|cannot|without|rarely|seldom|"
    "aint|arent|cant|couldnt|didnt|doesnt|dont|hadnt|hasnt|havent|isnt|shouldnt|wasnt|werent|wont|wouldnt|"
    "ain't|aren't|can't|couldn't|didn't|doesn't|don't|hadn't|hasn't|haven't|isn't|shouldn't|wasn't|"
    "weren't|won't|wouldn't"
)
_NEG_SCOPE = re.compile(rf"\b(?:{_NEGATORS})\b((?:\s+[a-z']+){{1,3}})")


def _by_first_letter(words: Sequence[str]) -> str:
    """The alternation `a|b|...` with words grouped by first letter: `re` then tries ~20, not ~50, per word."""
    groups: dict[str, list[str]] = {}
    for w in words:
        groups.setdefault(w[0], []).append(re.escape(w[1:]))
    return "|".join(f"{re.escape(c)}(?:{'|'.join(rest)})" for c, rest in groups.items())


# Finds a text iff _NEG_SCOPE does (same words, same context), ~2x faster: three
# texts in four have no negation, and substituting costs more than searching.
_NEG_GATE = re.compile(rf"\b(?:{_by_first_letter(_NEGATORS.split('|'))})\b\s+[a-z']")
_NEG_WORD = re.compile(r"([a-z']+)")
_LEX_TOKEN = r"(?u)\b[a-z_][a-z_']*\b"
_EXCLAIM = re.compile(r"!")
_N_SCALAR = -0.74  # VADER's factor for a negated word
_ALPHA = 15.0  # VADER's normalisation constant for the compound score


def normalise(text: str) -> str:
    """Lower-cased text with URLs and mentions replaced by placeholders."""
    t = text[:MAX_CHARS]
    for bad, good in _ARTEFACTS:
        t = t.replace(bad, good)
    if "&" in t:  # each substitution only when its literal is there: most tweets have no entity or URL
        t = _AMP.sub("&", t)
        t = _ENT.sub(" ", t)
    if "http" in t or "www." in t:
        t = _URL.sub(" httpurl ", t)
    if "@" in t:
        t = _MENTION.sub(" @user ", t)
    return t.lower()


def cue_flags(texts: Sequence[str], lowered: Sequence[str] | None = None) -> np.ndarray:
    """Binary cue features per raw text (see CUE_NAMES); `lowered` = the texts lower-cased, if at hand."""
    low = lowered if lowered is not None else [t[:MAX_CHARS].lower() for t in texts]
    if not low:
        return np.zeros((0, len(CUE_NAMES)), dtype=np.float64)
    return np.array([cue_row(t, _CUE_SET.flags(t)) for t in low], dtype=np.float64)


def cue_row(low: str, words: Sequence[bool]) -> tuple[bool, ...]:
    """The CUE_NAMES flags of one lower-cased text; `words` = the CUE_PATTERNS flags found for it.

    Split out so the model can find the word cues in the same regex pass as the
    urgency words (one pass per text instead of eleven searches).
    """
    suggest, spam, thanks, problem, chatter = words
    question = "?" in low or _QUESTION_START_LOW.match(low) is not None
    return (question, suggest, spam, thanks, "http" in low or "www." in low, low.count("@") >= 4, problem, chatter)


def _mark_negation(norm: str) -> str:
    if "n" not in norm or _NEG_GATE.search(norm) is None:  # (most negators contain an "n")
        return norm
    return _NEG_SCOPE.sub(lambda m: m.group(0).replace(m.group(1), _NEG_WORD.sub(r"neg_\1", m.group(1))), norm)


class Lexicon:
    """The VADER word list as one sparse dot product per batch.

    Approximates VADER's scores (valence sum, negation ×-0.74, "!" emphasis,
    compound normalisation, pos/neg/neu shares) closely enough to serve as
    features, at a few µs per text instead of ~80 µs.
    """

    def __init__(self) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        lex = {w: float(v) for w, v in SentimentIntensityAnalyzer().lexicon.items() if re.fullmatch(r"[a-z][a-z']*", w)}
        words = sorted(lex)
        vocab = {w: i for i, w in enumerate(words)}
        vocab.update({f"neg_{w}": len(words) + i for i, w in enumerate(words)})
        vals = np.array([lex[w] for w in words], dtype=np.float64)
        self.valence = np.concatenate([vals, vals * _N_SCALAR])
        self.vectorizer = CountVectorizer(vocabulary=vocab, token_pattern=_LEX_TOKEN, lowercase=False, dtype=np.float64)

    def scores(self, norm: Sequence[str]) -> np.ndarray:
        """(neg, neu, pos, compound, max(compound,0), max(-compound,0)) per normalised text."""
        x = fast_vectorizer(self.vectorizer).counts([_mark_negation(t) for t in norm])
        pos_w = np.maximum(self.valence, 0.0)
        neg_w = np.maximum(-self.valence, 0.0)
        # VADER adds 1 to the magnitude of each sentiment word for the pos/neg shares
        hits = x.copy()
        hits.data[:] = 1.0
        pos = x @ pos_w + hits @ (pos_w > 0).astype(np.float64)
        neg = x @ neg_w + hits @ (neg_w > 0).astype(np.float64)
        s = x @ self.valence
        n_words = np.array([t.count(" ") + 1 for t in norm], dtype=np.float64)
        n_hits = np.asarray(hits.sum(axis=1)).ravel()
        # emoji count as sentiment words (VADER reads them too): "😡😡😡" is three strongly negative words
        for i, t in enumerate(norm):
            found = emoji_in(t)
            if found:
                vals = np.array([v for _, v in found])
                s[i] += vals.sum()
                pos[i] += np.maximum(vals, 0.0).sum() + (vals > 0).sum()
                neg[i] += np.maximum(-vals, 0.0).sum() + (vals < 0).sum()
                n_hits[i] += len(found)
                n_words[i] += len(found)
        neu = np.maximum(n_words - n_hits, 0.0)
        excl = np.minimum(np.array([t.count("!") for t in norm], dtype=np.float64), 4.0) * 0.292
        s = s + np.sign(s) * excl
        compound = s / np.sqrt(s * s + _ALPHA)
        total = pos + neg + neu
        total[total == 0] = 1.0
        out = np.column_stack(
            [neg / total, neu / total, pos / total, compound, np.maximum(compound, 0.0), np.maximum(-compound, 0.0)]
        )
        return out


class Featurizer:
    """Fit once on training text; `transform` gives (matrix, lexicon scores, domain score)."""

    def __init__(
        self,
        use_char: bool = False,
        vader_scale: float = 3.0,
        cue_scale: float = 1.0,
        ngram_max: int = 3,
        max_features: int = 120000,
    ) -> None:
        self.use_char = use_char
        self.vader_scale = vader_scale
        self.cue_scale = cue_scale
        self.word = TfidfVectorizer(
            ngram_range=(1, ngram_max),
            min_df=2,
            max_features=max_features,
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
        self.lexicon = Lexicon()
        self.domain_vocab: frozenset[str] = frozenset()
        self.feature_names: list[str] = []
        self.n_word = 0
        self._unigram_cols = np.zeros(0, dtype=bool)
        # optional static word embeddings (see `embeddings.py`): one float16 row per word unigram column
        self.embedding: np.ndarray | None = None
        self.embedding_cols = np.zeros(0, dtype=np.int64)
        self.embed_scale = 1.0

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state.pop("_emb32", None)  # float32 working copy: rebuilt on first use, not shipped
        return state

    def set_embedding(self, cols: np.ndarray, matrix: np.ndarray, scale: float) -> None:
        """Add a mean-pooled static-embedding block: `matrix[i]` is the vector of word column `cols[i]`."""
        self.embedding = np.asarray(matrix, dtype=np.float16)
        self.embedding_cols = np.asarray(cols, dtype=np.int64)
        self.embed_scale = scale
        self.__dict__.pop("_emb32", None)
        self.feature_names = [n for n in self.feature_names if not n.startswith("e:")]
        self.feature_names += [f"e:{i}" for i in range(self.embedding.shape[1])]

    def embed(self, word_x: csr_matrix) -> np.ndarray:
        """tf-idf-weighted mean of the text's word vectors, L2-normalised and scaled (zeros for no known word).

        A sparse-dense product over the word columns already computed: ~8 µs/text, no tokenising again.
        """
        e32 = self.__dict__.get("_emb32")
        if e32 is None:
            e32 = self.__dict__["_emb32"] = np.asarray(self.embedding, dtype=np.float32)
        pooled = np.asarray(word_x[:, self.embedding_cols] @ e32)
        norm = np.sqrt((pooled * pooled).sum(axis=1, keepdims=True))
        norm[norm == 0] = 1.0
        return (pooled * (self.embed_scale / norm)).astype(np.float32)

    def fit(self, texts: Sequence[str], domain_texts: Sequence[str] | None = None) -> Featurizer:
        """Fit the vocabularies; `domain_texts` (the care data) define the domain score."""
        norm = [normalise(t) for t in texts]
        self.word.fit(norm)
        self.word.stop_words_ = None  # type: ignore[assignment]  # sklearn keeps every pruned n-gram otherwise
        raw_names = self.word.get_feature_names_out()
        names = [f"w:{n}" for n in raw_names]
        self.n_word = len(names)
        if self.use_char:
            self.char.fit(norm)
            self.char.stop_words_ = None  # type: ignore[assignment]
            names += [f"c:{n}" for n in self.char.get_feature_names_out()]
        self.feature_names = names + list(LEX_NAMES) + list(CUE_NAMES)
        # domain vocabulary: word unigrams seen in at least 3 care texts
        dom = [normalise(t) for t in (domain_texts if domain_texts is not None else texts)]
        cv = CountVectorizer(token_pattern=r"(?u)\b[a-z][a-z']+\b", min_df=3, binary=True).fit(dom)
        self.domain_vocab = frozenset(cv.vocabulary_)
        self._build_domain_mask(raw_names)
        return self

    def _build_domain_mask(self, raw_names: Sequence[str]) -> None:
        self._unigram_cols = np.array([(" " not in n) and n in self.domain_vocab for n in raw_names], dtype=np.float32)

    def domain(self, word_x: csr_matrix, norm: Sequence[str]) -> np.ndarray:
        """Share of a text's word tokens that belong to the care vocabulary, in [0, 1].

        Text unlike the training data (general tweets) scores low; the sentiment
        blend then trusts the domain-general lexicon more than the airline model.
        """
        present = word_x.copy()
        present.data[:] = 1.0
        known = present @ self._unigram_cols
        n_tok = np.array([max(len(_TOKEN.findall(t)), 1) for t in norm], dtype=np.float64)
        return np.clip(known / n_tok, 0.0, 1.0)

    def vader(self, texts: Sequence[str]) -> np.ndarray:
        """Lexicon scores for raw texts (kept under its old name for callers)."""
        return self.lexicon.scores([normalise(t) for t in texts])

    def transform_all(
        self, texts: Sequence[str], cues: np.ndarray | None = None, norm: Sequence[str] | None = None
    ) -> tuple[csr_matrix, np.ndarray, np.ndarray]:
        """(feature matrix, lexicon scores, domain score) from one normalisation pass.

        `cues` = `cue_flags(texts)` and `norm` = the normalised texts, when the
        caller has them already (the model computes both for other uses too).
        """
        x, emb, v, domain = self.transform_parts(texts, cues=cues, norm=norm)
        if emb is not None:
            x = hstack([x, csr_matrix(emb)], format="csr", dtype=np.float32)
        return x, v, domain

    def transform_parts(
        self, texts: Sequence[str], cues: np.ndarray | None = None, norm: Sequence[str] | None = None
    ) -> tuple[csr_matrix, np.ndarray | None, np.ndarray, np.ndarray]:
        """`transform_all` with the dense static-embedding block (the matrix's last columns) kept apart:
        (sparse blocks, embedding block or None, lexicon scores, domain score).

        Prediction multiplies the dense block with a dense product instead of carrying hundreds of
        non-zeros per row through the sparse matrix, its heads and the explanations.
        """
        if norm is None:
            norm = [normalise(t) for t in texts]
        wx = fast_vectorizer(self.word).transform(norm)
        blocks = [wx]
        if self.use_char:
            blocks.append(self.char.transform(norm))
        v = self.lexicon.scores(norm)
        blocks.append(csr_matrix(v * self.vader_scale))
        blocks.append(csr_matrix((cue_flags(texts) if cues is None else cues) * self.cue_scale))
        emb = self.embed(wx) if getattr(self, "embedding", None) is not None else None
        return hstack(blocks, format="csr", dtype=np.float32), emb, v, self.domain(wx, norm)

    def word_block(self, x: csr_matrix) -> csr_matrix:
        """The word n-gram columns of a `transform_all` matrix (what the default topic model reads)."""
        return x[:, : self.n_word]

    def transform(self, texts: Sequence[str]) -> tuple[csr_matrix, np.ndarray]:
        x, v, _ = self.transform_all(texts)
        return x, v


_TOKEN = re.compile(r"(?<![@#\w])[a-z][a-z']+")


def top_contributions(
    x: csr_matrix, weights: np.ndarray, classes: np.ndarray, names: np.ndarray, allowed: np.ndarray, k: int
) -> list[list[str]]:
    """The k features that pushed each row most towards its class: the "why this label" words.

    `weights[c, j]` is feature j's weight for class c (a binary model's single row
    counts for class 1 and against class 0), `classes[i]` the class of row i,
    `allowed[j]` whether feature j may be shown. One vectorised pass over the
    non-zeros instead of a sort per row: explanations were a fifth of the
    engine's time.
    """
    n = x.shape[0]
    if n == 0:
        return []
    mask = np.zeros(max(x.shape[1], len(allowed)), dtype=bool)
    mask[: len(allowed)] = allowed
    # Drop the columns that may not be shown first (dense embedding columns are most non-zeros):
    # the weight gather below is the expensive part, and it then only touches showable features.
    row_of = np.repeat(np.arange(n), np.diff(x.indptr))
    shown = mask[x.indices]
    idx, row_of, data = x.indices[shown], row_of[shown], x.data[shown]
    if weights.shape[0] == 1:
        sign = np.where(np.asarray(classes) == 1, 1.0, -1.0)
        w = weights[0, idx] * sign[row_of]
    else:
        w = weights[np.asarray(classes)[row_of], idx]
    contrib = data * w
    ok = contrib > 0
    r, f, c = row_of[ok], idx[ok], contrib[ok]
    # = np.lexsort((-c, r)): by row, then largest contribution, ties in column order.
    # lexsort cost 2 µs/text per head; for float32 contributions (> 0, so their bit
    # patterns sort like their values) one stable sort of (row, -bits) keys does it,
    # ~10x faster because the rows are already in order.
    if c.dtype == np.float32:
        key = (r.astype(np.int64) << 32) | (0x7FFFFFFF - c.view(np.int32)).astype(np.int64)
        order = np.argsort(key, kind="stable")
    else:
        order = np.lexsort((-c, r))
    f = f[order]
    bounds = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=n), out=bounds[1:])
    # names of each row's first 2k entries only, in one gather
    take = np.minimum(np.diff(bounds), 2 * k)
    ends = np.cumsum(take)
    pos = np.arange(ends[-1]) + np.repeat(bounds[:-1] - (ends - take), take)
    ranked = names[f[pos]].tolist()
    more = (np.diff(bounds) > 2 * k).tolist()
    out: list[list[str]] = []
    for i, (lo, hi) in enumerate(zip((ends - take).tolist(), ends.tolist(), strict=True)):
        words = list(dict.fromkeys(ranked[lo:hi]))[:k]
        if len(words) < k and more[i]:  # duplicates among the best: look further
            words = list(dict.fromkeys(names[f[bounds[i] : bounds[i + 1]]].tolist()))[:k]
        out.append(words)
    return out
