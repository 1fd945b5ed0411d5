"""The listening query language: what a brand listens for, in one line.

    (delay OR delayed OR "late flight") AND @united NOT #united4ever lang:en

* `AND`, `OR`, `NOT` (upper case), parentheses; adjacent terms mean AND;
  `-term` is short for `NOT term`. Precedence: NOT > AND > OR.
* `keyword` matches case-insensitively on word boundaries ("delay" does not
  match "delayed"); `delay*` is a prefix wildcard ("delay", "delayed", "delays").
* `"exact phrase"` matches those words in order, any whitespace between them.
* `#hashtag` and `@handle` match the tag or handle as a whole token.
* `lang:xx` matches the mention's language (`lang:en` also matches `en-GB`);
  `network:x` its network. A mention with no language/network fails them.

A query is bounded: at most `MAX_LENGTH` characters, `MAX_TERMS` terms and `MAX_DEPTH` levels of
parentheses and NOTs. Matching runs for every mention and the parser and compiler recurse, so an unbounded
query (thousands of terms, 5,000 nested parentheses) would slow every batch or overflow the stack; no real
query comes near these limits, and a longer one gets a `QuerySyntaxError` saying which limit and where.

`parse()` compiles once to regexes and closures; `Query.matches()` is called for
every mention of the ingest pipeline and backtests, so it does a cheap
lowercase substring check before any regex. Errors carry a character offset
so the query editor can underline the spot.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Query", "QuerySyntaxError", "parse"]

MAX_LENGTH = 2_000  # characters
MAX_TERMS = 100  # keywords, phrases, #tags, @handles, lang:, network:
MAX_DEPTH = 20  # nested parentheses and NOTs

_KEYWORDS = {"AND", "OR", "NOT"}
_BREAK = set(' \t\r\n\f\v()"')  # characters that end a bare term


class QuerySyntaxError(ValueError):
    """A query that cannot be parsed. `position` is the 0-based character offset of the problem."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at {position}")
        self.message = message
        self.position = position


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # "(", ")", "AND", "OR", "NOT", "TERM", "PHRASE", "EOF"
    value: str
    pos: int


