"""Exact, faster `transform` for fitted sklearn word vectorizers (the prediction path only).

sklearn's `CountVectorizer._count_vocab` runs a Python generator, a `" ".join`
per n-gram and a counting dict per document; on 500 short tweets that was
~25 µs per text for the word n-grams alone, and the engine vectorises three
times (word n-grams, lexicon, topics). Here the per-text work is one
`findall`, then C-level `map`s that build the n-grams and look them up in the
fitted vocabulary; counting, sorting, sublinear tf, idf and the norm run once
per batch in numpy. The output is the same CSR matrix sklearn produces
(same sorted indices, dtype and float32 operations in the same order), which
`tests/analysis/test_fastvec.py` checks against sklearn on real and hostile
input.

Training keeps sklearn's `fit`; the fast path reads only the fitted
attributes (`vocabulary_`, `idf_`, parameters), so a retrained model with a new
vocabulary works unchanged. Vectorizers configured in a way this module does
not reproduce (custom tokenizers, stop words, accents stripping, `char`
analyzers…) fall back to sklearn's own `transform`.

`char_wb` analyzers (character n-grams inside word boundaries) get their own
exact path, `_CharTables`: the batch's lower-cased words are laid out once as
an array of character ids and every window is walked down a trie of the
fitted vocabulary in numpy, one gather per character for the whole batch.
sklearn builds each n-gram as a Python string (~100 µs per tweet for
2-4-grams); this costs a few µs, which is what made character n-grams
affordable.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Sequence
from itertools import repeat
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize

__all__ = ["FastVectorizer", "fast_vectorizer"]

# Token patterns for which tokenising a whole batch joined by `_SEP` gives each
# document's own tokens, plus one `_SEP_WORD` token between documents: none of
# them has anchors, lookarounds or a way to match whitespace, and `\b` sees the
# spaces around the separator word as it sees the ends of a string. (The engine's
# word n-grams, its lexicon and the default topic vectorizer; any other pattern is
# tokenised document by document.) `tests/analysis/test_fastvec.py` fuzzes this.
BATCHABLE_PATTERNS = frozenset(
    {
        r"(?u)[@#]?\b\w[\w']*\b|[!?]+|[^\w\s]{1}",
        r"(?u)\b\w[\w']*\b",
        r"(?u)\b[a-z_][a-z_']*\b",
        r"(?u)\b\w\w+\b",  # sklearn's default
    }
)
_SEP_WORD = "qqhubbubsepqq"
# Patterns that find exactly the tokens of the fitted one, ~20 % faster: without the
# `\b` tests (a scan never stops inside a word, so they always hold) and with
# possessive repeats (no backtracking to try). Checked by fuzzing in the tests.
EQUIVALENT_PATTERNS = {
    r"(?u)[@#]?\b\w[\w']*\b|[!?]+|[^\w\s]{1}": r"[@#]?\w++(?:'+\w++)*+|[!?]++|[^\w\s]",
    r"(?u)\b\w[\w']*\b": r"\w++(?:'+\w++)*+",
}
_SEP = f" {_SEP_WORD} "


def _supported(vec: CountVectorizer) -> bool:
    """Whether `FastVectorizer` reproduces this fitted vectorizer's analyzer exactly."""
    if vec.analyzer == "char_wb":
        return (
            vec.preprocessor is None
            and vec.strip_accents is None
            and vec.input == "content"
            and 2 <= int(vec.ngram_range[0]) <= 3  # see _CharTables
            and hasattr(vec, "vocabulary_")
        )
    return (
        vec.analyzer == "word"
        and vec.tokenizer is None
        and vec.preprocessor is None
        and not vec.stop_words
        and vec.strip_accents is None
        and vec.input == "content"
        and isinstance(vec.token_pattern, str)
        and re.compile(vec.token_pattern).groups <= 1
        and hasattr(vec, "vocabulary_")
    )


