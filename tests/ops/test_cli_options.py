"""The scale-out options of `hubbub serve` and `hubbub worker`, as an operator types them."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from hubbub import cli


def test_several_web_processes_need_the_worker_elsewhere() -> None:
    res = CliRunner().invoke(cli.app, ["serve", "--workers", "2"])
    assert res.exit_code != 0
    assert "--workers above 1 needs --no-worker" in res.output


@pytest.mark.parametrize("option", ["--concurrency", "--workers"])
def test_the_worker_runs_as_many_consumer_threads_as_asked(option: str, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[dict[str, Any]] = []
    monkeypatch.setattr(cli, "warm_up_worker", lambda: None)
    monkeypatch.setattr("django.core.management.call_command", lambda name, **kw: started.append({"name": name, **kw}))

    res = CliRunner().invoke(cli.app, ["worker", option, "6"])

    assert res.exit_code == 0, res.output
    assert started == [{"name": "run_huey", "workers": 6, "worker_type": "thread"}]
