"""What a negative spike is about: its top terms and three sample posts (issue 17, item 4).

Pure python, like the detectors. A supervisor woken by an alert must see at a glance
whether it is a storm, a lost-bag wave or one angry thread, without opening the
war room. The stream keeps its last negative posts (`StreamState.neg_texts`); when
a spike fires, the posts since the burst began are compared with the older ones, and
the terms that rose most (documents containing the term in the burst, minus what the
older posts' rate predicts) name it. The samples are the burst's posts that carry the
most top terms, distinct, newest first among equals.

Computed only when an alert fires, so the per-mention cost is one deque append.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

__all__ = ["burst_summary", "terms_of"]

TOP_TERMS = 5
SAMPLES = 3
BACKGROUND = 100  # older posts the burst's terms are compared with
_TOKEN = re.compile(r"(?<![@\w'’-])[#\w][\w'’-]*")  # not after "@": handles are not terms
_STOPWORDS: frozenset[str] | None = None


def _stopwords() -> frozenset[str]:
    """The war room's stop words, loaded on the first alert: the backtest CLI must start fast."""
    global _STOPWORDS
    if _STOPWORDS is None:
        from hubbub.listening.stopwords import STOPWORDS

        _STOPWORDS = STOPWORDS
    return _STOPWORDS


@lru_cache(maxsize=8192)
def terms_of(text: str) -> frozenset[str]:
    """The distinct content words of a post: no @handles, links, numbers, stop words or 1-2 letter words.

    Cached: consecutive alerts of a stream look at mostly the same recent posts.
    """
    stop = _stopwords()
    return frozenset(
        w
        for w in (m.strip("'’-") for m in _TOKEN.findall(text.lower()))
        if len(w) > 2
        and w not in stop
        and not w.isdigit()
        and not w.startswith(("http", "www", "t.co"))
        and (w[0] != "#" or w[1:] not in stop)
    )


def burst_summary(posts: Sequence[tuple[float, str]], since: float) -> tuple[list[str], list[str]]:
    """(top terms, sample posts) of the negative posts at or after `since`, against the `BACKGROUND`
    posts just before it (`posts` in time order)."""
    i = len(posts)
    while i and posts[i - 1][0] >= since:
        i -= 1
    burst = [(text, terms_of(text)) for _, text in itertools.islice(posts, i, None)]
    before: Counter[str] = Counter()
    n_before = 0
    for _, text in itertools.islice(posts, max(i - BACKGROUND, 0), i):
        before.update(terms_of(text))
        n_before += 1
    if not burst:
        return [], []
    counts: Counter[str] = Counter()
    for _, words in burst:
        counts.update(words)
    n = len(burst)

    def lift(term: str) -> float:
        expected = before[term] / n_before * n if n_before else 0.0
        return counts[term] - expected

    ranked = sorted((t for t, c in counts.items() if c >= 2 or n < 4), key=lambda t: (-lift(t), -counts[t], t))
    terms = [t for t in ranked if lift(t) > 0][:TOP_TERMS]
    top = set(terms)
    seen: set[str] = set()
    samples: list[str] = []
    order = sorted(range(n), key=lambda i: (-len(burst[i][1] & top), -i))
    for i in order:
        text = burst[i][0]
        if text in seen:
            continue
        seen.add(text)
        samples.append(text)
        if len(samples) == SAMPLES:
            break
    return terms, samples
