"""`hubbub report sla|agents`: the Reports figures in a terminal or as JSON; `response-times` unchanged."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hubbub.cli import app
from tests.insights.test_reports import NOW, care_data  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
RANGE = ["--from", "2026-02-24", "--to", "2026-03-02"]


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


def test_response_times_output_is_unchanged(care_data) -> None:  # noqa: F811
    """The stable interface: all organisations, all time, spam included, the same keys as before."""
    res = CliRunner().invoke(app, ["report", "response-times", "--format", "json"])
    assert res.exit_code == 0, res.output
    brands = json.loads(res.output)["brands"]
    assert [(b["organization"], b["brand"], b["conversations"]) for b in brands] == [
        ("Acme", "Acme Air", 6),  # c1–c4, the spam one and the one before the range (brand-started left out)
        ("Acme", "Acme Rail", 1),
    ]
    assert set(brands[0]["first_response_minutes"]) == {"count", "p50", "p90", "p95", "mean"}
