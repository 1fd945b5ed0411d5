"""The accurate tier's figures (issue 19): `accurate.*`, `fast.texts_per_s` and `peak_rss_mb` of
``benchmarks/results/analysis.json``.

    python benchmarks/analysis_accurate.py     # only these keys, merged into the existing analysis.json

``benchmarks/analysis.py`` calls `accurate_figures` too, so a full run writes them with the rest. Measured on
held-out data only: the airline test split, the gold held-out rows, and the TweetEval *test part* (30 % of the
validation file by a seeded hash, `training.tweeteval_split_of`; the heads train on the other 70 %, which the
issue allows from 2026-12). The fast tier is scored on the same TweetEval part for comparison.

Speed: a fresh process pinned to one core with one engine thread, the whole accurate path (fast tier, then
the encoder and heads) over 400 airline tweets in batches of 64, texts per CPU-second; its peak RSS is the
worker's with both tiers loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sklearn.metrics import accuracy_score, f1_score

from hubbub.analysis import data
from hubbub.analysis.types import INTENTS, AnalysisContext

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "analysis.json"

ACCURATE_SPEED = r"""
import json, os, resource, sys, time
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
os.environ["HUBBUB_ENCODER_THREADS"] = "1"
from threadpoolctl import threadpool_limits
threadpool_limits(1)
from hubbub.analysis import data
from hubbub.analysis.services import get_accurate_analyzer, accurate_status
t0 = time.perf_counter()
m = get_accurate_analyzer()
if m is None:
    print(json.dumps({"error": accurate_status()[1]})); sys.exit(0)
load_s = time.perf_counter() - t0
texts = [r.text for r in data.load_airline(sys.argv[1])][2000:2400]
m.analyze_batch(texts[:16])
best = 0.0
for _ in range(2):
    c = time.process_time()
    for i in range(0, len(texts), 64):
        m.analyze_batch(texts[i:i + 64])
    best = max(best, len(texts) / (time.process_time() - c))
print(json.dumps({"texts_per_s": best, "load_s": load_s,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _f(x: float) -> float:
    return round(float(x), 4)


def accurate_figures(ddir: Path, res: dict[str, Any]) -> dict[str, Any]:
    """Add the accurate tier's keys to `res` (which holds the fast tier's `texts_per_s` and `peak_rss_mb`)."""
    from hubbub.analysis.accurate.training import tweeteval_rows
    from hubbub.analysis.services import accurate_status, get_accurate_analyzer, get_analyzer

    acc, fast = get_accurate_analyzer(), get_analyzer()
    if "texts_per_s" in res:
        res["fast.texts_per_s"] = res["texts_per_s"]
        # a full run starts from a fresh `res`; a standalone run keeps the fast figure its file already holds
        res.setdefault("fast.peak_rss_mb", res.get("peak_rss_mb"))
    if acc is None:
        res["accurate.error"] = accurate_status()[1]
        print(f"accurate tier unavailable: {res['accurate.error']}")
        return res
    res["accurate.model_version"] = acc.version
    res["accurate.sources"] = {k: v for k, v in acc.heads.meta.items() if k.endswith(("_source", "_dev", "_cv"))}
    test = [r for r in data.load_airline(ddir) if r.split == "test"]
    texts = [r.text for r in test]
    x = acc.encoder.embed(texts)
    airline = [AnalysisContext(industry="airline")] * len(test)
    pa = acc.refine(texts, airline, fast.analyze_batch(texts, airline), x=x)
    y = [r.sentiment for r in test]
    # as shipped: an airline brand's mentions keep the fast tier's sentiment (the rule chosen on airline dev)
    res["accurate.sentiment_accuracy"] = _f(accuracy_score(y, [a.sentiment for a in pa]))
    res["accurate.sentiment_macro_f1"] = _f(f1_score(y, [a.sentiment for a in pa], average="macro"))
    # the encoder's sentiment head alone, as every other brand's mentions get it
    head = acc.heads.heads["sentiment"]
    hp = [head.classes[i] for i in head.proba(x).argmax(axis=1)]
    res["accurate.sentiment_head_accuracy"] = _f(accuracy_score(y, hp))
    res["accurate.sentiment_head_macro_f1"] = _f(f1_score(y, hp, average="macro"))
    # the topic of negative test tweets with a known reason, as the fast tier's `topic_*` (airline preset)
    neg = [(r.topic, a.topic) for r, a in zip(test, pa, strict=True) if r.topic and a.topic]
    res["accurate.topic_accuracy_labelled"] = _f(accuracy_score([t for t, _ in neg], [p for _, p in neg]))
    res["accurate.topic_n_labelled"] = len(neg)

    te = tweeteval_rows("test", ddir)
    te_y = [t[1] for t in te]
    for tier, model in (("accurate", acc), ("fast", fast)):
        preds = [a.sentiment for a in model.analyze_batch([t[0] for t in te])]
        res[f"{tier}.tweeteval_macro_f1"] = _f(f1_score(te_y, preds, average="macro"))
    res["accurate.tweeteval_n"] = len(te)

    g_eval = [g for g in data.load_gold() if g.split == "eval"]
    ga = acc.analyze_batch([g.text for g in g_eval])
    yi, hi = [g.intent for g in g_eval], [a.intent for a in ga]
    present = [n for n in INTENTS if n in yi]
    res["accurate.intent_macro_f1"] = _f(f1_score(yi, hi, average="macro", labels=present))
    res["accurate.intent_accuracy"] = _f(accuracy_score(yi, hi))
    for src in ("airline", "twcs"):
        sel = [i for i, g in enumerate(g_eval) if g.source.startswith(src)]
        res[f"accurate.complaint_f1_{src}"] = _f(
            f1_score([yi[i] == "complaint" for i in sel], [hi[i] == "complaint" for i in sel])
        )

    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", ACCURATE_SPEED, str(ddir)], capture_output=True, text=True, check=True, env=env
    )
    speed = json.loads(out.stdout.strip().splitlines()[-1])
    res["accurate.texts_per_s"] = round(speed["texts_per_s"], 1)
    res["accurate.load_s"] = round(speed["load_s"], 3)
    res["accurate.peak_rss_mb"] = round(speed["peak_rss_mb"], 1)
    # the budget is for the whole worker: both tiers loaded in one process
    res["peak_rss_mb"] = max(res.get("fast.peak_rss_mb") or 0.0, res["accurate.peak_rss_mb"])
    from hubbub.analysis.accurate.heads import DEFAULT_HEADS_PATH

    res["accurate.heads_size_kb"] = round(DEFAULT_HEADS_PATH.stat().st_size / 1024, 1)
    return res


def main() -> dict[str, Any]:
    res: dict[str, Any] = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    res = accurate_figures(data.shared_dir(), res)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    for k in sorted(k for k in res if k.startswith(("accurate.", "fast."))) + ["peak_rss_mb"]:
        print(f"{k:<34}{res.get(k)!s:>14}")
    print(f"wrote {RESULTS}")
    return res


if __name__ == "__main__":
    main()
