"""The fast prediction path gives exactly what sklearn and the plain regexes give.

`fastvec.FastVectorizer` re-implements sklearn's word-analyzer `transform`, and
`features.top_contributions` / `scan.PatternSet` replace slower code; if any of
them drifts from the reference (a new sklearn, a new token pattern, a retrained
vocabulary), labels change silently. These tests compare them with the
reference on real tweets and on hostile input.
"""

from __future__ import annotations

import csv
import random
import re

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse import random as sparse_random
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from hubbub.analysis import cues, features
from hubbub.analysis.fastvec import _SEP_WORD, EQUIVALENT_PATTERNS, fast_vectorizer
from hubbub.analysis.features import CUE_NAMES, MAX_CHARS, cue_flags, normalise, top_contributions
from hubbub.analysis.model import HubbubModel
from hubbub.analysis.scan import PatternSet
from hubbub.analysis.urgency import RISK_PATTERNS, URGENCY_PATTERNS, risk_reasons
from tests.conftest import DATA

NASTY = [
    "",
    " ",
    "\n\t  \r\n",
    "🙂🙂🙂 ✈️🧳",
    "!!!???...,,,;;--",
    "'''",
    "<p>Flight <b>cancelled</b> &amp; no refund &lt;3 &gt;:( &quot;great&quot;</p><script>x()</script>",
    "Мой рейс отменили, багаж потерян. Ужасно!",
    "航班延误了三个小时，太糟糕了",
    "رحلتي تأخرت ولم يساعدني أحد",
    "ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ İstanbul ß straße ǅ ΣΑΣ",
    "not good, not not bad... don't can't won't never again!!! @a @b @c @d http://t.co/x www.x.com",
    "#hashtag @user httpurl a@b x#y @@z ##w rock'n'roll' it's'",
    "_under_score_ __ _ neg_good no'body it'not",
    "tab\tseparated\nnew\x00line\x00",
    f"{_SEP_WORD} in the text {_SEP_WORD}",
    "thank you " * 5000,
    "x" * 50_000,
    "lawyer " + "y" * (MAX_CHARS + 10) + " sue again",
]


def _sample_texts() -> list[str]:
    with (DATA / "airline_sample.csv").open(encoding="utf-8", newline="") as fh:
        airline = [r["text"] for r in csv.DictReader(fh)]
    with (DATA / "twcs_sample.csv").open(encoding="utf-8", newline="") as fh:
        twcs = [r["text"] for r in csv.DictReader(fh)]
    return airline + twcs + NASTY


def _assert_same(fast: csr_matrix, ref: csr_matrix) -> None:
    ref = csr_matrix(ref)
    assert fast.shape == ref.shape
    assert fast.dtype == ref.dtype
    assert np.array_equal(fast.indptr, ref.indptr)
    assert np.array_equal(fast.indices, ref.indices)
    assert np.allclose(fast.data, ref.data, rtol=0, atol=1e-7)


def test_shipped_vectorizers_match_sklearn(shipped_model: HubbubModel) -> None:
    texts = _sample_texts()
    norm = [normalise(t) for t in texts]
    marked = [features._mark_negation(t) for t in norm]
    word = shipped_model.featurizer.word
    topic = shipped_model.topic.vectorizer
    lexicon = shipped_model.featurizer.lexicon.vectorizer
    _assert_same(fast_vectorizer(word).transform(norm), word.transform(norm))
    _assert_same(fast_vectorizer(topic).transform(norm), topic.transform(norm))
    _assert_same(fast_vectorizer(lexicon).counts(marked), lexicon.transform(marked))
    # one document at a time, and the nasty ones alone, take the per-document path
    for doc in [normalise(t) for t in NASTY]:
        _assert_same(fast_vectorizer(word).transform([doc]), word.transform([doc]))
    with pytest.raises(ValueError):
        fast_vectorizer(word).transform([])  # as sklearn does
    assert fast_vectorizer(word).counts([]).shape == (0, len(word.vocabulary_))


def test_the_feature_matrix_matches_sklearn(shipped_model: HubbubModel) -> None:
    feat = shipped_model.featurizer
    texts = _sample_texts()
    norm = [normalise(t) for t in texts]
    x, _, _ = feat.transform_all(texts)
    ref_word = feat.word.transform(norm)
    _assert_same(feat.word_block(x), ref_word.astype(np.float32))
    start = feat.feature_names.index(CUE_NAMES[0])  # an optional word-vector block may follow the cues
    cues = x[:, start : start + len(CUE_NAMES)].toarray() / feat.cue_scale
    assert np.array_equal(cues, _reference_cues(texts))


