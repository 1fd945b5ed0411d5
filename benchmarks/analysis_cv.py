"""Choose the intent and journey heads' settings by 5-fold cross-validation on the gold *train* rows.

The held-out gold rows are the test set and are never read here. Weak rows
(crowd-sentiment airline tweets, Bitext) always stay on the training side of
a fold; only gold rows are scored. Uses the featurizer and sentiment blend of
a trained model (default: the shipped one; pass a path to use another), so the
heads see exactly the inputs they get at run time.

    python benchmarks/analysis_cv.py [MODEL.joblib.gz]

Prints macro-F1 per setting and writes benchmarks/results/analysis_cv.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

from hubbub.analysis import data
from hubbub.analysis.model import DEFAULT_MODEL_PATH, HubbubModel
from hubbub.analysis.train import _bitext_rows, _fit_lr, head_rows

RESULTS = Path(__file__).resolve().parent / "results" / "analysis_cv.json"
INTENT_GRID = [(c, w) for c in (0.5, 1.0, 2.0, 4.0) for w in (0.5, 1.0)]
JOURNEY_GRID = [1.0, 2.0, 4.0, 8.0]


def main() -> dict[str, object]:
    model = HubbubModel.load(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_MODEL_PATH)
    ddir = data.shared_dir()
    gold = data.load_gold() + data.load_gold2()[0] + data.load_gold3()[0]
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
    for label, grid in (("intent", INTENT_GRID), ("journey", JOURNEY_GRID)):
        scores: dict[str, float] = {}
        for setting in grid:
            c, ww = setting if isinstance(setting, tuple) else (setting, None)
            truth: list[str] = []
            pred: list[str] = []
            for tr_idx, te_idx in folds:
                fold_train = [gold_train[i] for i in tr_idx]
                i_rows, j_rows = head_rows(fold_train, weak, bitext, {}, weak_weight=ww)
                rows = i_rows if label == "intent" else j_rows
                clf = _fit_lr(inputs([r[0] for r in rows]), [r[1] for r in rows], [r[2] for r in rows], c, True)
                held = [gold_train[i] for i in te_idx]
                truth += [g.intent if label == "intent" else g.journey_stage for g in held]
                pred += list(clf.predict(inputs([g.text for g in held])))
            key = f"C={c}" + (f",weak={ww}" if ww is not None else "")
            scores[key] = round(float(f1_score(truth, pred, average="macro")), 4)
            print(f"{label} {key}: CV macro-F1 {scores[key]:.4f}", flush=True)
        out[label] = scores
        out[f"{label}_best"] = max(scores, key=lambda k: scores[k])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return out


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
