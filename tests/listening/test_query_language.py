"""The listening query language, as an analyst writing queries would notice it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubbub.listening.query_language import QuerySyntaxError, parse


def test_keywords_match_whole_words_case_insensitively() -> None:
    q = parse("delay")
    assert q.matches("Another DELAY at ORD")
    assert not q.matches("we were delayed")


def test_trailing_wildcard_matches_word_prefixes() -> None:
    q = parse("delay*")
    assert q.matches("we were delayed") and q.matches("delays again")
    assert not q.matches("no relay")


def test_boolean_operators_parentheses_and_implicit_and() -> None:
    q = parse('(delay* OR "late flight") @united NOT #united4ever')
    assert q.matches("@united Late   Flight again")
    assert not q.matches("@united delayed #united4ever")
    assert not q.matches("@unitedx delayed")
    assert not q.matches("delayed, no handle")


def test_hashtags_handles_lang_and_network() -> None:
    q = parse("#fail lang:en network:x")
    assert q.matches("what an #Fail", lang="en-GB", network="X")
    assert not q.matches("what an #Fail", lang="es", network="x")
    assert not q.matches("what an #failure", lang="en", network="x")
    assert not q.matches("#fail", lang=None, network="x")


def test_minus_is_short_for_not() -> None:
    assert parse("refund -thanks").matches("refund please")
    assert not parse("refund -thanks").matches("refund thanks")


def test_terms_lists_positive_terms_for_highlighting() -> None:
    q = parse('(delay* OR "late flight") @united NOT #united4ever lang:en')
    assert q.terms() == ["delay*", "late flight", "@united"]


@pytest.mark.parametrize(
    ("query", "message", "position"),
    [
        ("delay AND (late OR", "expected a term after OR", 18),
        ("delay AND (late OR x", "unclosed parenthesis", 10),
        ("a OR", "expected a term after OR", 4),
        ("NOT", "expected a term after NOT", 3),
        ("late )", "unexpected closing parenthesis", 5),
        ('refund "late flight', "unclosed quote", 7),
        ("", "empty query", 0),
        ("OR a", "expected a term before OR", 0),
        ("a lang:", "lang: needs a language code", 2),
    ],
)
def test_syntax_errors_point_at_the_problem(query: str, message: str, position: int) -> None:
    with pytest.raises(QuerySyntaxError) as err:
        parse(query)
    assert err.value.position == position
    assert message in str(err.value)
    assert str(err.value).endswith(f"at {position}")


WORDS = st.sampled_from(["delay", "refund", "crew", "bag", "lost", "#fail", "@united", '"late flight"', "seat*"])
TEXTS = st.lists(
    st.sampled_from(["delay", "refund", "crew", "bag", "lost", "#fail", "@united", "late flight", "seats", "ok"]),
    max_size=8,
).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(WORDS, WORDS, TEXTS)
def test_or_and_not_follow_boolean_logic(a: str, b: str, text: str) -> None:
    ma, mb = parse(a).matches(text), parse(b).matches(text)
    assert parse(f"{a} OR {b}").matches(text) == (ma or mb)
    assert parse(f"{a} AND {b}").matches(text) == (ma and mb)
    assert parse(f"{a} {b}").matches(text) == (ma and mb)
    assert parse(f"NOT {a}").matches(text) == (not ma)
    assert parse(f"NOT ({a} OR {b})").matches(text) == (not (ma or mb))


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.sampled_from(list('ab ()"#@*:-') + [" AND ", " OR ", " NOT ", "lang:", "x"]), max_size=15).map("".join)
)
def test_any_string_parses_or_raises_a_positioned_error(query: str) -> None:
    try:
        q = parse(query)
    except QuerySyntaxError as err:
        assert 0 <= err.position <= len(query)
    else:
        q.matches("a b x")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.text(max_size=60))
def test_arbitrary_unicode_never_crashes(query: str, text: str) -> None:
    try:
        q = parse(query)
    except QuerySyntaxError:
        return
    assert isinstance(q.matches(text, lang="en", network="x"), bool)
