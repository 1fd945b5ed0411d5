"""The query language's limits: a query past them is refused with the limit and the place, before the
parser recurses or the compiler builds a predicate every mention would run."""

from __future__ import annotations

import pytest

from hubbub.listening.query_language import MAX_DEPTH, MAX_LENGTH, MAX_TERMS, QuerySyntaxError, parse


def test_a_query_at_the_limits_is_accepted() -> None:
    deep = "(" * (MAX_DEPTH - 1) + "NOT delay" + ")" * (MAX_DEPTH - 1)
    assert parse(deep).matches("on time") and not parse(deep).matches("a delay")
    many = " OR ".join(f"w{i}" for i in range(MAX_TERMS))
    assert parse(many).matches(f"w{MAX_TERMS - 1}")


def test_one_level_too_deep_is_refused_where_it_starts() -> None:
    query = "a " + "(" * (MAX_DEPTH + 1) + "b" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(QuerySyntaxError) as exc:
        parse(query)
    assert exc.value.message.startswith("nested too deeply") and exc.value.position == 2 + MAX_DEPTH


def test_one_term_too_many_is_refused_at_that_term() -> None:
    query = " ".join(f"w{i}" for i in range(MAX_TERMS + 1))
    with pytest.raises(QuerySyntaxError) as exc:
        parse(query)
    assert exc.value.message.startswith("too many terms") and query[exc.value.position :] == f"w{MAX_TERMS}"


def test_a_query_too_long_is_refused_before_it_is_read() -> None:
    with pytest.raises(QuerySyntaxError) as exc:
        parse("x" * (MAX_LENGTH + 1))
    assert exc.value.message.startswith("too long") and exc.value.position == MAX_LENGTH
