"""Nothing but reading the file stops an import: every row's error is the row's, quarantined with its line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hubbub.connectors.csv_import import parse_jsonl
from hubbub.inbox.models import Message
from hubbub.ingest.importing import run_import
from hubbub.ingest.models import QuarantinedEvent, RawEvent
from hubbub.ingest.services import accept
from tests.conftest import DATA

pytestmark = pytest.mark.django_db


def _mention(i: int, **kw: object) -> str:
    row = {"id": f"m{i}", "text": f"mention {i}", "created_at": "2026-11-01T10:00:00Z", "brand": "Acme Air"}
    return json.dumps(row | {"author_id": f"u{i}"} | kw)


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "mentions.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ('{"id": "x", "meta": ' + "[" * 5000 + "]" * 5000 + "}", "JSON nested too deep"),
        (_mention(99, created_at=1e308), "out of range as epoch seconds"),
        (_mention(99, retweets=2**64), "retweets out of range"),
        (_mention(99, likes="lots"), "likes must be a number"),
        (_mention(99, author_name=["a", "list"]), "author_name must be a string, not a list"),
        (_mention(99, brand="b" * 300), "brand name too long"),
    ],
)
def test_rows_before_and_after_a_poison_line_are_imported(acme, tmp_path, bad_line, reason):
    path = _write(tmp_path, [_mention(1), _mention(2), bad_line, _mention(3)])
    summary = run_import(acme["org"].pk, "jsonl", path)
    assert (summary.imported, summary.rejected) == (3, 1)
    assert Message.objects.count() == 3
    entry = QuarantinedEvent.objects.get()
    assert entry.location == "mentions.jsonl:3" and reason in entry.reason


def test_bytes_that_are_not_utf8_reject_their_line_only(acme, tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(_mention(1).encode() + b'\n{"id": "m2", "text": "caf\xe9"}\n' + _mention(3).encode() + b"\n")
    summary = run_import(acme["org"].pk, "jsonl", path)
    assert (summary.imported, summary.rejected) == (2, 1)
    entry = QuarantinedEvent.objects.get()
    assert entry.reason == "invalid UTF-8: byte 0xe9 at column 26"
    assert "caf\\xe9" in entry.raw  # the byte as it was, readable


def test_a_lone_surrogate_or_nul_is_repaired_and_the_mention_imported(acme, tmp_path):
    path = _write(
        tmp_path, [_mention(1, text="broken \ud800 emoji"), _mention(2, text="nul\x00 here", author_name="a\x00b")]
    )
    summary = run_import(acme["org"].pk, "jsonl", path)
    assert summary.imported == 2 and not RawEvent.objects.filter(state="pending").exists()
    assert sorted(Message.objects.values_list("text", flat=True)) == ["broken \ufffd emoji", "nul here"]


def test_a_count_beyond_any_column_in_a_csv_export_is_capped_not_fatal(acme, tmp_path):
    header, first = (DATA / "airline_sample.csv").read_text().splitlines()[:2]
    cells = first.split(",")
    retweet_col = header.split(",").index("retweet_count")
    cells[retweet_col] = "1e400"
    path = tmp_path / "a.csv"
    path.write_text(header + "\n" + ",".join(cells) + "\n")
    summary = run_import(acme["org"].pk, "airline", path)
    assert summary.imported == 1
    assert Message.objects.get().retweets == 2**31 - 1


def test_rerunning_an_import_processes_rows_an_earlier_run_left_pending(acme, tmp_path):
    """An earlier run accepted the rows and died before processing them: the re-run gets them to the inbox."""
    org = acme["org"]
    path = _write(tmp_path, [_mention(1), _mention(2), _mention(3)])
    _, rows = parse_jsonl(path)
    accept(org.pk, [r.event for r in rows if r.event is not None], "import:jsonl")
    assert RawEvent.objects.filter(state="pending").count() == 3 and not Message.objects.exists()

    summary = run_import(org.pk, "jsonl", path)

    assert (summary.imported, summary.duplicates) == (3, 0)
    assert Message.objects.count() == 3
    assert not RawEvent.objects.filter(state="pending").exists()


def test_a_row_the_database_refuses_is_rejected_and_the_rest_of_its_chunk_stored(acme, tmp_path, monkeypatch):
    """Whatever slips past the parser and `accept()`'s normalisation costs its own row, not the chunk's."""
    from hubbub.ingest import importing

    real_accept = importing.accept

    def refusing(org_id, events, source):  # type: ignore[no-untyped-def]
        if any(ev.external_id == "m2" for ev in events):
            raise ValueError("value too long for type character varying(200)")
        return real_accept(org_id, events, source)

    monkeypatch.setattr(importing, "accept", refusing)
    summary = run_import(acme["org"].pk, "jsonl", _write(tmp_path, [_mention(1), _mention(2), _mention(3)]))

    assert (summary.imported, summary.rejected) == (2, 1)
    assert sorted(Message.objects.values_list("external_id", flat=True)) == ["m1", "m3"]
    entry = QuarantinedEvent.objects.get()
    assert entry.location == "mentions.jsonl:2" and entry.reason.startswith("could not be stored: ValueError")


def test_a_brand_field_of_any_shape_never_breaks_brand_creation(acme, tmp_path):
    lines = [
        _mention(1, brand="New Brand", brand_account={"an": "object"}),
        _mention(2, brand="Other", brand_account="h" * 500),
    ]
    summary = run_import(acme["org"].pk, "jsonl", _write(tmp_path, lines))
    assert summary.imported == 2
    assert set(acme["org"].brands.values_list("slug", flat=True)) >= {"new-brand", "other"}
    assert Message.objects.count() == 2
