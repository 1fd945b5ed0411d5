"""The audit-log page and its CSV export (streamed, so a long history never sits in memory)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from hubbub.csv_export import csv_response
from hubbub.tenancy.scoping import Scope
from hubbub.web.views.common import scoped_view
from hubbub.workflow.services.audit_log import audit_events
from hubbub.workflow.services.audit_sentences import describe, resolve_names


def _parse_day(value: str) -> datetime | None:
    from datetime import UTC

    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC) if value else None
    except ValueError:
        return None


CSV_HEADER = ["time", "actor", "verb", "target_type", "target_id", "data"]


@scoped_view
def audit_log(request: HttpRequest, scope: Scope) -> HttpResponse | StreamingHttpResponse:
    g = request.GET
    qs = audit_events(
        scope,
        verb=g.get("verb", "").strip(),
        actor=g.get("actor", "").strip(),
        target=g.get("target", "").strip(),
        since=_parse_day(g.get("since", "")),
        until=_parse_day(g.get("until", "")),
    )
    if g.get("format") == "csv":
        rows = (
            [
                e.created_at.isoformat(),
                e.actor.get_username() if e.actor else "system",
                e.verb,
                e.target_type,
                e.target_id,
                _json(e.data),
            ]
            for e in qs.iterator(chunk_size=2000)
        )
        return csv_response("audit-log.csv", CSV_HEADER, rows)
    events = list(qs[:200])
    names = resolve_names(scope.organization_id, events)
    entries = [(e, describe(e, names)) for e in events]
    keep = {k: v for k, v in g.items() if v and k != "format"}
    from urllib.parse import urlencode

    return render(
        request,
        "workflow/audit.html",
        {"entries": entries, "f": keep, "csv_query": urlencode({**keep, "format": "csv"})},
    )


def _json(data: Any) -> str:
    import json

    return json.dumps(data, sort_keys=True, default=str)
