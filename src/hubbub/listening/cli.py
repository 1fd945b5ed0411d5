"""`hubbub listen backtest`: replay timestamped mentions through the crisis detectors.

External tools run this on real data we never see, so the reader forgives
everything it can: any brand names, out-of-order lines, missing optional
fields, several timestamp formats. A line it cannot use is counted, reported
on stderr and skipped; the run never stops because of one bad line.

No Django here: the command must start fast and work without a database.
The analysis model is loaded only when some lines lack a sentiment.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import typer

from hubbub.analysis import services as analysis  # light: the model loads on the first batch
from hubbub.listening.detectors import Alert, CrisisDetector, DetectorConfig, normalise_sentiment

listen_app = typer.Typer(help="Listening: replay mentions through the crisis detectors.", no_args_is_help=True)

ANALYSIS_BATCH = 2000
_MAX_WARNINGS = 10
_PROGRESS_MIN_BYTES = 8_000_000
_MONTHS = {
    m: i
    for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)
}


class TimestampError(ValueError):
    """A timestamp in none of the accepted formats."""


def parse_timestamp(value: Any) -> float:
    """Epoch seconds (UTC) from any timestamp format we accept.

    * numbers or digit strings: epoch seconds (milliseconds when > 1e11);
    * ISO 8601 with or without zone (naive = UTC), `Z` suffix allowed;
    * the airline data set: `2015-02-24 11:35:52 -0800`;
    * Twitter's API: `Tue Oct 31 22:10:47 +0000 2017`.
    """
    if isinstance(value, bool) or value is None:
        raise TimestampError(f"not a timestamp: {value!r}")
    if isinstance(value, int | float):
        v = float(value)
        if not math.isfinite(v):
            raise TimestampError(f"not a timestamp: {value!r}")
        return v / 1000.0 if abs(v) > 1e11 else v
    if not isinstance(value, str):
        raise TimestampError(f"not a timestamp: {value!r}")
    s = value.strip()
    if not s:
        raise TimestampError("empty timestamp")
    c0 = s[0]
    if c0.isdigit() and len(s) >= 10 and s[4] == "-":
        # ISO 8601 / airline format; "... -0800" (space before the offset) is not ISO
        if len(s) > 6 and s[-6] == " " and s[-5] in "+-":
            s = s[:-6] + s[-5:]
        elif s.endswith((" UTC", " GMT")):
            s = s[:-4] + "+00:00"
        try:
            dt = datetime.fromisoformat(s)
        except ValueError as exc:
            raise TimestampError(f"not a timestamp: {value!r}") from exc
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.timestamp()
    if c0.isdigit() or c0 in "+-.":
        try:
            v = float(s)
        except ValueError as exc:
            raise TimestampError(f"not a timestamp: {value!r}") from exc
        return parse_timestamp(v)
    parts = s.split()
    if len(parts) == 6 and parts[1][:3].lower() in _MONTHS:
        # Tue Oct 31 22:10:47 +0000 2017
        try:
            hh, mm, ss = (int(x) for x in parts[3].split(":"))
            off = parts[4]
            sign = -1 if off[0] == "-" else 1
            off_s = sign * (int(off[-4:-2]) * 3600 + int(off[-2:]) * 60)
            dt = datetime(int(parts[5]), _MONTHS[parts[1][:3].lower()], int(parts[2]), hh, mm, ss, tzinfo=UTC)
        except (ValueError, IndexError) as exc:
            raise TimestampError(f"not a timestamp: {value!r}") from exc
        return dt.timestamp() - off_s
    raise TimestampError(f"not a timestamp: {value!r}")


def _as_int(value: Any) -> int:
    """Counts arrive as ints, floats, strings or nulls; anything odd counts as 0."""
    if value is None or isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    try:
        f = float(value)
    except (TypeError, ValueError):
        return 0
    return int(f) if math.isfinite(f) else 0


@dataclass(slots=True)
class BacktestResult:
    """What a backtest did; the CLI prints it, the benchmark reads it."""

    mentions: int = 0
    malformed: int = 0
    analysed: int = 0
    alerts: list[Alert] = field(default_factory=list)
    seconds: float = 0.0
    replay_seconds: float = 0.0
    suppressed: int = 0

    @property
    def by_kind(self) -> dict[str, int]:
        return dict(Counter(a.kind for a in self.alerts))

    @property
    def mentions_per_s(self) -> float:
        return self.mentions / self.seconds if self.seconds > 0 else float("inf")


Row = tuple[float, str, Any, int, int, str]


def read_mentions(lines: Iterator[str], warn: Callable[[str], None], result: BacktestResult) -> list[Row]:
    """Parse JSONL mention lines; bad lines are counted in `result.malformed` and skipped."""
    rows: list[Row] = []
    loads = json.loads
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = loads(line)
            if not isinstance(obj, dict):
                raise ValueError("not a JSON object")
            brand = obj.get("brand")
            if brand is None or brand == "":
                raise ValueError("missing brand")
            ts = parse_timestamp(obj.get("created_at"))
            text = obj.get("text")
            sentiment = obj.get("sentiment")
            rows.append(
                (
                    ts,
                    brand if isinstance(brand, str) else str(brand),
                    sentiment,
                    _as_int(obj.get("retweet_count")),
                    _as_int(obj.get("followers")),
                    text if isinstance(text, str) else ("" if text is None else str(text)),
                )
            )
        except (ValueError, TypeError, RecursionError) as exc:
            result.malformed += 1
            if result.malformed <= _MAX_WARNINGS:
                warn(f"warning: line {lineno} skipped: {str(exc)[:120]}")
    return rows


def _fill_sentiment(rows: list[Row], result: BacktestResult) -> list[Row]:
    """Normalise given sentiments; score the missing ones with the analysis engine in batches."""
    missing = [i for i, r in enumerate(rows) if r[2] is None or r[2] == ""]
    out = rows
    if missing:
        for start in range(0, len(missing), ANALYSIS_BATCH):
            idx = missing[start : start + ANALYSIS_BATCH]
            analyses = analysis.analyze_batch([rows[i][5] for i in idx])
            for i, an in zip(idx, analyses, strict=False):
                r = rows[i]
                out[i] = (r[0], r[1], an.sentiment, r[3], r[4], r[5])
        result.analysed = len(missing)
    cache: dict[Any, str] = {}
    for i, r in enumerate(out):
        s = r[2]
        if s != "negative":
            key = s if isinstance(s, str | int | float) else repr(s)
            lab = cache.get(key)
            if lab is None:
                lab = cache[key] = normalise_sentiment(s)
            if lab != s:
                out[i] = (r[0], r[1], lab, r[3], r[4], r[5])
    return out


def run_backtest(
    input_path: Path,
    output_path: Path,
    config: DetectorConfig | None = None,
    err: TextIO | None = None,
    progress: bool | None = None,
) -> BacktestResult:
    """Read mentions, sort them by time (stable), replay through the detectors, write alerts."""
    err = err or sys.stderr
    t0 = time.perf_counter()
    result = BacktestResult()

    def warn(msg: str) -> None:
        print(msg, file=err)

    size = input_path.stat().st_size
    show = progress if progress is not None else (size >= _PROGRESS_MIN_BYTES and err.isatty())
    with input_path.open("r", encoding="utf-8", errors="replace", newline="\n") as fh:
        if show:
            rows = _read_with_progress(fh, size, warn, result, err)
        else:
            rows = read_mentions(iter(fh), warn, result)
    if result.malformed > _MAX_WARNINGS:
        warn(f"warning: {result.malformed - _MAX_WARNINGS} more malformed lines skipped")
    rows = _fill_sentiment(rows, result)
    rows.sort(key=lambda r: r[0])
    t1 = time.perf_counter()
    det = CrisisDetector(config)
    alerts = det.observe_many(rows)
    if rows:
        alerts.extend(det.flush(rows[-1][0]))
    result.replay_seconds = time.perf_counter() - t1
    result.alerts = alerts
    result.mentions = len(rows)
    result.suppressed = det.suppressed
    output_path.parent.mkdir(parents=True, exist_ok=True)
    with output_path.open("w", encoding="utf-8") as out:
        for a in alerts:
            out.write(json.dumps(a.as_dict(), ensure_ascii=False) + "\n")
    result.seconds = time.perf_counter() - t0
    return result


def _read_with_progress(
    fh: TextIO, size: int, warn: Callable[[str], None], result: BacktestResult, err: TextIO
) -> list[Row]:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(file=err)
    with Progress(
        TextColumn("reading mentions"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(), console=console, transient=True,
    ) as prog:  # fmt: skip
        task = prog.add_task("read", total=size)

        def chunked() -> Iterator[str]:
            done = 0
            for i, line in enumerate(fh):
                done += len(line)
                if i % 50_000 == 0:
                    prog.update(task, completed=done)
                yield line

        rows = read_mentions(chunked(), warn, result)
        prog.update(task, completed=size)
    return rows


def summary_text(result: BacktestResult) -> str:
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(result.by_kind.items())) or "none"
    det_rate = result.mentions / result.replay_seconds if result.replay_seconds else 0.0
    return (
        f"mentions: {result.mentions:,} (malformed skipped: {result.malformed:,}, "
        f"sentiment scored: {result.analysed:,})\n"
        f"alerts: {len(result.alerts):,} ({kinds}); "
        f"suppressed by rate limit/quiet hours: {result.suppressed}\n"
        f"speed: {result.mentions_per_s:,.0f} mentions/s overall, "
        f"{det_rate:,.0f} mentions/s in the detectors"
    )


@listen_app.callback()
def _listen() -> None:
    """Listening tools. (A callback keeps `listen` a group, so `listen backtest` always works.)"""


@listen_app.command("backtest")
def backtest(
    input: Path = typer.Option(..., "--input", "-i", help="JSONL mentions: created_at, brand, text, ..."),  # noqa: A002, B008
    output: Path = typer.Option(..., "--output", "-o", help="Where to write alerts, one JSON a line."),  # noqa: B008
    config: Path | None = typer.Option(None, "--config", "-c", help="JSON detector config."),  # noqa: B008
) -> None:
    """Replay timestamped mentions through the detectors and write the alerts they raise."""
    cfg = DetectorConfig()
    if config is not None:
        try:
            data = json.loads(config.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("config must be a JSON object")
            cfg = DetectorConfig.from_dict(data)
        except (OSError, ValueError) as exc:
            print(f"error: cannot read config {config}: {exc}", file=sys.stderr)
            raise typer.Exit(2) from exc
    if not input.is_file():
        print(f"error: input file not found: {input}", file=sys.stderr)
        raise typer.Exit(2)
    result = run_backtest(input, output, cfg)
    print(summary_text(result), file=sys.stderr)


def main() -> None:  # pragma: no cover - convenience for `python -m hubbub.listening.cli`
    listen_app()


if __name__ == "__main__":  # pragma: no cover
    main()