_DOCS = [
    "The cat sat on the mat!! Didn't it? #cats @owner",
    "the MAT was red; the cat wasn't...",
    "Ünïcödé wörds, ünïcödé again 123 4-5",
    "",
    "cat cat cat mat mat the the the the",
]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ngram_range": (1, 3), "sublinear_tf": True},
        {"ngram_range": (2, 3)},
        {"ngram_range": (1, 2), "binary": True, "use_idf": False, "norm": "l1"},
        {"ngram_range": (1, 1), "lowercase": False, "token_pattern": r"(?u)\b\w\w+\b"},
        {"token_pattern": r"(?u)[@#]?\b\w[\w']*\b|[!?]+|[^\w\s]{1}", "ngram_range": (1, 2), "dtype": np.float32},
        {"token_pattern": r"\S+", "ngram_range": (1, 2)},  # not batchable: document by document
        {"stop_words": ["the"], "ngram_range": (1, 2)},  # not reproduced: sklearn's own transform
        {"analyzer": "char_wb", "ngram_range": (2, 3)},
    ],
)
def test_any_fitted_configuration_matches_sklearn(kwargs: dict[str, object]) -> None:
    vec = TfidfVectorizer(**kwargs).fit(_DOCS)  # type: ignore[arg-type]
    docs = _DOCS + [normalise(t) for t in NASTY]
    _assert_same(fast_vectorizer(vec).transform(docs), vec.transform(docs))
    counts = CountVectorizer(**{k: v for k, v in kwargs.items() if k not in ("sublinear_tf", "use_idf", "norm")})
    counts.fit(_DOCS)  # type: ignore[arg-type]
    _assert_same(fast_vectorizer(counts).counts(docs), counts.transform(docs))


def test_a_refitted_vectorizer_is_not_served_from_the_cache() -> None:
    vec = TfidfVectorizer(ngram_range=(1, 2)).fit(_DOCS[:2])
    before = fast_vectorizer(vec).transform(_DOCS)
    vec.fit(_DOCS[2:])
    after = fast_vectorizer(vec).transform(_DOCS)
    _assert_same(after, vec.transform(_DOCS))
    assert before.shape != after.shape


def _reference_cues(texts: list[str]) -> np.ndarray:
    """The cue flags as they were computed before the single-pass scan: one search per cue."""
    pats = [cues.QUESTION, cues.SUGGEST, cues.SPAM, cues.THANKS, cues.PROBLEM, cues.CHATTER]
    low_pats = [re.compile(p.pattern) for p in pats]
    out = np.zeros((len(texts), len(CUE_NAMES)))
    for i, t in enumerate(texts):
        low = t[:MAX_CHARS].lower()
        q, sug, spam, thanks, problem, chatter = (p.search(low) is not None for p in low_pats)
        out[i] = [q, sug, spam, thanks, "http" in low or "www." in low, low.count("@") >= 4, problem, chatter]
    return out


def _fuzz_texts(n: int) -> list[str]:
    rng = random.Random(7)
    words = (
        "thank thanks ty kudos dm dm'd again still never fly flying cancel my cancelling switching to lawyer sue "
        "hurt fire smoke hack news follow back me you should add would be nice how about why not for only $ "
        "get 5 months #contest keeps waiting for hours done with 3rd time every time last time i goodbye"
    ).split()
    noise = ["x", "é", "_", "'", "!", "?", "\n", "a1", "@", "#", "-", "", "ing"]
    return [rng.choice(["", " "]).join(rng.choice(words + noise) for _ in range(rng.randint(0, 14))) for _ in range(n)]


def test_the_cue_flags_match_one_search_per_cue() -> None:
    texts = _sample_texts() + _fuzz_texts(5000)
    assert np.array_equal(cue_flags(texts), _reference_cues(texts))


def test_risk_words_match_one_search_per_category() -> None:
    for t in _sample_texts() + _fuzz_texts(5000):
        low = t.lower()
        assert risk_reasons(t) == [name for name, p in RISK_PATTERNS.items() if re.compile(p.pattern).search(low)]


def test_pattern_set_equals_separate_searches() -> None:
    patterns = dict(URGENCY_PATTERNS) | {
        "question": cues.QUESTION.pattern,  # not a word list: searched on its own
        "single": r"\b(again)\b",
        "classy": r"\b([a-c]at|dog)\b",
        "quantified first": r"\b(s?hout|x)\b",
    }
    ps = PatternSet(patterns)
    compiled = [re.compile(p) for p in patterns.values()]
    for t in _sample_texts() + _fuzz_texts(5000) + ["bat dog hout shout"]:
        low = t.lower()
        assert ps.flags(low) == [p.search(low) is not None for p in compiled], low


