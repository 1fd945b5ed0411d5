"""`hubbub import surveys FILE`: real exports read, bad rows quarantined, re-import idempotent."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from hubbub.crm.models import Customer
from hubbub.dates import parse_datetime
from hubbub.ingest.models import QuarantinedEvent
from hubbub.insights import importing
from hubbub.insights.models import Scale, SurveyResponse
from hubbub.tenancy.models import AuditEvent

LONG = "The refund took forever. " * 250  # 6,250 characters

MESSY = (
    "Response ID,Submitted At,Customer E-mail,CSAT,Verbatim,Channel,Brand,Region\n"
    'R1,2026-03-01 10:00,ann@example.com,5,"Great service, thanks!",email,Acme Air,EU\n'
    "R2,2026-03-02T11:30:00Z,BOB@Example.com,1,My bag was lost and nobody answered,web,acme-air,US\n"
    "R3,03/03/2026,,,no score here,web,,EU\n"
    "R4,2026-03-04,,7,too high for CSAT,web,,EU\n"
    "R5,yesterday,,3,meh,web,,EU\n"
    "R6,2026-03-05,,4,fine,app,Unknown Brand,EU\n"
    "R2,2026-03-02,bob@example.com,1,the same response twice,web,,US\n"
    f'R7,2026-03-06,,2,"{LONG}",web,,EU\n'
    ",,,,,,,\n"
)


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def test_messy_export_counts_quarantine_reasons_and_truncation(acme, tmp_path) -> None:
    org = acme["org"]
    out = importing.run(org.pk, write(tmp_path, "csat.csv", MESSY))
    assert (out["imported"], out["updated"], out["duplicates"], out["rejected"]) == (3, 0, 1, 4)
    assert out["truncated"] == 1
    assert out["scale"] == "csat 1–5"
    assert out["unknown_columns"] == ["Region"]
    assert out["rejection_reasons"] == {"no score": 1, "score out of range": 1, "bad date": 1, "unknown brand": 1}
    reasons = sorted(
        QuarantinedEvent.objects.filter(organization=org, source="import:surveys").values_list("reason", "location")
    )
    assert [r for r, _ in reasons] == [
        "bad date: 'yesterday' is not a date (e.g. 2026-12-31, 31/12/2026 or 2026-12-31T14:05:00Z)",
        "comment cut to 5000 characters",
        "no score",
        "score out of range: 7 is not on the csat 1–5 scale",
        "unknown brand: Unknown Brand",
    ]
    assert ("no score", "csat.csv:4") in reasons
    cut = QuarantinedEvent.objects.get(organization=org, reason__startswith="comment cut")
    assert LONG.strip() in cut.raw  # nothing lost: the full text is kept in quarantine

    r1, r2, r7 = SurveyResponse.objects.filter(organization=org).order_by("external_id")
    assert (r1.score, r1.scale, r1.scale_min, r1.scale_max) == (Decimal(5), Scale.CSAT, 1, 5)
    assert r1.brand == acme["brands"]["Acme Air"] and r2.brand == acme["brands"]["Acme Air"] and r7.brand is None
    assert r1.submitted_at == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert r2.submitted_at == datetime(2026, 3, 2, 11, 30, tzinfo=UTC)
    assert (r1.channel, r2.email) == ("email", "bob@example.com")
    assert r2.comment == "My bag was lost and nobody answered"  # the first of two rows with one id wins
    assert r7.comment_truncated and len(r7.comment) == importing.MAX_COMMENT and not r1.comment_truncated
    # the comments carry the analysis labels of the engine the pipeline uses
    assert r1.sentiment == "positive" and r2.sentiment == "negative"
    assert r2.topic and r2.intent and r2.model_version
    audit = AuditEvent.objects.get(organization=org, verb="insights.import.surveys")
    assert audit.data["imported"] == 3 and audit.data["file"] == "csat.csv"


def test_reimport_updates_instead_of_duplicating(acme, tmp_path) -> None:
    org = acme["org"]
    path = write(tmp_path, "csat.csv", MESSY)
    importing.run(org.pk, path)
    path.write_text(
        MESSY.replace('R1,2026-03-01 10:00,ann@example.com,5,"Great service, thanks!"', "R1,2026-03-01,,4,ok")
    )
    out = importing.run(org.pk, path)
    assert (out["imported"], out["updated"], out["rejected"]) == (0, 3, 4)
    assert SurveyResponse.objects.filter(organization=org).count() == 3
    r1 = SurveyResponse.objects.get(organization=org, external_id="R1")
    assert (r1.score, r1.comment) == (Decimal(4), "ok")


def test_rows_without_ids_are_keyed_by_content(acme, tmp_path) -> None:
    org = acme["org"]
    path = write(tmp_path, "s.csv", "date,rating,feedback\n2026-01-01,4,good\n2026-01-02,2,slow delivery\n")
    assert importing.run(org.pk, path)["imported"] == 2
    again = importing.run(org.pk, path)
    assert (again["imported"], again["updated"]) == (0, 2)
    assert SurveyResponse.objects.filter(organization=org).count() == 2


def test_customers_linked_by_email_and_crm_id_within_the_organisation_only(acme, make_org, tmp_path) -> None:
    org = acme["org"]
    other = make_org("globex", brands=("Globex",))["org"]
    ann = Customer.objects.create(organization=org, name="Ann", email="ann@example.com")
    cy = Customer.objects.create(organization=org, name="Cy", external_id="C9")
    Customer.objects.create(organization=other, name="Bob elsewhere", email="bob@example.com")
    dee = Customer.objects.create(organization=org, name="Dee", email="dee@example.com")
    Customer.objects.create(organization=org, name="Dee (old)", email="dee.old@example.com", merged_into=dee)
    path = write(
        tmp_path,
        "s.csv",
        "id,date,score,email,customer_id\n"
        "a,2026-01-01,5,ANN@example.com,\n"
        "b,2026-01-01,1,bob@example.com,\n"
        "c,2026-01-01,3,,C9\n"
        "d,2026-01-01,4,dee.old@example.com,\n",
    )
    out = importing.run(org.pk, path)
    assert out["linked"] == 3
    links = dict(SurveyResponse.objects.filter(organization=org).values_list("external_id", "customer_id"))
    assert links == {"a": ann.pk, "b": None, "c": cy.pk, "d": dee.pk}  # a merged customer's survivor


def test_windows_1252_semicolon_nps_export(acme, tmp_path) -> None:
    org = acme["org"]
    text = (
        "Respondent ID;Timestamp;Likelihood to recommend (0-10);Feedback\n"
        "n1;01/03/2026 14:05;10;Très bien, équipe géniale\n"
        "n2;02/03/2026;0;Service client nul, remboursement refusé\n"
        "n3;02/03/2026;11;hors échelle\n"
    )
    out = importing.run(org.pk, write(tmp_path, "nps.csv", text, "cp1252"))
    assert (out["imported"], out["rejected"], out["scale"]) == (2, 1, "nps 0–10")
    n1 = SurveyResponse.objects.get(organization=org, external_id="n1")
    assert n1.comment == "Très bien, équipe géniale"
    assert n1.submitted_at == datetime(2026, 3, 1, 14, 5, tzinfo=UTC)  # day first, as a European export writes


def test_utf16_tab_export_with_a_scale_of_its_own_and_the_override(acme, tmp_path) -> None:
    org = acme["org"]
    text = "Response_ID\tCreated_At\tScore\tComment\nu1\t2026-02-01\t1\tbad\nu2\t2026-02-01\t7\tsuperb\n"
    path = write(tmp_path, "u16.csv", "\ufeff" + text, "utf-16-le")
    out = importing.run(org.pk, path)
    assert (out["imported"], out["scale"]) == (2, "other 1–7")
    out = importing.run(org.pk, path, scale="nps")
    assert (out["updated"], out["scale"]) == (2, "nps 0–10")
    assert set(SurveyResponse.objects.filter(organization=org).values_list("scale", flat=True)) == {Scale.NPS}


@pytest.mark.parametrize(
    ("low", "high", "kind"),
    [("1", "5", "csat"), ("0", "6", "nps"), ("1", "10", "nps"), ("1", "7", "other"), ("0", "100", "other")],
)
def test_scale_inferred_from_values(low: str, high: str, kind: str) -> None:
    assert importing.scale_from_values(Decimal(low), Decimal(high)).kind == kind


def test_scale_named_by_column_and_option() -> None:
    assert importing.scale_from_name("NPS score").kind == "nps"  # type: ignore[union-attr]
    assert importing.scale_from_name("Overall satisfaction").kind == "csat"  # type: ignore[union-attr]
    assert importing.scale_from_name("Rating") is None
    assert importing.parse_scale("1-7") == importing.ScaleSpec("other", Decimal(1), Decimal(7))
    with pytest.raises(ValueError, match="unknown scale"):
        importing.parse_scale("stars")


def test_score_and_date_spellings() -> None:
    assert [importing.parse_score(v) for v in ("4", "4,5", " 9/10 ", "80%")] == [
        Decimal(4),
        Decimal("4.5"),
        Decimal(9),
        Decimal(80),
    ]
    with pytest.raises(ValueError, match="score is not a number"):
        importing.parse_score("NaN")
    # dates go through the one parser of every import (tests/test_dates.py); surveys read 01/03 as 1 March
    assert parse_datetime("2026-03-01T10:00:00+02:00") == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert parse_datetime("13/01/2026", day_first=importing.DAY_FIRST) == datetime(2026, 1, 13, tzinfo=UTC)
    assert parse_datetime("01/13/2026 09:30", day_first=importing.DAY_FIRST) == datetime(2026, 1, 13, 9, 30, tzinfo=UTC)
    assert parse_datetime("01/03/2026", day_first=importing.DAY_FIRST) == datetime(2026, 3, 1, tzinfo=UTC)


def test_a_file_without_a_score_column_is_refused_with_the_accepted_names(acme, tmp_path) -> None:
    with pytest.raises(ValueError, match="no column for score"):
        importing.run(acme["org"].pk, write(tmp_path, "x.csv", "id,date,words\n1,2026-01-01,hi\n"))


def test_chunks_and_progress(acme, tmp_path) -> None:
    rows = "".join(f"r{i},2026-01-0{1 + i % 9},{1 + i % 5},\n" for i in range(25))
    seen: list[int] = []
    out = importing.run(
        acme["org"].pk,
        write(tmp_path, "s.csv", "id,date,csat,comment\n" + rows),
        chunk_size=10,
        on_progress=lambda done, _t: seen.append(done),
    )
    assert out["imported"] == 25 and seen == [10, 20, 25]


def test_cli_import_surveys(acme, tmp_path) -> None:
    from typer.testing import CliRunner

    from hubbub.cli import app

    path = write(tmp_path, "csat.csv", MESSY)
    res = CliRunner().invoke(app, ["import", "surveys", str(path), "--org", "acme", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert {k: summary[k] for k in ("imported", "updated", "duplicates", "rejected")} == {
        "imported": 3,
        "updated": 0,
        "duplicates": 1,
        "rejected": 4,
    }
    assert summary["unknown_columns"] == ["Region"] and summary["rejection_reasons"]["no score"] == 1

    res = CliRunner().invoke(app, ["import", "surveys", str(path), "--org", "acme", "--brand", "Acme Rail"])
    assert res.exit_code == 0, res.output
    r7 = SurveyResponse.objects.get(organization=acme["org"], external_id="R7")
    assert r7.brand == acme["brands"]["Acme Rail"]  # rows that name no brand take --brand

    bad = write(tmp_path, "bad.csv", "id,words\n1,hi\n")
    res = CliRunner().invoke(app, ["import", "surveys", str(bad), "--org", "acme"])
    assert res.exit_code == 1 and "no column for score" in res.output and "Traceback" not in res.output


SEVEN = "Response ID\tDate\tScore\tComment\n" + "".join(
    f"s{i}\t2026-03-0{1 + i % 7}\t{1 + i % 7}\tcomment {i}\n" for i in range(14)
)


def test_a_stream_imports_as_the_file_does_and_reads_the_values_scale_without_a_copy(
    acme, make_org, tmp_path, monkeypatch
) -> None:
    """The survey import reads from a file object (an upload, the API's rows): the score range that decides the
    scale is read from the same stream, which is then read again from its start — no temporary file."""
    import gzip
    import io
    import tempfile

    def no_temp_files(*_a: object, **_k: object) -> None:
        raise AssertionError("the survey import made a temporary copy of the file")

    for name in ("TemporaryDirectory", "NamedTemporaryFile", "mkstemp", "mkdtemp"):
        monkeypatch.setattr(tempfile, name, no_temp_files)
    data = SEVEN.encode("utf-16")
    raw = io.BytesIO(data)
    by_stream = importing.run_stream(acme["org"].pk, raw, "seven.tsv")
    assert not raw.closed  # the caller's stream is left to the caller
    assert (by_stream["imported"], by_stream["rejected"], by_stream["scale"]) == (14, 0, "other 1–7")

    path = tmp_path / "seven.tsv.gz"  # the CLI's path, gzipped: the same reader under it
    path.write_bytes(gzip.compress(data))
    other = make_org("other")
    by_file = importing.run(other["org"].pk, path)
    assert by_file == by_stream
    fields = ("external_id", "score", "scale", "scale_max", "comment")
    assert sorted(SurveyResponse.objects.filter(organization=acme["org"]).values_list(*fields)) == sorted(
        SurveyResponse.objects.filter(organization=other["org"]).values_list(*fields)
    )
