"""Choose the intent and journey heads' settings by 5-fold cross-validation on the gold *train* rows.

The held-out gold rows are the test set and are never read here. Weak rows
(crowd-sentiment airline tweets, Bitext) always stay on the training side of
a fold; only gold rows are scored. Uses the featurizer and sentiment blend of
a trained model (default: the shipped one; pass a path to use another), so the
heads see exactly the inputs they get at run time.

    python benchmarks/analysis_cv.py [MODEL.joblib.gz] [--intent C:WEAK_WEIGHT] [--journey C]

(`--intent`/`--journey` score one setting instead of the grid.) For the best
setting it then fits per-class offsets to the heads' decision scores that
maximise the out-of-fold macro-F1 (coordinate ascent on a coarse grid):
class-balanced weights alone still under-predict the rarest classes, and
macro-F1 counts each class equally. The offsets are added to the shipped
heads' intercepts by `train` (no run-time cost).

Prints macro-F1 per setting and writes benchmarks/results/analysis_cv.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

from hubbub.analysis import data
from hubbub.analysis.model import DEFAULT_MODEL_PATH, HubbubModel
from hubbub.analysis.train import _bitext_rows, _fit_lr, head_rows

RESULTS = Path(__file__).resolve().parent / "results" / "analysis_cv.json"
INTENT_GRID = [(c, w) for c in (0.5, 1.0, 2.0, 4.0) for w in (0.5, 1.0)]
JOURNEY_GRID = [1.0, 2.0, 4.0, 8.0]


BIAS_GRID = np.arange(-1.5, 1.51, 0.25)


def fit_offsets(truth: list[str], scores: np.ndarray, classes: list[str]) -> tuple[dict[str, float], float]:
    """Per-class offsets to the decision scores that maximise macro-F1 (two coordinate-ascent passes)."""
    y = np.asarray(truth)
    names = np.asarray(classes)

    def f1(b: np.ndarray) -> float:
        return float(f1_score(y, names[(scores + b).argmax(axis=1)], average="macro"))

    b = np.zeros(len(classes))
    best = f1(b)
    for _ in range(2):
        for k in range(len(classes)):
            for v in BIAS_GRID:
                trial = b.copy()
                trial[k] = v
                got = f1(trial)
                if got > best + 0.002:  # only a clear gain moves an offset off zero
                    best, b = got, trial
    return {c: float(v) for c, v in zip(classes, b, strict=True)}, best


def main() -> dict[str, object]:
    parser = argparse.ArgumentParser()
    parser.add_argument("model", nargs="?", default=str(DEFAULT_MODEL_PATH))
    parser.add_argument("--intent", help="one setting C:WEAK_WEIGHT instead of the grid")
    parser.add_argument("--journey", type=float, help="one C instead of the grid")
    args = parser.parse_args()
    model = HubbubModel.load(args.model)
    intent_grid = [tuple(float(v) for v in args.intent.split(":"))] if args.intent else INTENT_GRID
    journey_grid = [args.journey] if args.journey else JOURNEY_GRID
    ddir = data.shared_dir()
    gold = data.load_gold() + data.load_gold2()[0] + data.load_gold3()[0] + data.load_gold4()[0]
    gold_train = [g for g in gold if g.split == "train"]
    eval_ids = {g.id for g in gold if g.split == "eval"}
    weak = [r for r in data.load_airline(ddir) if r.split in ("train", "dev") and r.tweet_id not in eval_ids]
    bitext = _bitext_rows(ddir, per_intent=40)
    print(f"model {model.version}; gold train rows {len(gold_train)}")

    # every text any fold can see, vectorised once: folds only pick rows
    i_all, j_all = head_rows(gold_train, weak, bitext, {})
    texts = sorted({r[0] for r in i_all + j_all})
    at = {t: i for i, t in enumerate(texts)}
    x, v, d = model.featurizer.transform_all(texts)
    matrix = model._head_inputs(x, model.sentiment_proba(x, v, d)).tocsr()

    def inputs(rows: list[str]) -> object:
        return matrix[[at[t] for t in rows]]

    folds = list(StratifiedKFold(5, shuffle=True, random_state=11).split(gold_train, [g.intent for g in gold_train]))
    out: dict[str, object] = {"model_version": model.version, "n_gold_train": len(gold_train)}
    for label, grid in (("intent", intent_grid), ("journey", journey_grid)):
        scores: dict[str, float] = {}
        oof: dict[str, tuple[list[str], np.ndarray, list[str]]] = {}
        for setting in grid:
            c, ww = setting if isinstance(setting, tuple) else (setting, None)
            truth: list[str] = []
            pred: list[str] = []
            decision: list[np.ndarray] = []
            classes: list[str] = []
            for tr_idx, te_idx in folds:
                fold_train = [gold_train[i] for i in tr_idx]
                i_rows, j_rows = head_rows(fold_train, weak, bitext, {}, weak_weight=ww)
                rows = i_rows if label == "intent" else j_rows
                clf = _fit_lr(inputs([r[0] for r in rows]), [r[1] for r in rows], [r[2] for r in rows], c, True)
                held = [gold_train[i] for i in te_idx]
                truth += [g.intent if label == "intent" else g.journey_stage for g in held]
                xh = inputs([g.text for g in held])
                pred += list(clf.predict(xh))
                classes = [str(k) for k in clf.classes_]  # every fold has every class (stratified, >= 9 each)
                decision.append(np.asarray(clf.predict_log_proba(xh)))
            key = f"C={c}" + (f",weak={ww}" if ww is not None else "")
            scores[key] = round(float(f1_score(truth, pred, average="macro")), 4)
            oof[key] = (truth, np.vstack(decision), classes)
            print(f"{label} {key}: CV macro-F1 {scores[key]:.4f}", flush=True)
        best_key = max(scores, key=lambda k: scores[k])
        offsets, with_offsets = fit_offsets(*oof[best_key])
        print(f"{label} {best_key}: offsets {offsets} -> CV macro-F1 {with_offsets:.4f}", flush=True)
        out[label] = scores
        out[f"{label}_best"] = best_key
        out[f"{label}_offsets"] = offsets
        out[f"{label}_cv_with_offsets"] = round(with_offsets, 4)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return out


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
