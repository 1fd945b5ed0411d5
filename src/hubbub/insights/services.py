"""Reports. Response times are computed from conversation timestamps the pipeline keeps."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from hubbub.inbox.models import Conversation


def _percentiles(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"count": 0, "p50": None, "p90": None, "p95": None, "mean": None}
    arr = np.asarray(values)
    return {
        "count": len(values),
        "p50": round(float(np.percentile(arr, 50)), 1),
        "p90": round(float(np.percentile(arr, 90)), 1),
        "p95": round(float(np.percentile(arr, 95)), 1),
        "mean": round(float(arr.mean()), 1),
    }


def response_time_report(org_slug: str | None = None, brand_ids: set[int] | None = None) -> dict[str, Any]:
    """First-response and resolution minutes per brand (customer-started conversations only)."""
    qs = Conversation.objects.filter(author__is_brand_account=False)
    if org_slug:
        qs = qs.filter(organization__slug=org_slug)
    if brand_ids is not None:
        qs = qs.filter(brand_id__in=brand_ids)
    first: dict[tuple[str, str], list[float]] = defaultdict(list)
    resolution: dict[tuple[str, str], list[float]] = defaultdict(list)
    totals: dict[tuple[str, str], int] = defaultdict(int)
    rows = qs.values_list("organization__name", "brand__name", "first_message_at", "first_response_at", "resolved_at")
    for org_name, brand_name, started, responded, resolved in rows.iterator(chunk_size=5000):
        key = (org_name, brand_name)
        totals[key] += 1
        if responded is not None:
            first[key].append(max(0.0, (responded - started).total_seconds() / 60))
        if resolved is not None:
            resolution[key].append(max(0.0, (resolved - started).total_seconds() / 60))
    brands = [
        {
            "organization": org_name,
            "brand": brand_name,
            "conversations": totals[(org_name, brand_name)],
            "first_response_minutes": _percentiles(first[(org_name, brand_name)]),
            "resolution_minutes": _percentiles(resolution[(org_name, brand_name)]),
        }
        for org_name, brand_name in sorted(totals)
    ]
    return {"brands": brands}
