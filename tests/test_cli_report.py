"""`hubbub report response-times` reads like a person would say it, and says what to do when there is nothing yet."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from hubbub.cli import _duration, app


@pytest.mark.parametrize(
    ("minutes", "shown"),
    [(None, "–"), (2.44, "2.4 min"), (42.4, "42 min"), (164.6, "2.7 h"), (2 * 1440 + 144, "2.1 d")],
)
def test_durations_are_in_units_people_use(minutes: float | None, shown: str) -> None:
    assert _duration(minutes) == shown


@pytest.mark.django_db
def test_empty_report_says_how_to_get_data() -> None:
    res = CliRunner().invoke(app, ["report", "response-times"])
    assert res.exit_code == 0, res.output
    assert "No customer conversations started from" in res.output and "hubbub import" in res.output
    assert "--from/--to" in res.output  # data older than the range is there, but not counted
    res = CliRunner().invoke(app, ["report", "response-times", "--format", "json"])
    assert res.exit_code == 0 and '"brands": []' in res.output
