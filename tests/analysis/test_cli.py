"""`hubbub classify` copes with any CSV a user may hand it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import typer
from typer.testing import CliRunner

from hubbub.analysis.cli import analysis_app, classify
from hubbub.analysis.general_topics import GENERAL_TOPICS

app = typer.Typer()
app.command()(classify)
runner = CliRunner()


def _run(tmp_path: Path, content: bytes, *extra: str) -> tuple[int, list[dict[str, object]], str]:
    src = tmp_path / "in.csv"
    src.write_bytes(content)
    out = tmp_path / "out.jsonl"
    res = runner.invoke(app, ["--input", str(src), "--output", str(out), *extra])
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] if out.exists() else []
    return res.exit_code, rows, res.output


def test_one_json_object_per_row_in_order(tmp_path: Path) -> None:
    csv_text = (
        "id,text,extra\n"
        '1,"@united lost my bag again, worst airline",x\n'
        '2,"She said ""great flight"", and it was",y\n'
        '3,"line one\nline two, thanks!",z\n'
        "4,I love it 😍🔥✈️,w\n"
    )
    code, rows, _ = _run(tmp_path, csv_text.encode("utf-8"))
    assert code == 0
    assert [r["row"] for r in rows] == [1, 2, 3, 4]
    first = rows[0]
    for key in (
        "sentiment",
        "sentiment_score",
        "intent",
        "topic",
        "journey_stage",
        "urgency",
        "urgency_reasons",
        "confidence",
        "model_version",
    ):
        assert key in first
    # no brand context: the general care taxonomy, never an airline preset topic
    assert first["sentiment"] == "negative" and first["topic"] in GENERAL_TOPICS + ("other",)
    assert rows[3]["sentiment"] == "positive"


def test_empty_cells_get_an_error_object(tmp_path: Path) -> None:
    code, rows, _ = _run(tmp_path, b"text,other\nhello there,1\n,2\n   ,3\nbad service,4\n")
    assert code == 0
    assert len(rows) == 4
    assert rows[1] == {"row": 2, "error": "empty text"}
    assert rows[2] == {"row": 3, "error": "empty text"}
    assert "sentiment" in rows[3]


def test_short_rows_are_treated_as_empty(tmp_path: Path) -> None:
    code, rows, _ = _run(tmp_path, b"id,text\n1\n2,fine\n")
    assert code == 0 and rows[0]["error"] == "empty text" and rows[1]["row"] == 2


def test_bom_and_custom_column(tmp_path: Path) -> None:
    code, rows, _ = _run(tmp_path, "\ufeffbody\nworst delay ever\n".encode(), "--text-column", "body")
    assert code == 0 and rows[0]["sentiment"] == "negative"


def test_missing_column_is_a_clear_error(tmp_path: Path) -> None:
    code, rows, output = _run(tmp_path, b"message\nhello\n")
    assert code != 0
    assert "column 'text' not found" in output and "message" in output


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    res = runner.invoke(app, ["--input", str(tmp_path / "nope.csv"), "--output", str(tmp_path / "o.jsonl")])
    assert res.exit_code != 0 and "not found" in res.output


def test_non_utf8_bytes_are_replaced(tmp_path: Path) -> None:
    code, rows, _ = _run(tmp_path, b"text\ncaf\xe9 was terrible \xff\xfe\nok\n")
    assert code == 0 and len(rows) == 2 and "sentiment" in rows[0]


def test_huge_text_is_fine(tmp_path: Path) -> None:
    big = "the flight was delayed and the staff were rude " * 1100  # ~50 KB
    code, rows, _ = _run(tmp_path, f'text\n"{big}"\nshort one\n'.encode())
    assert code == 0 and len(rows) == 2 and rows[0]["sentiment"] == "negative"


def test_header_only_file_gives_empty_output(tmp_path: Path) -> None:
    code, rows, _ = _run(tmp_path, b"text\n")
    assert code == 0 and rows == []


def test_classify_does_not_import_django() -> None:
    code = "import sys, hubbub.analysis.cli; sys.exit(1 if 'django' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_analysis_app_has_train_and_classify() -> None:
    res = runner.invoke(analysis_app, ["--help"])
    assert res.exit_code == 0 and "train" in res.output and "classify" in res.output


def test_semicolon_and_tab_delimited_files(tmp_path: Path) -> None:
    code, rows, _ = _run(tmp_path, b'id;text\n1;"worst delay ever; never again"\n2;thank you so much!\n')
    assert code == 0 and [r["sentiment"] for r in rows] == ["negative", "positive"]
    code, rows, _ = _run(tmp_path, b"id\ttext\n1\tthe staff were rude and my bag is lost\n")
    assert code == 0 and rows[0]["sentiment"] == "negative" and rows[0]["intent"] == "complaint"


def test_excel_sep_line_names_the_delimiter_and_is_not_the_header(tmp_path: Path) -> None:
    code, rows, _ = _run(tmp_path, b'sep=;\r\nid;text\r\n1;"worst delay ever, never again"\r\n2;thank you so much!\r\n')
    assert code == 0 and [r["sentiment"] for r in rows] == ["negative", "positive"]
    assert [r["row"] for r in rows] == [1, 2]


def test_column_name_matches_regardless_of_case(tmp_path: Path) -> None:
    code, rows, _ = _run(tmp_path, b"Id,Text\n1,love this airline\n")
    assert code == 0 and rows[0]["sentiment"] == "positive"


def test_windows_1252_and_utf16_files_keep_their_accents(tmp_path: Path) -> None:
    code, rows, output = _run(tmp_path, "text\ncafé was terrible, I’m furious\n".encode("cp1252"), "--no-explain")
    assert code == 0 and rows[0]["sentiment"] == "negative" and "windows-1252" in output
    code, rows, _ = _run(tmp_path, 'text,id\n"naïve question: where is my order?",1\n'.encode("utf-16"))
    assert code == 0 and len(rows) == 1 and "sentiment" in rows[0]