def _reference_top_contributions(
    x: csr_matrix, weights: np.ndarray, classes: np.ndarray, names: np.ndarray, allowed: np.ndarray, k: int
) -> list[list[str]]:
    """What `top_contributions` means, row by row: best contributions first, ties in column order."""
    out: list[list[str]] = []
    for i in range(x.shape[0]):
        lo, hi = x.indptr[i], x.indptr[i + 1]
        ranked: list[tuple[float, int, str]] = []
        for pos, (j, value) in enumerate(zip(x.indices[lo:hi], x.data[lo:hi], strict=True)):
            if weights.shape[0] == 1:  # binary: the single row counts for class 1, against class 0
                contribution = float(value) * (float(weights[0, j]) * (1.0 if classes[i] == 1 else -1.0))
            else:  # same float32 arithmetic as the matrix product
                contribution = float(value * weights[classes[i], j])
            if contribution > 0 and j < len(allowed) and allowed[j]:
                ranked.append((-contribution, pos, str(names[j])))
        words = [name for _, _, name in sorted(ranked)]
        best = list(dict.fromkeys(words[: 2 * k]))[:k]
        if len(best) < k and len(words) > 2 * k:
            best = list(dict.fromkeys(words))[:k]
        out.append(best)
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_classes", [1, 4])
def test_top_contributions_match_the_reference(dtype: type, n_classes: int) -> None:
    rng = np.random.default_rng(3)
    n_rows, n_cols = 300, 60
    x = csr_matrix(sparse_random(n_rows, n_cols, density=0.3, random_state=4, dtype=np.float64).astype(dtype))
    x.data[::7] = x.data[1::7][: len(x.data[::7])]  # ties
    weights: np.ndarray = rng.normal(size=(n_classes, n_cols + 3)).astype(dtype)
    weights[:, 5] = weights[:, 6]  # equal contributions for equal values
    classes = rng.integers(0, 2 if n_classes == 1 else n_classes, n_rows)
    names = np.array([f"f{j % 17}" for j in range(n_cols)], dtype=object)  # many duplicate names
    allowed = rng.random(n_cols) > 0.1
    for k in (1, 3, 5):
        assert top_contributions(x, weights, classes, names, allowed, k) == _reference_top_contributions(
            x, weights, classes, names, allowed, k
        )
    empty = csr_matrix((0, n_cols), dtype=dtype)
    assert top_contributions(empty, weights, classes[:0], names, allowed, 3) == []


def test_gated_normalisation_and_negation_match_the_plain_substitutions() -> None:
    negators = features._NEGATORS.split("|")
    rng = random.Random(11)
    extra = ["good", "bad", "x1", "no'body", "_not", "é", "'", "\n", "not!", "dont's", "&amp;", "&gt;", "@a", "www.x"]
    fuzz = [" ".join(rng.choice(negators + extra) for _ in range(rng.randint(0, 10))) for _ in range(5000)]
    for t in _sample_texts() + fuzz:
        ref = t[:MAX_CHARS]
        for bad, good in features._ARTEFACTS:
            ref = ref.replace(bad, good)
        ref = features._MENTION.sub(
            " @user ", features._URL.sub(" httpurl ", features._ENT.sub(" ", features._AMP.sub("&", ref)))
        )
        assert normalise(t) == ref.lower()
        norm = normalise(t)
        plain = features._NEG_SCOPE.sub(
            lambda m: m.group(0).replace(m.group(1), features._NEG_WORD.sub(r"neg_\1", m.group(1))), norm
        )
        assert features._mark_negation(norm) == (plain if "n" in norm else norm)


@pytest.mark.parametrize("pattern", sorted(EQUIVALENT_PATTERNS))
def test_the_faster_token_patterns_find_the_same_tokens(pattern: str) -> None:
    rng = random.Random(5)
    alphabet = "ab'@#!? \t\n.,_é1ß😀-"
    fuzz = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(30_000)]
    slow, fast = re.compile(pattern), re.compile(EQUIVALENT_PATTERNS[pattern])
    for t in _sample_texts() + fuzz:
        assert fast.findall(t) == slow.findall(t), t


@pytest.mark.parametrize("ngram_range", [(2, 5), (3, 5), (2, 3), (3, 3)])
@pytest.mark.parametrize("lowercase", [True, False])
def test_character_ngrams_match_sklearn(ngram_range: tuple[int, int], lowercase: bool) -> None:
    """The topic model's `char_wb` block: same matrix as sklearn on real tweets and hostile text."""
    texts = _sample_texts()
    vec = TfidfVectorizer(
        analyzer="char_wb", ngram_range=ngram_range, min_df=2, lowercase=lowercase, sublinear_tf=True, dtype=np.float32
    ).fit(texts[:400])
    fast = fast_vectorizer(vec)
    assert fast.exact  # served by the fast path, not by the sklearn fallback
    extra = ["a", "ab", "a b c", " x ", "İstanbul ǅ ß", "e\u0301", "tab\tx\u00a0y\u2003z\u3000w", "  ", "x\x00y"]
    probe = texts + extra
    _assert_same(fast.transform(probe), vec.transform(probe))
    for doc in extra + NASTY:  # one document alone, and documents made only of unknown characters
        _assert_same(fast.transform([doc]), vec.transform([doc]))


def test_single_characters_fall_back_to_sklearn() -> None:
    """sklearn counts the space between two words twice (once per padded word): not reproduced, so not used."""
    texts = _sample_texts()
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3)).fit(texts[:200])
    fast = fast_vectorizer(vec)
    assert not fast.exact
    _assert_same(fast.transform(texts[:50]), vec.transform(texts[:50]))