def _signature(vec: CountVectorizer) -> tuple[Any, ...]:
    """What a cached `FastVectorizer` depends on: refitting or `set_params` changes it."""
    tfidf = isinstance(vec, TfidfVectorizer)
    return (
        id(getattr(vec, "vocabulary_", None)),
        id(getattr(vec, "idf_", None)) if tfidf and vec.use_idf else None,
        vec.analyzer,
        vec.token_pattern,
        vec.ngram_range,
        vec.lowercase,
        vec.binary,
        vec.dtype,
        vec.tokenizer,
        vec.preprocessor,
        vec.stop_words,
        vec.strip_accents,
        (vec.sublinear_tf, vec.norm, vec.use_idf) if tfidf else None,
    )


class FastVectorizer:
    """`vec.transform(docs)` for a fitted word-analyzer Count/TfidfVectorizer, ~5x faster.

    Build it with `fast_vectorizer(vec)`, which caches one per vectorizer and
    rebuilds it when the vectorizer is refitted.
    """

    def __init__(self, vec: CountVectorizer) -> None:
        self.vec = vec
        self.signature = _signature(vec)
        self.exact = _supported(vec)
        if not self.exact:
            return
        self.vocabulary: dict[str, int] = vec.vocabulary_
        self.n_features = len(self.vocabulary)
        pattern = EQUIVALENT_PATTERNS.get(vec.token_pattern, vec.token_pattern)
        self._findall: Callable[[str], list[str]] = re.compile(pattern).findall
        self.lowercase = bool(vec.lowercase)
        self.min_n, self.max_n = (int(n) for n in vec.ngram_range)
        self.binary = bool(vec.binary)
        self.dtype = np.dtype(vec.dtype)
        self._tables: _NgramTables | None = None
        self._chars = _CharTables(self.vocabulary, self.min_n, self.max_n) if vec.analyzer == "char_wb" else None
        if self._chars is not None:
            self.exact = self._chars.usable
        # a word batch can be tokenised in one `findall` when the separator word is no
        # part of any known n-gram (then n-grams across documents are never counted)
        self.batchable = (
            self._chars is None
            and vec.token_pattern in BATCHABLE_PATTERNS
            and not any(_SEP_WORD in term for term in self.vocabulary)
        )
        self.sublinear = False
        self.idf: np.ndarray | None = None
        self.norm: str | None = None
        if isinstance(vec, TfidfVectorizer):
            self.sublinear = bool(vec.sublinear_tf)
            self.idf = np.asarray(vec.idf_) if vec.use_idf else None
            self.norm = vec.norm

    def _features(self, doc: str) -> list[str]:
        """The n-gram strings of one document, as sklearn's `_word_ngrams` makes them (order aside)."""
        if self.lowercase:
            doc = doc.lower()
        toks: list[str] = self._findall(doc)
        min_n, max_n = self.min_n, self.max_n
        if max_n == 1:
            return toks
        feats = list(toks) if min_n == 1 else []
        join = " ".join
        for n in range(max(min_n, 2), min(max_n, len(toks)) + 1):
            feats += map(join, zip(*(toks[k:] for k in range(n)), strict=False))
        return feats

    def _ids_by_document(self, docs: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(row, feature id or -1) of every n-gram, tokenising one document at a time."""
        get = self.vocabulary.get
        ids: list[int] = []
        lens: list[int] = []
        for doc in docs:
            before = len(ids)
            ids += map(get, self._features(doc), repeat(-1))
            lens.append(len(ids) - before)
        return np.repeat(np.arange(len(lens), dtype=np.int64), lens), np.array(ids, dtype=np.int64)

    def _ids_batched(self, docs: Sequence[str]) -> tuple[np.ndarray, np.ndarray] | None:
        """As `_ids_by_document`, with one `findall` and C-level n-gram maps for the whole batch.

        None when a document contains the separator word (then the batch goes
        document by document).
        """
        joined = _SEP.join(map(str.lower, docs) if self.lowercase else docs)
        if joined.count(_SEP_WORD) != len(docs) - 1:
            return None
        toks: list[str] = self._findall(joined)
        if self._tables is None:
            self._tables = _NgramTables(self.vocabulary, self.min_n, self.max_n)
        if self._tables.usable:
            return self._tables.lookup(toks)
        # the separator tokens end the documents; row of every token position
        ends: list[int] = []
        at = -1
        for _ in range(len(docs) - 1):
            at = toks.index(_SEP_WORD, at + 1)
            ends.append(at + 1)
        ends.append(len(toks))
        tok_row = np.repeat(np.arange(len(docs), dtype=np.int64), np.diff(ends, prepend=0))
        get = self.vocabulary.get
        rows: list[np.ndarray] = []
        ids: list[int] = []
        join = " ".join
        for n in range(self.min_n, self.max_n + 1):
            if n > len(toks):
                break
            grams = toks if n == 1 else map(join, zip(*(toks[k:] for k in range(n)), strict=False))
            ids += map(get, grams, repeat(-1))  # n-grams across documents hold the separator: -1
            rows.append(tok_row[: len(toks) - n + 1])
        row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        return row, np.array(ids, dtype=np.int64)

    def counts(self, docs: Sequence[str]) -> csr_matrix:
        """Term counts (CountVectorizer semantics, incl. `binary`), rows with sorted indices."""
        if not self.exact:
            return self._sklearn_counts(docs)
        n_docs, n_feat = len(docs), self.n_features
        if self._chars is not None:
            row, col = self._chars.lookup(docs, self.lowercase)
        else:
            found = self._ids_batched(docs) if self.batchable and n_docs > 1 else None
            row, col = found if found is not None else self._ids_by_document(docs)
        known = col >= 0
        keys, cnt = _count_keys(row[known] * n_feat + col[known])
        rows = keys // n_feat
        indptr = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n_docs), out=indptr[1:])
        index_dtype = np.int32 if len(keys) < np.iinfo(np.int32).max else np.int64
        data = np.ones(len(keys), dtype=self.dtype) if self.binary else cnt.astype(self.dtype)
        return csr_matrix(
            (data, (keys - rows * n_feat).astype(index_dtype), indptr.astype(index_dtype)),
            shape=(n_docs, n_feat),
        )

    def transform(self, docs: Sequence[str]) -> csr_matrix:
        """Same matrix as `vec.transform(docs)`."""
        if not self.exact or not docs:  # sklearn refuses an empty batch: so do we, in its words
            return csr_matrix(self.vec.transform(docs))
        x = self.counts(docs)
        if self.sublinear:
            np.log(x.data, x.data)
            x.data += 1.0
        if self.idf is not None:
            x.data *= self.idf[x.indices]
        if self.norm is not None:
            x = normalize(x, norm=self.norm, copy=False)
        return x

    def _sklearn_counts(self, docs: Sequence[str]) -> csr_matrix:
        vec = self.vec
        if isinstance(vec, TfidfVectorizer):
            return csr_matrix(CountVectorizer.transform(vec, docs))
        return csr_matrix(vec.transform(docs))


def _count_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`np.unique(keys, return_counts=True)` for non-negative keys, ~2x faster on these.

    The keys arrive as runs sorted by row (each n-gram length is one pass over
    the batch). Keys that fit in int32 (batches of a few hundred texts) go
    through numpy's SIMD quicksort; larger ones through its stable sort
    (timsort), which exploits the runs where the default quicksort does not.
    """
    if len(keys) == 0:
        return keys, np.zeros(0, dtype=np.int64)
    if keys.max() < 2**31:  # int32 keys sort ~30 % faster (SIMD quicksort)
        keys = np.sort(keys.astype(np.int32)).astype(np.int64)
    else:
        keys = np.sort(keys, kind="stable")
    first = np.empty(len(keys), dtype=bool)
    first[0] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return keys[starts], np.diff(starts, append=len(keys))


class _NgramTables:
    """The fitted vocabulary as token ids, so n-grams are looked up without building their strings.

    With a whole batch's tokens mapped to ids in one C-level `map`, the
    n-grams of every length are integer keys (ids in base `n_tokens`) looked
    up with `searchsorted` in numpy: joining and hashing each n-gram string
    cost more than tokenising. Only for batchable token patterns, whose tokens
    hold no space, so a vocabulary term splits back into its tokens at " ".
    """

    def __init__(self, vocabulary: dict[str, int], min_n: int, max_n: int) -> None:
        self.min_n, self.max_n = min_n, max_n
        token_id: dict[str, int] = {}
        terms = [(term.split(" "), fid) for term, fid in vocabulary.items()]
        for toks, _ in terms:
            for tok in toks:
                token_id.setdefault(tok, len(token_id))
        token_id[_SEP_WORD] = -2  # ends a document; unknown tokens are -1
        self.token_id = token_id
        self.n_tokens = t = max(len(token_id), 1)
        self.usable = t**max_n < 2**62  # the keys fit in int64
        keys: dict[int, list[int]] = {n: [] for n in range(min_n, max_n + 1)}
        fids: dict[int, list[int]] = {n: [] for n in range(min_n, max_n + 1)}
        for toks, fid in terms:
            if len(toks) in keys and self.usable:
                key = 0
                for tok in toks:
                    key = key * t + token_id[tok]
                keys[len(toks)].append(key)
                fids[len(toks)].append(fid)
        # unigrams: feature id straight from the token id (-1: the token is no unigram feature)
        self.unigram = np.full(t, -1, dtype=np.int64)
        if 1 in keys:
            self.unigram[np.array(keys[1], dtype=np.int64)] = np.array(fids[1], dtype=np.int64)
        self.keys: dict[int, np.ndarray] = {}
        self.fids: dict[int, np.ndarray] = {}
        for n in keys:
            k = np.array(keys[n], dtype=np.int64)
            order = np.argsort(k)
            self.keys[n] = k[order]
            self.fids[n] = np.array(fids[n], dtype=np.int64)[order]

    def lookup(self, toks: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(row, feature id) of every known n-gram of a batch tokenised with separators."""
        tid = np.array(list(map(self.token_id.get, toks, repeat(-1))), dtype=np.int64)
        is_sep = tid == -2
        tok_row = np.cumsum(is_sep) - is_sep
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        for n in range(self.min_n, self.max_n + 1):
            m = len(tid) - n + 1
            if m <= 0:
                break
            key = tid[:m].copy()
            ok = key >= 0
            for k in range(1, n):
                part = tid[k : k + m]
                ok &= part >= 0
                key = key * self.n_tokens + part
            key, row = key[ok], tok_row[:m][ok]
            if n == 1:
                fid = self.unigram[key]
                known = fid >= 0
                rows.append(row[known])
                cols.append(fid[known])
                continue
            table = self.keys[n]
            if len(table) == 0:
                continue
            at = np.minimum(np.searchsorted(table, key), len(table) - 1)
            hit = table[at] == key
            rows.append(row[hit])
            cols.append(self.fids[n][at[hit]])
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(rows), np.concatenate(cols)


class _CharTables:
    """A fitted `char_wb` vocabulary as a character trie, so a batch's n-grams never become strings.

    sklearn's `char_wb` pads every whitespace-separated word with one space on
    each side and takes the n-grams inside the padded word. Written as one
    string, " w1 w2 … " (words joined by single spaces, a space at each end,
    documents back to back), those are exactly the windows with no space
    *inside* them (a window reaching into a neighbouring word has one). No
    vocabulary term has an inner space, so walking a trie of the terms from
    every position finds exactly sklearn's n-grams: a window with an inner
    space, an unknown character, or across two documents (two adjacent spaces)
    falls off the trie. A padded word shorter than n yields no n-gram (sklearn
    stops at n = its length, which it emits once, also a window), which needs
    `min_n <= 3`, the shortest padded word. (Single characters are not
    reproduced: sklearn counts the space between two words twice, once per
    padded word, so `min_n >= 2`.)

    Characters are numbered by the vocabulary's own alphabet (0 = in no term).
    Level L of the trie is a dense table: node of depth L times the alphabet
    size plus the next character gives the node of depth L + 1 (or -1), so each
    step for all windows of a batch is one gather. Tables that would be too
    large (a huge alphabet) leave `usable` False, and sklearn does the work.
    """

    MAX_CELLS = 16_000_000  # int32 cells over all levels: 64 MB at most

    def __init__(self, vocabulary: dict[str, int], min_n: int, max_n: int) -> None:
        self.min_n, self.max_n = min_n, max_n
        alphabet = sorted({ord(ch) for term in vocabulary for ch in term})
        self.base = base = len(alphabet) + 1
        self.lut = np.zeros(max(alphabet, default=0) + 1, dtype=np.int32)  # code point -> character id
        self.lut[np.array(alphabet, dtype=np.int64)] = np.arange(1, base, dtype=np.int32)
        char_id = {c: i + 1 for i, c in enumerate(alphabet)}
        # node ids per depth: the distinct prefixes of the terms
        nodes: list[dict[str, int]] = [{"": 0}]
        for depth in range(1, max_n + 1):
            prefixes = sorted({t[:depth] for t in vocabulary if len(t) >= depth})
            nodes.append({p: i for i, p in enumerate(prefixes)})
        self.usable = sum(len(nodes[d]) * base for d in range(max_n)) <= self.MAX_CELLS
        self.steps: list[np.ndarray] = []  # steps[d]: node at depth d * base + char -> node at depth d + 1
        self.features: list[np.ndarray] = []  # features[d]: node at depth d + 1 -> feature id or -1
        if not self.usable:
            return
        for depth in range(max_n):
            step = np.full(max(len(nodes[depth]), 1) * base, -1, dtype=np.int32)
            for prefix, node in nodes[depth + 1].items():
                step[nodes[depth][prefix[:-1]] * base + char_id[ord(prefix[-1])]] = node
            self.steps.append(step)
            feature = np.full(max(len(nodes[depth + 1]), 1), -1, dtype=np.int64)
            for prefix, node in nodes[depth + 1].items():
                feature[node] = vocabulary.get(prefix, -1)
            self.features.append(feature)

    def lookup(self, docs: Sequence[str], lowercase: bool) -> tuple[np.ndarray, np.ndarray]:
        """(row, feature id) of every known n-gram of the batch."""
        laid = [" " + " ".join((d.lower() if lowercase else d).split()) + " " for d in docs]
        lens = np.fromiter(map(len, laid), dtype=np.int64, count=len(laid))
        raw = np.frombuffer("".join(laid).encode("utf-32-le"), dtype=np.uint32)
        lut = self.lut
        ids = lut[np.minimum(raw, len(lut) - 1)]
        ids[raw >= len(lut)] = 0
        m_all = len(ids)
        pos_row = np.repeat(np.arange(len(docs), dtype=np.int32), lens)
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        start = np.arange(m_all, dtype=np.int64)
        node = np.zeros(m_all, dtype=np.int32)
        for depth in range(self.max_n):
            # windows one character longer: those whose next character continues some term
            nxt = start + depth
            inside = nxt < m_all
            start, node, nxt = start[inside], node[inside], nxt[inside]
            node = self.steps[depth][node * self.base + ids[nxt]]
            alive = node >= 0
            start, node = start[alive], node[alive]
            if not len(start):
                break
            if depth + 1 >= self.min_n:
                fid = self.features[depth][node]
                hit = fid >= 0
                rows.append(pos_row[start[hit]])
                cols.append(fid[hit])
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(rows).astype(np.int64), np.concatenate(cols)


_CACHE: weakref.WeakKeyDictionary[CountVectorizer, FastVectorizer] = weakref.WeakKeyDictionary()


def fast_vectorizer(vec: CountVectorizer) -> FastVectorizer:
    """The cached `FastVectorizer` of a fitted vectorizer, built on first use (nothing is pickled)."""
    fv = _CACHE.get(vec)
    if fv is None or fv.signature != _signature(vec):
        fv = FastVectorizer(vec)
        _CACHE[vec] = fv
    return fv
