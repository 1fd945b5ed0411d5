"""`hubbub listen backtest`, driven the way external tools drive it."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hubbub.listening.cli import listen_app, parse_timestamp, run_backtest

REQUIRED = {
    "detected_at",
    "kind",
    "brand",
    "window_start",
    "expected",
    "observed",
    "score",
    "message",
    "examples",
}


@pytest.mark.parametrize(
    ("value", "epoch"),
    [
        ("2015-02-24 11:35:52 -0800", 1424806552.0),
        ("2015-02-24T19:35:52Z", 1424806552.0),
        ("2015-02-24T19:35:52", 1424806552.0),
        ("2015-02-24T11:35:52-08:00", 1424806552.0),
        ("Tue Feb 24 19:35:52 +0000 2015", 1424806552.0),
        (1424806552, 1424806552.0),
        ("1424806552", 1424806552.0),
        (1424806552000, 1424806552.0),
    ],
)
def test_timestamp_formats(value: object, epoch: float) -> None:
    assert parse_timestamp(value) == epoch


def write_stream(path: Path, burst_hour: int = 44) -> None:
    """Two days of a flat brand, a 5x burst near the end, shuffled, with junk lines mixed in."""
    rng = random.Random(7)
    t0 = 1424131200
    lines = []
    t = float(t0)
    while t < t0 + 48 * 3600:
        t += rng.expovariate(90 / 3600)
        sent = "negative" if rng.random() < 2 / 3 else "neutral"
        lines.append({"created_at": int(t), "brand": "Acme Air", "text": "meh", "sentiment": sent})
    start = t0 + burst_hour * 3600
    for _ in range(240):
        ts = start + rng.uniform(0, 3600)
        lines.append({"created_at": f"{ts:.0f}", "brand": "Acme Air", "text": "lost my bag", "sentiment": -0.8})
    rng.shuffle(lines)
    text = [json.dumps(x) for x in lines]
    text[10:10] = ["{not json", "[1, 2]", json.dumps({"brand": "Acme Air", "created_at": "yesterday"}), ""]
    text.append(json.dumps({"created_at": int(t0), "text": "no brand"}))
    path.write_text("\n".join(text) + "\n", encoding="utf-8")


def test_backtest_finds_the_burst_skips_malformed_lines_and_writes_required_keys(tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "alerts.jsonl"
    write_stream(src)
    err = io.StringIO()
    result = run_backtest(src, out, err=err)
    assert result.malformed == 4
    assert "line" in err.getvalue() and "skipped" in err.getvalue()
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    assert alerts and all(REQUIRED <= set(a) for a in alerts)
    spikes = [a for a in alerts if a["kind"] == "negative_spike"]
    assert spikes and spikes[0]["brand"] == "Acme Air"
    assert spikes[0]["detected_at"].startswith("2015-02-18T") and spikes[0]["detected_at"].endswith("Z")


def test_cli_command_prints_a_summary(tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "alerts.jsonl"
    write_stream(src)
    res = CliRunner().invoke(listen_app, ["backtest", "--input", str(src), "--output", str(out)])
    assert res.exit_code == 0, res.output
    assert "mentions:" in res.output and "alerts:" in res.output and "mentions/s" in res.output
    assert out.exists()


def test_cli_reads_a_config_and_rejects_a_missing_input(tmp_path: Path) -> None:
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"enabled_kinds": ["viral_post"], "unknown_key": 1}))
    src, out = tmp_path / "in.jsonl", tmp_path / "alerts.jsonl"
    write_stream(src)
    res = CliRunner().invoke(listen_app, ["backtest", "--input", str(src), "--output", str(out), "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    assert out.read_text() == ""
    res = CliRunner().invoke(listen_app, ["backtest", "--input", str(tmp_path / "nope"), "--output", str(out)])
    assert res.exit_code == 2


def test_missing_sentiment_is_scored_by_the_analysis_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    class Fake:
        sentiment = "negative"

    def fake_analyze_batch(texts: list[str], contexts: object = None) -> list[Fake]:
        calls.append(len(texts))
        return [Fake() for _ in texts]

    import hubbub.analysis.services as services

    monkeypatch.setattr(services, "analyze_batch", fake_analyze_batch)
    src, out = tmp_path / "in.jsonl", tmp_path / "alerts.jsonl"
    src.write_text(
        "\n".join(json.dumps({"created_at": 1424131200 + i, "brand": "B", "text": "x"}) for i in range(2500))
    )
    result = run_backtest(src, out, err=io.StringIO())
    assert result.analysed == 2500 and calls == [2000, 500]


def test_backtest_learns_for_a_day_unless_its_config_says_otherwise(tmp_path: Path) -> None:
    """The learning period counts from the stream's first mention: a burst ten hours in is learnt, not alarmed
    about, and `warmup_hours` in the config shortens it."""
    src, out = tmp_path / "in.jsonl", tmp_path / "alerts.jsonl"
    write_stream(src, burst_hour=10)
    run_backtest(src, out, err=io.StringIO())
    assert [a for a in map(json.loads, out.read_text().splitlines()) if a["kind"] == "negative_spike"] == []
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"warmup_hours": 6}))
    res = CliRunner().invoke(listen_app, ["backtest", "--input", str(src), "--output", str(out), "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    spikes = [a for a in map(json.loads, out.read_text().splitlines()) if a["kind"] == "negative_spike"]
    assert spikes and spikes[0]["detected_at"].startswith("2015-02-17T1")
