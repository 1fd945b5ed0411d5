"""Pages of the analysis app: everyone sees how good the model is, and how often agents agreed with it.

The evaluation page reads the figures packaged with the model, so it works on an
installed copy without the benchmark files. The label-correction form's choices
are here (`label_choices`); saving the form changes an inbox message, so its view
is the inbox's (`hubbub.inbox.label_views`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from hubbub.analysis import services
from hubbub.analysis.brand_topics import topic_names
from hubbub.analysis.models import LabelCorrection
from hubbub.analysis.types import INTENTS, JOURNEY_STAGES, SENTIMENTS
from hubbub.tenancy.models import Brand
from hubbub.tenancy.scoping import Scope, scoped
from hubbub.web.views.common import scoped_view

REPO_ROOT = Path(__file__).resolve().parents[3]
CONFUSION_NAMES = ("sentiment", "tweeteval", "topic", "intent", "journey")
FIGURE_ROWS = (
    ("sentiment_accuracy", "Airline sentiment accuracy", "≥ 0.84"),
    ("sentiment_macro_f1", "Airline sentiment macro-F1", "≥ 0.78"),
    ("tweeteval_macro_f1", "TweetEval macro-F1 (out of domain)", "≥ 0.60"),
    ("topic_macro_f1", "Complaint topic macro-F1", "≥ 0.55"),
    ("topic_accuracy", "Complaint topic accuracy", "≥ 0.70"),
    ("intent_macro_f1", "Intent macro-F1 (gold held-out)", "≥ 0.75"),
    ("journey_macro_f1", "Journey stage macro-F1 (gold held-out)", "aim 0.65"),
    ("topic_airline_share_non_airline", "Complaints to non-airline brands given an airline topic", "≤ 0.02"),
    ("texts_per_s", "Texts per second, one core", "≥ 5,000"),
    ("peak_rss_mb", "Peak memory (MB)", "≤ 300"),
)


def label_choices(brand: Brand | None = None) -> dict[str, tuple[str, ...]]:
    """The values offered in the correction form, per label; topics are those of the message's brand."""
    return {
        "sentiment": SENTIMENTS,
        "intent": INTENTS,
        "topic": topic_names(brand) + ("other",),
        "journey_stage": JOURNEY_STAGES,
    }


def _benchmark(model_meta: dict[str, Any]) -> dict[str, Any]:
    """Benchmark figures: the checkout's latest JSON if present, else the copy packaged with the model."""
    path = REPO_ROOT / "benchmarks" / "results" / "analysis.json"
    if path.exists():
        try:
            return dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            pass
    return dict(model_meta.get("benchmark") or {})


def _confusion_tables(bench: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for name, cm in (bench.get("confusion") or {}).items():
        labels, matrix = cm.get("labels", []), cm.get("matrix", [])
        hi = max((max(r) for r in matrix if r), default=0) or 1
        # At most 60% blue under the dark text keeps a contrast of 4.5:1 (WCAG AA) in the busiest cell.
        rows = [
            {"label": lab, "cells": [{"n": n, "heat": round(0.6 * n / hi, 2)} for n in r]}
            for lab, r in zip(labels, matrix, strict=False)
        ]
        png = REPO_ROOT / "docs" / "img" / f"confusion_{name}.png"
        out.append({"name": name, "title": cm.get("title", name), "labels": labels, "rows": rows, "png": png.exists()})
    return out


def agreement(scope: Scope) -> dict[str, Any]:
    """How often agents kept the model's label, overall and per label."""
    qs = scoped(LabelCorrection.objects.all(), scope, brand_field="message__brand_id")
    per: dict[str, dict[str, Any]] = {}
    total = agreed = 0
    for name, old, new in qs.values_list("label_name", "old_value", "new_value"):
        row = per.setdefault(name, {"label": name.replace("_", " "), "n": 0, "agreed": 0})
        row["n"] += 1
        total += 1
        if old == new:
            row["agreed"] += 1
            agreed += 1
    for row in per.values():
        row["rate"] = row["agreed"] / row["n"]
    return {"n": total, "agreed": agreed, "rate": agreed / total if total else None, "per_label": list(per.values())}


@scoped_view
def evaluation(request: HttpRequest, scope: Scope) -> HttpResponse:
    """The model's version, its benchmark figures and confusion matrices, and agents' corrections."""
    analyzer = services.get_analyzer()
    meta: dict[str, Any] = dict(getattr(analyzer, "meta", {}) or {})
    bench = _benchmark(meta)
    baselines = bench.get("baselines") or {}
    figures = [
        {
            "key": key,
            "label": label,
            "target": target,
            "value": bench.get(key),
            "vader": (baselines.get("vader") or {}).get(key),
            "tfidf_lr": (baselines.get("tfidf_lr") or {}).get(key),
            # a second annotator's blind labels scored like the model: what people agree on (intent, journey)
            "human": (bench.get("human_agreement") or {}).get(key),
        }
        for key, label, target in FIGURE_ROWS
    ]
    recent = scoped(LabelCorrection.objects.all(), scope, brand_field="message__brand_id").select_related(
        "message", "corrected_by", "message__conversation"
    )[:50]
    return render(
        request,
        "analysis/evaluation.html",
        {
            "version": analyzer.version,
            "bench": bench,
            "bench_version": bench.get("model_version", ""),
            "figures": figures,
            "confusions": _confusion_tables(bench),
            "agreement": agreement(scope),
            "recent": recent,
            # the accurate tier's version, or why it did not load (the product then runs on the fast tier)
            **dict(zip(("accurate_version", "accurate_reason"), services.accurate_status(), strict=True)),
        },
    )


@scoped_view
def confusion_png(request: HttpRequest, scope: Scope, name: str) -> FileResponse:
    """A confusion-matrix image generated by `benchmarks/analysis.py` (checkouts only)."""
    if name not in CONFUSION_NAMES:
        raise Http404("Not found")
    path = REPO_ROOT / "docs" / "img" / f"confusion_{name}.png"
    if not path.exists():
        raise Http404("Not found")
    return FileResponse(path.open("rb"), content_type="image/png")
