"""Importers: real files import cleanly; every kind of bad input is quarantined and counted."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from hubbub.inbox.models import Conversation, Message
from hubbub.ingest.importing import run_import
from hubbub.ingest.models import QuarantinedEvent
from hubbub.tenancy.models import Brand
from tests.conftest import DATA

pytestmark = pytest.mark.django_db


def test_airline_import_creates_brands_and_conversations_and_is_idempotent(acme):
    org = acme["org"]
    rows = list(csv.DictReader((DATA / "airline_sample.csv").open(newline="", encoding="utf-8")))
    summary = run_import(org.pk, "airline", DATA / "airline_sample.csv")
    assert summary.read == len(rows)
    assert summary.imported == len(rows) and summary.rejected == 0
    assert Brand.objects.filter(organization=org, slug="virgin-america").exists()
    stored = Message.objects.count()
    assert stored == len(rows)
    again = run_import(org.pk, "airline", DATA / "airline_sample.csv")
    assert again.imported == 0 and again.duplicates == len(rows)
    assert Message.objects.count() == stored


def test_twcs_import_threads_brand_replies_as_outbound(acme):
    org = acme["org"]
    summary = run_import(org.pk, "twcs", DATA / "twcs_sample.csv")
    assert summary.imported > 350
    out = Message.objects.filter(direction="out")
    assert out.exists()
    # tweet 1 (sprintcare) answers tweet 3 from customer 115712: same conversation
    reply = Message.objects.get(external_id="1")
    assert reply.direction == "out"
    assert reply.conversation.author.handle == "115712"
    assert reply.conversation.first_response_at is not None
    assert Brand.objects.filter(organization=org, slug="sprintcare").exists()


def _write(tmp_path: Path, name: str, content: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(content)
    return p


def test_jsonl_bad_input_is_quarantined_with_reasons(acme, tmp_path):
    org = acme["org"]
    huge = "x" * 60_000
    lines = [
        json.dumps(
            {
                "id": "1",
                "text": "<script>alert(1)</script> hi",
                "created_at": "2026-11-01T10:00:00Z",
                "brand": "Acme Air",
                "author_id": "u1",
                "mood": "unknown field",
            }
        ),
        "{not json",
        json.dumps(
            {"id": "2", "text": "", "created_at": "2026-11-01T10:00:00Z", "brand": "Acme Air", "author_id": "u2"}
        ),
        json.dumps({"id": "3", "text": huge, "created_at": 1762000000, "brand": "Acme Air", "author_id": "u3"}),
        json.dumps(
            {"id": "1", "text": "dup", "created_at": "2026-11-01T10:00:00Z", "brand": "Acme Air", "author_id": "u1"}
        ),
        json.dumps({"id": "4", "text": "no time", "brand": "Acme Air", "author_id": "u4"}),
        json.dumps(
            {"id": "5", "text": "bad time", "created_at": "yesterday-ish", "brand": "Acme Air", "author_id": "u5"}
        ),
        json.dumps(["not", "an", "object"]),
        json.dumps(
            {"id": "6", "text": "older", "created_at": "2026-10-01T10:00:00Z", "brand": "Acme Air", "author_id": "u1"}
        ),
    ]
    path = _write(tmp_path, "m.jsonl", ("\n".join(lines) + "\n").encode() + "caf\xe9".encode("cp1252") + b"\n")
    summary = run_import(org.pk, "jsonl", path)
    assert summary.imported == 3
    assert summary.duplicates == 1
    assert summary.rejected == 6  # bad json, empty, no time, bad time, not an object, cp1252 line (not json)
    assert "mood" in summary.unknown_columns
    reasons = " ".join(QuarantinedEvent.objects.values_list("reason", flat=True))
    assert "empty text" in reasons and "no date" in reasons and "bad date: 'yesterday-ish'" in reasons
    long_msg = Message.objects.get(external_id="3")
    assert len(long_msg.text) == 50_000
    conv = Conversation.objects.get(author__handle="u1")
    assert conv.first_message_at.month == 10  # the older message arrived later but sorts first


def test_airline_file_with_wrong_encoding_and_broken_rows(acme, tmp_path):
    org = acme["org"]
    header = (DATA / "airline_sample.csv").read_text().splitlines()[0] + ",extra_col"
    good = (
        "570306133677760999,negative,1.0,Late Flight,1.0,United,,caf\xe9fan,,0,"
        '"@united late again, 3 hours",,2015-02-24 11:35:52 -0800,,,x'
    )
    broken = "notanid,negative,1.0,,,United,,bob,,0,hi,,2015-02-24 11:35:52 -0800,,,x"
    empty = "570306133677760998,neutral,1.0,,,United,,bob,,0,,,2015-02-24 11:35:52 -0800,,,x"
    badtime = "570306133677760997,neutral,1.0,,,United,,bob,,0,hello,,31/02/2015,,,x"
    path = _write(tmp_path, "a.csv", "\n".join([header, good, broken, empty, badtime]).encode("cp1252"))
    summary = run_import(org.pk, "airline", path)
    assert summary.imported == 1 and summary.rejected == 3
    assert summary.unknown_columns == ["extra_col"]
    assert Message.objects.get().author.handle == "caféfan"


def test_not_an_airline_file_is_a_clear_error(acme, tmp_path):
    path = _write(tmp_path, "x.csv", b"a,b\n1,2\n")
    with pytest.raises(ValueError, match="missing column"):
        run_import(acme["org"].pk, "airline", path)


def test_jsonl_streams_gzip_keeps_line_separators_in_text_and_drops_nul(acme, tmp_path):
    """Files are read line by line from disk (a full export does not fit in memory twice); a U+2028 inside a
    message is text, not a line break (it used to split the object in two), and NUL bytes are dropped."""
    import gzip

    org = acme["org"]
    lines = [
        {"id": "g1", "text": "first line\u2028second line of the same tweet", "brand": "Acme", "author_id": "a"},
        {"id": "g2", "text": "bad\x00byte but a fine complaint", "brand": "Acme", "author_id": "b"},
    ]
    for obj in lines:
        obj["created_at"] = "2026-11-01T10:00:00Z"
    body = "\r\n".join(json.dumps(obj, ensure_ascii=False) for obj in lines).replace("\\u0000", "\x00") + "\r\n"
    path = tmp_path / "mentions.jsonl.gz"
    path.write_bytes(gzip.compress(body.encode()))
    summary = run_import(org.pk, "jsonl", path)
    assert (summary.imported, summary.rejected) == (2, 0)
    assert Message.objects.get(external_id="g1").text == "first line\u2028second line of the same tweet"
    assert Message.objects.get(external_id="g2").text == "badbyte but a fine complaint"


def test_twcs_reads_the_file_twice_not_into_memory_and_threads_the_same(acme, tmp_path):
    """The two-pass reader (links first, rows second) finds the same brand for a customer tweet whose reply
    comes later in the file, and for one that only @mentions the brand."""
    org = acme["org"]
    path = _write(
        tmp_path,
        "t.csv",
        b"tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\r\n"
        b"10,cust1,True,Tue Oct 31 22:10:47 +0000 2017,my parcel is lost,11,\r\n"
        b"12,cust2,True,Tue Oct 31 22:12:00 +0000 2017,@AcmeHelp where is my refund?,,\r\n"
        b"11,AcmeHelp,False,Tue Oct 31 22:11:00 +0000 2017,@cust1 sorry! DM us,,10\r\n",
    )
    summary = run_import(org.pk, "twcs", path)
    assert (summary.imported, summary.rejected) == (3, 0)
    assert {m.conversation.brand.slug for m in Message.objects.all()} == {"acmehelp"}
    assert Message.objects.get(external_id="11").conversation == Message.objects.get(external_id="10").conversation


def test_the_mention_import_returns_the_report_every_import_returns(acme, tmp_path):
    """`hubbub import jsonl` answers like `hubbub import customers|surveys`: an `ImportReport`, the same
    summary keys under --json, the same printed line, and bad rows quarantined as `file:line`."""
    from typer.testing import CliRunner

    from hubbub.cli import app
    from hubbub.importreport import ImportReport

    rows = [
        {"id": "r1", "text": "hello", "created_at": "31/12/2026 10:00", "brand": "Acme Air", "author_id": "u1"},
        {"id": "r2", "text": "late", "created_at": "tomorrow", "brand": "Acme Air", "author_id": "u2"},
        {"id": "r1", "text": "hello", "created_at": "31/12/2026 10:00", "brand": "Acme Air", "author_id": "u1"},
    ]
    path = _write(tmp_path, "m.jsonl", "\n".join(json.dumps(r) for r in rows).encode() + b"\n")
    report = run_import(acme["org"].pk, "jsonl", path)
    assert isinstance(report, ImportReport)
    assert (report.read, report.imported, report.duplicates, report.rejected) == (3, 1, 1, 1)
    assert report.reasons == {"bad date": 1}
    bad = QuarantinedEvent.objects.get(source="import:jsonl")
    assert bad.location == "m.jsonl:2" and bad.reason.startswith("bad date: 'tomorrow'") and '"r2"' in bad.raw
    res = CliRunner().invoke(app, ["import", "jsonl", str(path), "--org", "acme", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert set(summary) == {
        "read",
        "imported",
        "updated",
        "rejected",
        "duplicates",
        "rejection_reasons",
        "unknown_columns",
    }
    assert (summary["imported"], summary["duplicates"], summary["rejected"]) == (0, 2, 1)  # all seen before
    res = CliRunner().invoke(app, ["import", "jsonl", str(path), "--org", "acme"])
    assert res.exit_code == 0 and "imported 0  duplicates 2  rejected 1" in res.output and "bad date" in res.output