def _tokenise(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "()":
            toks.append(_Tok(c, c, i))
            i += 1
        elif c == '"':
            j = text.find('"', i + 1)
            if j < 0:
                raise QuerySyntaxError("unclosed quote", i)
            toks.append(_Tok("PHRASE", text[i + 1 : j], i))
            i = j + 1
        else:
            j = i
            while j < n and text[j] not in _BREAK and not text[j].isspace():
                j += 1
            word = text[i:j]
            if word in _KEYWORDS:
                toks.append(_Tok(word, word, i))
            elif word.startswith("-") and len(word) > 1:
                toks.append(_Tok("NOT", "-", i))
                toks.append(_Tok("TERM", word[1:], i + 1))
            elif word == "-" and j < n and text[j] in '("':
                toks.append(_Tok("NOT", "-", i))
            else:
                toks.append(_Tok("TERM", word, i))
            i = j
    toks.append(_Tok("EOF", "", n))
    return toks


# --------------------------------------------------------------------------- AST


@dataclass(frozen=True, slots=True)
class _Term:
    kind: str  # keyword | phrase | hashtag | handle | lang | network
    value: str  # normalised (lowercase)
    wildcard: bool = False

    def show(self) -> str:
        if self.kind == "phrase":
            return f'"{self.value}"'
        if self.kind in ("lang", "network"):
            return f"{self.kind}:{self.value}"
        return self.value + ("*" if self.wildcard else "")


@dataclass(frozen=True, slots=True)
class _Not:
    child: _Node


@dataclass(frozen=True, slots=True)
class _And:
    children: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Or:
    children: tuple[_Node, ...]


_Node = _Term | _Not | _And | _Or


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenise(text)
        self.i = 0
        self.depth = 0  # parentheses and NOTs open around the current token
        terms = [t for t in self.toks if t.kind in ("TERM", "PHRASE")]
        if len(terms) > MAX_TERMS:
            raise QuerySyntaxError(f"too many terms (at most {MAX_TERMS}); split the query", terms[MAX_TERMS].pos)

    def nest(self, t: _Tok) -> None:
        """Enter a parenthesis or a NOT; refuse nesting deeper than `MAX_DEPTH`."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QuerySyntaxError(f"nested too deeply (at most {MAX_DEPTH} parentheses and NOTs)", t.pos)

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def parse(self) -> _Node:
        if self.peek().kind == "EOF":
            raise QuerySyntaxError("empty query", 0)
        node = self.or_expr(after=None)
        t = self.peek()
        if t.kind == ")":
            raise QuerySyntaxError("unexpected closing parenthesis", t.pos)
        if t.kind != "EOF":  # pragma: no cover - or_expr consumes every other token
            raise QuerySyntaxError(f"unexpected {t.value!r}", t.pos)
        return node

    def or_expr(self, after: _Tok | None) -> _Node:
        parts = [self.and_expr(after)]
        while self.peek().kind == "OR":
            op = self.take()
            parts.append(self.and_expr(op))
        return parts[0] if len(parts) == 1 else _Or(tuple(parts))

    def and_expr(self, after: _Tok | None) -> _Node:
        parts = [self.unary(after)]
        while True:
            t = self.peek()
            if t.kind == "AND":
                op = self.take()
                parts.append(self.unary(op))
            elif t.kind in ("TERM", "PHRASE", "NOT", "("):
                parts.append(self.unary(None))
            else:
                break
        return parts[0] if len(parts) == 1 else _And(tuple(parts))

    def unary(self, after: _Tok | None) -> _Node:
        t = self.peek()
        if t.kind == "NOT":
            op = self.take()
            self.nest(op)
            child = self.unary(op)
            self.depth -= 1
            return _Not(child)
        return self.primary(after)

    def primary(self, after: _Tok | None) -> _Node:
        t = self.peek()
        if t.kind == "(":
            self.take()
            self.nest(t)
            if self.peek().kind == ")":
                raise QuerySyntaxError("empty parentheses", t.pos)
            if self.peek().kind == "EOF":
                raise QuerySyntaxError("unclosed parenthesis", t.pos)
            node = self.or_expr(None)
            if self.peek().kind != ")":
                raise QuerySyntaxError("unclosed parenthesis", t.pos)
            self.take()
            self.depth -= 1
            return node
        if t.kind == "TERM":
            self.take()
            return _make_term(t.value, t.pos)
        if t.kind == "PHRASE":
            self.take()
            words = t.value.split()
            if not words:
                raise QuerySyntaxError("empty phrase", t.pos)
            return _Term("phrase", " ".join(w.lower() for w in words))
        where = t.pos
        if after is not None:
            label = "NOT" if after.value == "-" else after.kind
            raise QuerySyntaxError(f"expected a term after {label}", where)
        if t.kind == ")":
            raise QuerySyntaxError("unexpected closing parenthesis", where)
        if t.kind in ("AND", "OR"):
            raise QuerySyntaxError(f"expected a term before {t.kind}", where)
        raise QuerySyntaxError("expected a term", where)


_LANG = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})*")
_NET = re.compile(r"[a-z0-9_.-]+")


def _make_term(raw: str, pos: int) -> _Term:
    low = raw.lower()
    if low.startswith("lang:"):
        v = low[5:]
        if not _LANG.fullmatch(v):
            raise QuerySyntaxError("lang: needs a language code like lang:en", pos)
        return _Term("lang", v)
    if low.startswith("network:"):
        v = low[8:]
        if not _NET.fullmatch(v):
            raise QuerySyntaxError("network: needs a network name like network:x", pos)
        return _Term("network", v)
    wildcard = low.endswith("*")
    if wildcard:
        low = low.rstrip("*")
    if "*" in low:
        raise QuerySyntaxError("a wildcard * is only allowed at the end of a term", pos + raw.index("*"))
    if low.startswith("#"):
        if len(low) < 2:
            raise QuerySyntaxError("empty hashtag", pos)
        return _Term("hashtag", low, wildcard)
    if low.startswith("@"):
        if len(low) < 2:
            raise QuerySyntaxError("empty handle", pos)
        return _Term("handle", low, wildcard)
    if not low:
        raise QuerySyntaxError("a wildcard needs a prefix, like delay*", pos)
    return _Term("keyword", low, wildcard)


# ----------------------------------------------------------------------- compile

_Pred = Callable[[str, str, str], bool]  # (lowercased text, lang, network) -> bool


def _term_regex(t: _Term) -> re.Pattern[str]:
    if t.kind == "phrase":
        body = r"\s+".join(re.escape(w) for w in t.value.split(" "))
    else:
        body = re.escape(t.value)
    # a term that starts/ends with a word character must not continue a longer word;
    # #tags and @handles must not be glued to a preceding word or @ either
    left = (
        r"(?<![\w@#])"
        if t.kind in ("hashtag", "handle")
        else (r"(?<!\w)" if body[:1].isalnum() or body[:1] == "_" else "")
    )
    right = r"\w*" if t.wildcard else (r"(?!\w)" if (t.value[-1:].isalnum() or t.value[-1:] == "_") else "")
    return re.compile(left + body + right)


def _compile(node: _Node) -> _Pred:
    """Compile the tree into one flat lambda (generated source, no nested calls).

    Only regex objects and string constants go into the namespace and the
    source refers to them by generated names, so query text never becomes code.
    """
    ns: dict[str, object] = {}

    def expr(n: _Node) -> str:
        if isinstance(n, _Term):
            name = f"v{len(ns)}"
            if n.kind == "lang":
                ns[name] = n.value
                ns[name + "p"] = n.value + "-"
                return f"(lang == {name} or lang.startswith({name}p))"
            if n.kind == "network":
                ns[name] = n.value
                return f"(net == {name})"
            ns[name] = n.value.split(" ")[0]
            ns[name + "r"] = _term_regex(n).search
            return f"({name} in low and {name}r(low) is not None)"
        if isinstance(n, _Not):
            return f"(not {expr(n.child)})"
        sep = " and " if isinstance(n, _And) else " or "
        return "(" + sep.join(expr(c) for c in n.children) + ")"

    source = "lambda low, lang, net: " + expr(node)
    fn = eval(compile(source, "<listening-query>", "eval"), {"__builtins__": {}, **ns})  # noqa: S307
    return fn  # type: ignore[no-any-return]


def _show(node: _Node, top: bool = True) -> str:
    if isinstance(node, _Term):
        return node.show()
    if isinstance(node, _Not):
        return "NOT " + _show(node.child, False)
    sep = " AND " if isinstance(node, _And) else " OR "
    s = sep.join(_show(c, False) for c in node.children)
    return s if top else f"({s})"


@dataclass(slots=True)
class Query:
    """A parsed, compiled listening query. Build with `parse()`."""

    source: str
    _root: _Node = field(repr=False)
    _pred: _Pred = field(repr=False)

    def matches(self, text: str, lang: str | None = None, network: str | None = None) -> bool:
        """Whether a mention matches. `lang`/`network` are compared case-insensitively."""
        return self._pred(
            text.lower() if text else "",
            lang.lower() if lang else "",
            network.lower() if network else "",
        )

    def terms(self) -> list[str]:
        """Positive text terms (keywords, phrases, #tags, @handles) for highlighting, in query order.

        Terms under an odd number of NOTs are left out: they never appear in a match.
        """
        out: list[str] = []

        def walk(n: _Node, negated: bool) -> None:
            if isinstance(n, _Term):
                if not negated and n.kind not in ("lang", "network"):
                    s = n.value + ("*" if n.wildcard else "")
                    if s not in out:
                        out.append(s)
            elif isinstance(n, _Not):
                walk(n.child, not negated)
            else:
                for c in n.children:
                    walk(c, negated)

        walk(self._root, False)
        return out

    def normalised(self) -> str:
        """A canonical spelling (explicit AND, parentheses) to show what the parser understood."""
        return _show(self._root)

    def __str__(self) -> str:
        return self.source


def parse(query: str) -> Query:
    """Parse and compile a query; raise `QuerySyntaxError` (with `.position`) if it is malformed."""
    if not isinstance(query, str):
        raise TypeError("query must be a string")
    if len(query) > MAX_LENGTH:
        raise QuerySyntaxError(f"too long (at most {MAX_LENGTH:,} characters); split the query", MAX_LENGTH)
    root = _Parser(query).parse()
    return Query(query, root, _compile(root))
