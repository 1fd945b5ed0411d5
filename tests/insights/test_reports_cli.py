"""`hubbub report sla|agents|response-times`: the Reports figures in a terminal or as JSON."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.urls import reverse
from typer.testing import CliRunner

from hubbub.cli import app
from tests.insights.test_reports import NOW, care_data  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
RANGE = ["--from", "2026-02-24", "--to", "2026-03-02"]
TIMES = ("count", "p50", "p90", "p95", "mean")


def test_sla_json_and_table(care_data, time_machine) -> None:  # noqa: F811
    time_machine.move_to(NOW)
    res = CliRunner().invoke(app, ["report", "sla", "--format", "json", "--org", "acme", *RANGE])
    assert res.exit_code == 0, res.output
    (acme,) = json.loads(res.output)["organizations"]
    assert acme["organization"] == "acme"
    assert acme["total"]["first_response"]["met_pct"] == 60.0 and acme["total"]["resolution"]["running"] == 2
    res = CliRunner().invoke(app, ["report", "sla", "--org", "acme", *RANGE])
    assert res.exit_code == 0, res.output
    assert "brand Acme Air" in res.output and "team No team" in res.output and "60.0%" in res.output


def test_agents_json_and_table(care_data) -> None:  # noqa: F811
    res = CliRunner().invoke(app, ["report", "agents", "--format", "json", *RANGE])
    assert res.exit_code == 0, res.output
    (acme,) = json.loads(res.output)["organizations"]
    agent = next(a for a in acme["agents"] if a["name"] == "acme-agent")
    assert (agent["conversations"], agent["first_response_p50"], agent["resolution_p90"]) == (3, 10.0, 108.0)
    res = CliRunner().invoke(app, ["report", "agents", *RANGE])
    assert res.exit_code == 0, res.output
    assert "agent acme-agent" in res.output and "10 min / 26 min" in res.output and "team Care" in res.output


def test_empty_range_and_bad_input(care_data) -> None:  # noqa: F811
    res = CliRunner().invoke(app, ["report", "sla", "--from", "2020-01-01", "--to", "2020-01-31"])
    assert res.exit_code == 0 and "no SLA clocks" in res.output
    res = CliRunner().invoke(app, ["report", "agents", "--from", "2020-01-01", "--to", "2020-01-31"])
    assert res.exit_code == 0 and "no conversations started in this range" in res.output
    assert CliRunner().invoke(app, ["report", "sla", "--from", "June"]).exit_code == 2
    assert CliRunner().invoke(app, ["report", "agents", "--org", "nobody"]).exit_code == 2


def _page_rows(client, params: dict[str, str]) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """The Reports page's response-times table (its CSV export), brand → cells."""
    res = client.get(reverse("insights_reports_export", args=["response-times", "brands"]), params)
    assert res.status_code == 200
    _header, *rows = csv.reader(io.StringIO(b"".join(res.streaming_content).decode("utf-8-sig")))
    return {row[0]: row[1:] for row in rows}


def _cli_rows(args: list[str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """`hubbub report response-times --format json` as the range it used and brand → the page's cells."""
    res = CliRunner().invoke(app, ["report", "response-times", "--format", "json", *args])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    cells = {}
    for b in out["brands"]:
        assert set(b) == {"organization", "brand", "conversations", "first_response_minutes", "resolution_minutes"}
        assert set(b["first_response_minutes"]) == set(b["resolution_minutes"]) == set(TIMES)
        values = [
            b["conversations"],
            *(b[k][t] for k in ("first_response_minutes", "resolution_minutes") for t in TIMES),
        ]
        cells[b["brand"]] = ["" if v is None else str(v) for v in values]
    return out["filters"], cells


def test_the_cli_and_the_reports_page_give_one_answer(client, care_data, time_machine) -> None:  # noqa: F811
    """Same data, a spam conversation and one started 40 days before the others included: the CLI counts
    the page's cohort (no spam, no brand-started, only the range) with the page's default range."""
    time_machine.move_to(NOW)
    client.force_login(care_data["users"]["supervisor"])
    period, cli = _cli_rows([])
    assert period == {"from": "2026-02-02", "to": "2026-03-03"}  # the page's default: the last 30 days
    assert cli == _page_rows(client, {})
    assert cli["Acme Air"][0] == "4" and cli["Acme Rail"][0] == "1"  # c1–c4: not the spam nor the old one
    assert cli["Acme Air"][1:4] == ["3", "20.0", "28.0"]  # answered in 10, 30 and 20 min: p50 20, p90 28
    # a range the user gives, reaching back to the old conversation: both count it, neither counts spam
    period, cli = _cli_rows(["--from", "2026-01-01", "--to", "2026-03-02"])
    assert period == {"from": "2026-01-01", "to": "2026-03-02"}
    assert cli == _page_rows(client, period)
    assert cli["Acme Air"][0] == "5"


def test_response_times_refuses_a_bad_range_and_names_every_organisation(care_data, make_org) -> None:  # noqa: F811
    assert CliRunner().invoke(app, ["report", "response-times", "--from", "June"]).exit_code == 2
    assert (
        CliRunner().invoke(app, ["report", "response-times", "--from", "2026-03-02", "--to", "2026-03-01"]).exit_code
        == 2
    )
    make_org("globex", brands=("Globex",))
    res = CliRunner().invoke(app, ["report", "response-times", "--format", "json", *RANGE])
    brands = json.loads(res.output)["brands"]
    assert [(b["organization"], b["brand"], b["conversations"]) for b in brands] == [
        ("Acme", "Acme Air", 4),
        ("Acme", "Acme Rail", 1),
    ]
    res = CliRunner().invoke(app, ["report", "response-times", *RANGE])
    assert res.exit_code == 0 and "Acme Air" in res.output and "2026-02-24 to 2026-03-02" in res.output
