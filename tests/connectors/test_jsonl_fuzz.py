"""Whatever a JSON Lines line holds, the parser answers with an event or a reason, and what `accept()` keeps of
an event is JSON that both databases store and orjson reads back: the class of row that stalled ingest."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from hubbub.connectors.csv_import import ParseStats, _jsonl_rows
from hubbub.db import dumps_json
from hubbub.ingest.normalise import normalise

ANY_CHAR = st.characters(exclude_categories=())  # surrogates and NUL included
ANY_TEXT = st.text(ANY_CHAR, max_size=40)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=20,
)
FIELDS = st.sampled_from(
    ["id", "text", "created_at", "brand", "author_id", "author_name", "followers", "retweets", "likes", "direction"]
)


def _rows(lines: list[str]):  # type: ignore[no-untyped-def]
    return list(_jsonl_rows(Path("f.jsonl"), iter(lines), "", set(), ParseStats([], 0)))


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(FIELDS | ANY_TEXT, JSON_VALUES, max_size=10), ANY_TEXT)
def test_any_object_becomes_an_event_or_a_reason_and_its_event_is_storable(obj, text):
    base = {"id": "1", "text": "hi", "created_at": "2026-11-01T10:00:00Z", "brand": "Acme", "author_id": "a"}
    line = json.dumps(base | obj | ({"text": text} if text.strip() else {}))
    (row,) = _rows([line])
    assert (row.event is None) == bool(row.error) and row.line == 1
    if row.event is not None:
        stored = dumps_json(normalise(row.event).to_payload())  # what accept() writes: orjson refuses the unstorable
        assert "\\u0000" not in stored  # PostgreSQL refuses a NUL in jsonb
        assert orjson.loads(stored)["external_id"] == row.event.external_id  # and it reads back


@settings(max_examples=150, deadline=None)
@given(st.text(ANY_CHAR, min_size=1, max_size=200).filter(lambda s: "\n" not in s and "\r" not in s and s.strip()))
def test_any_line_of_text_becomes_one_row_and_never_stops_the_file(line):
    rows = _rows([line, json.dumps({"id": "2", "text": "after", "created_at": 0, "brand": "b", "author_id": "a"})])
    assert len(rows) == 2 and rows[0].line == 1
    assert rows[1].event is not None  # the next line is read whatever the first held
