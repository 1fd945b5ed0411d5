"""Crisis-detection benchmark: the real airline tweet stream with realistic injected bursts, no floor.

Run: `python benchmarks/crisis.py` (reports on the report seeds and writes the JSON);
`--tune` reports on the tuning seeds and writes nothing (tune the detector there, only there).

Data: `<repo>/../shared/datasets/airline_sentiment/Tweets.csv` (env `HUBBUB_SHARED_DIR`
overrides the datasets directory). Twitter US Airline Sentiment, CrowdFlower /
Kaggle, CC BY-NC-SA 4.0. Each airline is a brand; the crowd's `airline_sentiment`
label is the sentiment (the detectors, not the classifier, are under test).

Method (issue 17; docs/listening.md has the tables):

* Brands: the four with 3-20 negatives an hour (United, US Airways, Southwest,
  Delta). Virgin America (under one an hour) and American (two days of a storm)
  stay in the replayed stream but get no bursts in the main table.
* Learning period: the detector may not alert in a brand's first 24 h, so bursts
  start and false alarms are counted only after it.
* Bursts: a multiplier k in {2, 3, 5, 10}, 20-120 min long, at a uniformly random
  time (nights included). The baseline is the brand's **real** local negative
  rate (its clean negatives in the surrounding +-3 h), with **no floor**; the burst
  adds (k-1) x that rate as a Poisson process. Injected mentions look like real
  ones: whole-second timestamps, and text and retweet count copied together from
  a random real negative tweet of the brand. A burst is caught when a
  negative_spike or sentiment_drop for its brand fires between its start and end;
  the delay is the alert time minus the start. Recall is given by multiplier and
  by the extra negatives the burst added (0-5, 5-10, 10-20, 20-40, >= 40).
* False alarms: the clean stream replayed once; spike alerts after the learning
  period, per brand-week, all of them and those outside the real incidents.
  Incidents come from the data by a fixed rule (`find_incidents`: an hour with
  >= 10 negatives and >= max(3x, +10) the median of the same hour on the brand's
  other days, +-1 h), read and named in docs/listening.md; the detector is not
  tuned to them.
* Seeds: tune on 0-99, report on 1000-1099 (100 trials of 3 bursts each).
* Floored table: the earlier setting (all six brands, the local rate floored at
  30 negatives an hour), so loud brands do not regress.
* Speed: the detectors alone over pre-labelled tuples, per CPU-second (one core;
  the machine is shared, so wall clock measures the neighbours too), and the
  whole `hubbub listen backtest` path in wall-clock seconds.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from hubbub.listening.cli import run_backtest
from hubbub.listening.detector_terms import terms_of
from hubbub.listening.detectors import CrisisDetector, DetectorConfig

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "crisis.json"
MULTIPLIERS = (2, 3, 5, 10)
BURSTS_PER_TRIAL = 3
TRIALS = 100
TUNE_BASE = 0
REPORT_BASE = 1000
FLOOR_PER_HOUR = 30.0
LEARN_S = 24 * 3600.0
BRAND_RATE = (3.0, 20.0)  # negatives an hour that make a brand "mid-size"
EXTRA_BINS = ((0, 5, "0-5"), (5, 10, "5-10"), (10, 20, "10-20"), (20, 40, "20-40"), (40, 10**9, ">=40"))
SPIKE_KINDS = ("negative_spike", "sentiment_drop")
WEEK = 7 * 86400.0

Row = tuple[float, str, str, int, int, str]
Burst = dict[str, float | str | int]


def shared_dir() -> Path:
    env = os.environ.get("HUBBUB_SHARED_DIR")
    return Path(env) if env else ROOT.parent / "shared" / "datasets"


def load_stream() -> tuple[list[Row], list[dict[str, str]]]:
    """The stream in time order (epoch seconds), and the raw CSV rows in the same order."""
    path = shared_dir() / "airline_sentiment" / "Tweets.csv"
    rows: list[Row] = []
    raw: list[dict[str, str]] = []
    with path.open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            ts = datetime.strptime(r["tweet_created"], "%Y-%m-%d %H:%M:%S %z").timestamp()
            rows.append((ts, r["airline"], r["airline_sentiment"], int(r["retweet_count"] or 0), 0, r["text"]))
            raw.append(r)
    order = sorted(range(len(rows)), key=lambda i: rows[i][0])
    return [rows[i] for i in order], [raw[i] for i in order]


def spans(rows: list[Row]) -> dict[str, tuple[float, float]]:
    """Each brand's active span, from its 1st-percentile tweet (a few stray early tweets are not history)."""
    times: dict[str, list[float]] = defaultdict(list)
    for ts, brand, *_ in rows:
        times[brand].append(ts)
    return {b: (t[len(t) // 100], t[-1]) for b, t in times.items()}


def mid_size_brands(rows: list[Row]) -> list[str]:
    neg = Counter(r[1] for r in rows if r[2] == "negative")
    out = []
    for brand, (lo, hi) in spans(rows).items():
        rate = neg[brand] / max((hi - lo) / 3600.0, 1.0)
        if BRAND_RATE[0] <= rate <= BRAND_RATE[1]:
            out.append(brand)
    return sorted(out)


def find_incidents(rows: list[Row], brands: list[str]) -> dict[str, list[tuple[float, float]]]:
    """Real incidents by a fixed rule: hours far above the same hour on the brand's other days, +-1 h."""
    per_hour: dict[str, Counter[int]] = defaultdict(Counter)
    for ts, brand, sent, *_ in rows:
        if sent == "negative":
            per_hour[brand][int(ts // 3600)] += 1
    out: dict[str, list[tuple[float, float]]] = {}
    for brand in brands:
        c = per_hour[brand]
        lo, hi = (int(t // 3600) for t in spans(rows)[brand])
        hot = []
        for h in range(lo, hi + 1):
            others = [c.get(g, 0) for g in range(lo + (h - lo) % 24, hi + 1, 24) if abs(g - h) >= 24]
            m = statistics.median(others) if others else 0.0
            if c[h] >= 10 and c[h] >= max(3 * m, m + 10):
                hot.append(h)
        merged: list[tuple[float, float]] = []
        for h in hot:
            s, e = (h - 1) * 3600.0, (h + 2) * 3600.0
            if merged and s <= merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
            else:
                merged.append((s, e))
        out[brand] = merged
    return out


def spike_alerts(stream: list[Row], cfg: DetectorConfig) -> list[tuple[float, str, str]]:
    return [
        (a.detected_at, a.brand, a.message) for a in CrisisDetector(cfg).observe_many(stream) if a.kind in SPIKE_KINDS
    ]


def false_alarms(rows: list[Row], cfg: DetectorConfig, brands: list[str]) -> dict[str, object]:
    """Spike alerts on the clean stream after each brand's learning period, per brand-week."""
    sp = spans(rows)
    incidents = find_incidents(rows, brands)
    alerts = [a for a in spike_alerts(rows, cfg) if a[1] in brands and a[0] >= sp[a[1]][0] + LEARN_S]
    weeks = sum(max(sp[b][1] - sp[b][0] - LEARN_S, 0.0) for b in brands) / WEEK
    outside = [a for a in alerts if not any(s <= a[0] < e for s, e in incidents[a[1]])]
    return {"alerts": alerts, "outside": outside, "weeks": weeks, "incidents": incidents}


class Injector:
    """Burst-injected copies of the clean stream."""

    def __init__(self, rows: list[Row], floor_per_hour: float, brands: list[str]) -> None:
        self.rows = rows
        self.floor = floor_per_hour
        self.brands = brands
        self.span = spans(rows)
        self.neg_times: dict[str, list[float]] = defaultdict(list)
        self.negatives: dict[str, list[Row]] = defaultdict(list)
        for r in rows:
            if r[2] == "negative":
                self.neg_times[r[1]].append(r[0])
                self.negatives[r[1]].append(r)

    def local_rate_per_s(self, brand: str, t: float) -> float:
        times = self.neg_times[brand]
        n = bisect.bisect_left(times, t + 3 * 3600) - bisect.bisect_left(times, t - 3 * 3600)
        return max(n / (6 * 3600), self.floor / 3600)

    def trial(self, seed: int) -> tuple[list[Row], list[Burst]]:
        rng = np.random.default_rng(seed)
        bursts: list[Burst] = []
        while len(bursts) < BURSTS_PER_TRIAL:
            brand = self.brands[int(rng.integers(len(self.brands)))]
            k = MULTIPLIERS[int(rng.integers(len(MULTIPLIERS)))]
            dur = float(rng.uniform(20, 120)) * 60
            lo, hi = self.span[brand]
            lo += LEARN_S
            if hi - dur <= lo:
                continue
            start = float(int(rng.uniform(lo, hi - dur)))
            if any(abs(start - float(b["start"])) < 4 * 3600 for b in bursts):
                continue
            bursts.append({"brand": brand, "k": k, "start": start, "end": start + dur})
        extra: list[Row] = []
        for b in bursts:
            brand = str(b["brand"])
            start, end, k = float(b["start"]), float(b["end"]), float(b["k"])
            n = int(rng.poisson((k - 1) * self.local_rate_per_s(brand, start) * (end - start)))
            times = np.floor(rng.uniform(start, end, n))
            real = self.negatives[brand]
            picks = rng.integers(len(real), size=n)
            for t, i in zip(times, picks, strict=True):
                r = real[int(i)]
                extra.append((float(t), brand, "negative", r[3], 0, r[5]))
            b["injected"] = n
        stream = self.rows + extra
        stream.sort(key=lambda r: r[0])
        return stream, bursts


def _recall(sel: list[Burst]) -> float:
    return sum(1 for r in sel if r["detected"]) / len(sel) if sel else float("nan")


def evaluate_bursts(
    rows: list[Row], cfg: DetectorConfig, seeds: range, floor_per_hour: float, brands: list[str]
) -> dict[str, object]:
    inj = Injector(rows, floor_per_hour, brands)
    results: list[Burst] = []
    for seed in seeds:
        stream, bursts = inj.trial(seed)
        alerts = spike_alerts(stream, cfg)
        for b in bursts:
            hits = [t for t, brand, _ in alerts if brand == b["brand"] and float(b["start"]) <= t <= float(b["end"])]
            results.append(
                {**b, "detected": int(bool(hits)), "delay": (min(hits) - float(b["start"])) / 60 if hits else -1.0}
            )
    ge3 = [r for r in results if float(r["k"]) >= 3]
    delays3 = [float(r["delay"]) for r in ge3 if r["detected"]]
    return {
        "n": len(results),
        "n_ge3": len(ge3),
        "recall_by_k": {k: _recall([r for r in results if r["k"] == k]) for k in MULTIPLIERS},
        "delay_by_k": {
            k: statistics.median(d)
            if (d := [float(r["delay"]) for r in results if r["k"] == k and r["detected"]])
            else float("nan")
            for k in MULTIPLIERS
        },
        "recall_by_extra": {
            name: _recall([r for r in results if lo <= int(r["injected"]) < hi]) for lo, hi, name in EXTRA_BINS
        },
        "n_by_extra": {name: sum(1 for r in results if lo <= int(r["injected"]) < hi) for lo, hi, name in EXTRA_BINS},
        "recall_3x": _recall(ge3),
        "median_delay_3x": statistics.median(delays3) if delays3 else float("nan"),
        "p90_delay_3x": float(np.percentile(delays3, 90)) if delays3 else float("nan"),
        "recall_3x_by_brand": {b: _recall([r for r in ge3 if r["brand"] == b]) for b in brands},
    }


def speed(rows: list[Row], raw: list[dict[str, str]], cfg: DetectorConfig) -> tuple[float, float]:
    """Mentions per CPU-second in the detectors alone (best of 3), and through the whole CLI path (wall)."""
    reps = 20
    det_rate = 0.0
    for _ in range(3):
        spent = 0.0
        for _ in range(reps):
            terms_of.cache_clear()  # each replay pays for its alerts' terms, as a first look at new data would
            c0 = time.process_time()
            CrisisDetector(cfg).observe_many(rows)
            spent += time.process_time() - c0
        det_rate = max(det_rate, reps * len(rows) / spent)
    with tempfile.TemporaryDirectory(prefix="hubbub-crisis-") as tmp:
        src = Path(tmp) / "mentions.jsonl"
        span = rows[-1][0] - rows[0][0] + 3600
        with src.open("w", encoding="utf-8") as fh:
            for c in range(8):  # ~100k lines: each copy shifted by the stream's span so times keep increasing
                for r in raw:
                    ts = datetime.strptime(r["tweet_created"], "%Y-%m-%d %H:%M:%S %z").timestamp() + c * span
                    line = {
                        "created_at": datetime.fromtimestamp(ts, UTC).isoformat(),
                        "brand": r["airline"],
                        "text": r["text"],
                        "sentiment": r["airline_sentiment"],
                        "retweet_count": int(r["retweet_count"] or 0),
                    }
                    fh.write(json.dumps(line) + "\n")
        cli_rate = max(
            run_backtest(src, Path(tmp) / "alerts.jsonl", cfg, err=sys.stderr, progress=False).mentions_per_s
            for _ in range(3)
        )
    return det_rate, cli_rate


def _fmt(d: dict[object, float]) -> str:
    return ", ".join(f"{k}: {v:.3f}" for k, v in d.items())


def report_table(title: str, ev: dict[str, object]) -> None:
    print(f"\n{title}: {ev['n']} bursts ({ev['n_ge3']} at >= 3x)")
    print(f"  recall by multiplier: {_fmt(ev['recall_by_k'])}")  # type: ignore[arg-type]
    print(f"  median delay by multiplier (min): {_fmt(ev['delay_by_k'])}")  # type: ignore[arg-type]
    print(f"  recall by extra negatives: {_fmt(ev['recall_by_extra'])}  (bursts: {ev['n_by_extra']})")  # type: ignore[arg-type]
    print(f"  recall >= 3x: {ev['recall_3x']:.3f}; by brand: {_fmt(ev['recall_3x_by_brand'])}")  # type: ignore[arg-type]
    print(f"  delay >= 3x (detected): median {ev['median_delay_3x']:.1f} min, p90 {ev['p90_delay_3x']:.1f} min")


def accuracy(rows: list[Row], cfg: DetectorConfig, seeds: range, verbose: bool = True) -> dict[str, object]:
    """All accuracy figures of one detector config on one seed range (the issue's keys and a few more)."""
    brands = mid_size_brands(rows)
    fa = false_alarms(rows, cfg, brands)
    weeks = float(fa["weeks"])  # type: ignore[arg-type]
    n_all, n_out = len(fa["alerts"]), len(fa["outside"])  # type: ignore[arg-type]
    ev = evaluate_bursts(rows, cfg, seeds, 0.0, brands)
    fl = evaluate_bursts(rows, cfg, seeds, FLOOR_PER_HOUR, sorted(spans(rows)))
    if verbose:
        print(f"brands: {', '.join(brands)}; clean stream after learning: {weeks:.2f} brand-weeks")
        print(
            f"false alarms: all {n_all} = {n_all / weeks:.2f}/brand-week; "
            f"outside incidents {n_out} = {n_out / weeks:.2f}"
        )
        for t, brand, msg in fa["alerts"]:  # type: ignore[attr-defined]
            tag = "" if (t, brand, msg) in fa["outside"] else " [incident]"  # type: ignore[operator]
            print(f"    {datetime.fromtimestamp(t, UTC):%b %d %H:%M}Z {brand:11} {msg}{tag}")
        report_table("no floor (brand's real local rate)", ev)
        report_table(f"floored at {FLOOR_PER_HOUR:g} negatives/hour, all six brands", fl)
    figures: dict[str, object] = {
        "recall_3x": ev["recall_3x"],
        "median_delay_min": ev["median_delay_3x"],
        "p90_delay_min": ev["p90_delay_3x"],
        "false_alarms_per_brand_week_outside_incidents": n_out / weeks,
        "false_alarms_per_brand_week_all": n_all / weeks,
        "recall_by_extra": ev["recall_by_extra"],
        "bursts_by_extra": ev["n_by_extra"],
        "recall_by_multiplier": {f"{k}x": v for k, v in ev["recall_by_k"].items()},  # type: ignore[attr-defined]
        "median_delay_min_by_multiplier": {f"{k}x": v for k, v in ev["delay_by_k"].items()},  # type: ignore[attr-defined]
        "recall_3x_by_brand": ev["recall_3x_by_brand"],
        "recall_3x_floored": fl["recall_3x"],
        "median_delay_min_floored": fl["median_delay_3x"],
        "recall_by_multiplier_floored": {f"{k}x": v for k, v in fl["recall_by_k"].items()},  # type: ignore[attr-defined]
    }
    return figures


def _rounded(v: object) -> object:
    if isinstance(v, dict):
        return {str(k): _rounded(x) for k, x in v.items()}
    if isinstance(v, float):
        return None if v != v else round(v, 4)
    return v


def write_results(figures: dict[str, object]) -> None:
    """Write the figures; keys other benchmarks merge into this file (`war_room_*`) are kept."""
    data: dict[str, object] = {}
    if RESULTS.exists():
        try:
            old = json.loads(RESULTS.read_text())
            data = {k: v for k, v in old.items() if k.startswith("war_room_")} if isinstance(old, dict) else {}
        except ValueError:
            pass
    data.update({k: _rounded(v) for k, v in figures.items()})
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(dict(sorted(data.items())), indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--tune", action="store_true", help="report on the tuning seeds (no JSON written)")
    ap.add_argument("--trials", type=int, default=TRIALS)
    ap.add_argument("--no-speed", action="store_true")
    args = ap.parse_args(argv)
    cfg = DetectorConfig()
    rows, raw = load_stream()
    base = TUNE_BASE if args.tune else REPORT_BASE
    seeds = range(base, base + args.trials)
    print(f"stream: {len(rows):,} tweets; seeds {seeds.start}-{seeds.stop - 1} ({'tune' if args.tune else 'report'})")
    figures = accuracy(rows, cfg, seeds)
    if not args.no_speed:
        det_rate, cli_rate = speed(rows, raw, cfg)
        print(
            f"\nspeed: detectors {det_rate:,.0f} mentions per CPU-second; "
            f"whole CLI path {cli_rate:,.0f} mentions/s (wall)"
        )
        figures["mentions_per_s"] = round(det_rate)
        figures["backtest_cli_mentions_per_s"] = round(cli_rate)
    if not args.tune and args.trials == TRIALS and not args.no_speed:
        write_results(figures)
        print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
