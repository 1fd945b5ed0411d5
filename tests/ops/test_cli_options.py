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
    monkeypatch.setattr(cli, "start_email_watchers", lambda: None)
    monkeypatch.setattr("django.core.management.call_command", lambda name, **kw: started.append({"name": name, **kw}))

    res = CliRunner().invoke(cli.app, ["worker", option, "6"])

    assert res.exit_code == 0, res.output
    assert started == [{"name": "run_huey", "workers": 6, "worker_type": "thread"}]


class _Watchers:
    closed = False

    def close(self) -> None:
        self.closed = True


def test_the_worker_watches_mailboxes_until_it_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    """The IDLE watchers run beside the consumer, and a stopping worker hands its channels over (`close`)."""
    watchers = _Watchers()
    events: list[str] = []
    monkeypatch.setattr(cli, "warm_up_worker", lambda: None)
    monkeypatch.setattr(cli, "start_email_watchers", lambda: events.append("watch") or watchers)
    monkeypatch.setattr("django.core.management.call_command", lambda name, **kw: events.append(name))

    res = CliRunner().invoke(cli.app, ["worker"])

    assert res.exit_code == 0, res.output
    assert events == ["watch", "run_huey"] and watchers.closed
