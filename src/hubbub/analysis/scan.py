"""Which of several word-list regexes occur in a text, in one regex pass.

The cue flags (features.py) and the urgency risk words (urgency.py) are a dozen
patterns of the form `\\b(alt1|alt2|...)\\b`. Searched one by one, each costs
~2 µs on a tweet whatever it contains: Python's `re` has no literal prefix to
skip to, so it tries every position, and at every word start it walks all the
alternatives. `PatternSet` compiles them into one pattern that
1. at each word boundary, asks one lookahead whose alternatives are all the
   patterns' alternatives grouped by their first character (so a word start
   that begins none of them costs one dispatch), and only where that succeeds
2. tries each pattern in its own capturing lookahead, to tell which occur.
The answer is exactly `[p.search(text) is not None for p in patterns]`
(`tests/analysis/test_scan.py` checks it on real and fuzzed text); a pattern
that is not of that form is simply searched on its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["PatternSet"]

_WORD_LIST = re.compile(r"\\b\((?P<alts>.*)\)\\b", re.S)
_CAPTURING = re.compile(r"(?<!\\)\((?!\?)")


def _top_level_alternatives(body: str) -> list[str] | None:
    """`body` split at its top-level `|`; None when it has character classes or unbalanced groups."""
    out: list[str] = []
    depth, start, i = 0, 0, 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":  # a class may hold "(", ")" or "|": not worth parsing, search on its own
            return None
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                return None
        elif c == "|" and depth == 0:
            out.append(body[start:i])
            start = i + 1
        i += 1
    if depth != 0:
        return None
    out.append(body[start:])
    return out


def _split(pattern: str) -> list[str] | None:
    """The alternatives of a `\\b(a|b|...)\\b` pattern whose every alternative starts with a plain character."""
    m = _WORD_LIST.fullmatch(pattern)
    if m is None:
        return None
    alts = _top_level_alternatives(m.group("alts"))
    # regrouping by first character needs a plain first character that no quantifier applies to
    if alts is None or any(not (a[:1].isalnum() or a[:1] in "#@ _-'") or a[1:2] in ("?", "*", "+", "{") for a in alts):
        return None
    try:  # the alternatives must stand on their own, with no group that others could refer to
        if re.compile(_CAPTURING.sub("(?:", "|".join(alts))).groups:
            return None
    except re.error:
        return None
    return alts


class PatternSet:
    """`found(text)` = names of the patterns that `search` would find in `text`, in the given order.

    Patterns are applied case-sensitively, as written (callers lower-case the
    text and write lower-case patterns, as the cue and risk regexes do).
    """

    def __init__(self, patterns: Mapping[str, str]) -> None:
        self.names = list(patterns)
        combinable: dict[str, list[str]] = {}
        self._alone: list[tuple[int, re.Pattern[str]]] = []
        for i, (name, pattern) in enumerate(patterns.items()):
            alts = _split(pattern)
            if alts is None:
                self._alone.append((i, re.compile(pattern)))
            else:
                combinable[name] = alts
        self._slots: list[int] = [self.names.index(n) for n in combinable]
        self._combined: re.Pattern[str] | None = None
        if combinable:
            by_first: dict[str, list[str]] = {}
            for alts in combinable.values():
                for a in alts:
                    by_first.setdefault(a[0], []).append(_CAPTURING.sub("(?:", a[1:]))
            gate = "|".join(f"{re.escape(c)}(?:{'|'.join(rest)})" for c, rest in by_first.items())
            each = "".join(f"(?:(?=((?:{_CAPTURING.sub('(?:', '|'.join(alts))})\\b))|)" for alts in combinable.values())
            self._combined = re.compile(rf"\b(?=(?:{gate})\b){each}")

    def flags(self, text: str) -> list[bool]:
        """One bool per pattern, in the order given: does `search` find it in `text`?"""
        hit = [False] * len(self.names)
        if self._combined is not None:
            # one tuple per position where some pattern starts, "" for the ones that don't
            # (a found pattern's group is never empty: every alternative starts with a character)
            found = self._combined.findall(text)
            if found:
                if len(self._slots) == 1:
                    hit[self._slots[0]] = True
                else:
                    for slot, column in zip(self._slots, zip(*found, strict=True), strict=True):
                        hit[slot] = any(column)
        for i, p in self._alone:
            hit[i] = p.search(text) is not None
        return hit

    def found(self, text: str) -> list[str]:
        """Names of the patterns found in `text`, in the order given."""
        return [n for n, h in zip(self.names, self.flags(text), strict=True) if h]
