"""File imports onto the main road: parse → quarantine bad rows → accept → process.

Used by `hubbub import airline|twcs|jsonl` and the demo. Re-running an import adds nothing twice
because `accept()` is idempotent on (network, external id). The result is the `ImportReport` every
file import returns (imported, duplicates, rejected with their reasons, unknown columns), so the CLI
prints one summary for mentions, customers and surveys alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from django.db import transaction
from django.utils.text import slugify

from hubbub.connectors.csv_import import AIRLINE_HANDLES, PARSERS, ParsedRow
from hubbub.connectors.events import InboundEvent
from hubbub.importreport import ImportReport
from hubbub.ingest.services import TRANSIENT_ERRORS, accept, enqueue_processing, process_batch
from hubbub.tenancy.models import Brand, industry_for

CHUNK = 2000
log = logging.getLogger("hubbub.ingest")


def ensure_brands(org_id: int, events: list[InboundEvent], names: dict[str, str]) -> None:
    """Create brands an import names but the organisation lacks (airline, twcs, jsonl)."""
    slugs = {ev.brand_slug for ev in events}
    existing = set(Brand.objects.filter(organization_id=org_id, slug__in=slugs).values_list("slug", flat=True))
    for slug in sorted(slugs - existing):
        handle = next((ev.extra.get("brand_account") for ev in events if ev.brand_slug == slug and ev.extra), None)
        if not isinstance(handle, str) or len(handle) > 200:  # a JSON Lines file may hold anything there
            handle = None
        name = (names.get(slug) or handle or slug)[:200]
        Brand.objects.get_or_create(
            organization_id=org_id,
            slug=slug,
            defaults={
                "name": name,
                "handles": [handle or AIRLINE_HANDLES.get(name) or name.replace(" ", "")],
                "industry": industry_for(slug, name, handle or AIRLINE_HANDLES.get(name, "")),
            },
        )


def run_import(
    org_id: int,
    fmt: str,
    path: Path,
    brand: str = "",
    process: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import a file; `on_progress(rows read, 0)` drives the CLI progress bar.

    Rows the parser rejects are quarantined with their reason (`import:FORMAT`, `file:line`); rows the
    pipeline quarantines while processing count as rejected too (their entries are the pipeline's).
    """
    if fmt not in PARSERS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(sorted(PARSERS))}")
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    stats, rows = PARSERS[fmt](path, brand)
    report = ImportReport(org_id, f"import:{fmt}", path.name)
    buffer: list[ParsedRow] = []
    names: dict[str, str] = {}
    if brand:
        names[slugify(brand)] = brand
    for row in rows:
        report.read += 1
        buffer.append(row)
        if len(buffer) >= CHUNK:
            _import_chunk(org_id, fmt, buffer, report, names, brand=brand, process=process)
            if on_progress:
                on_progress(report.read, 0)
    _import_chunk(org_id, fmt, buffer, report, names, brand=brand, process=process)
    if on_progress:
        on_progress(report.read, 0)
    report.unknown_columns = stats.unknown_columns
    return report


def _import_chunk(
    org_id: int,
    fmt: str,
    buffer: list[ParsedRow],
    report: ImportReport,
    names: dict[str, str],
    brand: str,
    process: bool,
) -> None:
    """Quarantine the chunk's bad rows, accept the good ones onto the ingest log, then process (or enqueue) them."""
    for r in buffer:
        if r.event is None:
            report.reject(r.line, r.error, r.raw)
    report.flush()
    rows = [r for r in buffer if r.event is not None]
    events = [r.event for r in rows if r.event is not None]
    if events:
        if fmt == "airline" and not brand:
            for ev in events:
                names.setdefault(ev.brand_slug, airline_name(ev))
        try:
            raw_ids = _store(org_id, events, names, report)
        except TRANSIENT_ERRORS:
            raise
        except Exception as exc:  # a row the database refuses: find it, keep the others
            log.warning("chunk of %s not stored (%s: %s); storing row by row", len(rows), type(exc).__name__, exc)
            raw_ids = _store_one_by_one(org_id, rows, names, report)
        if process:
            for i in range(0, len(raw_ids), 500):
                quarantined = process_batch(raw_ids[i : i + 500]).quarantined
                report.imported -= quarantined
                report.rejected += quarantined
        else:
            enqueue_processing(raw_ids)
    buffer.clear()


def _store(org_id: int, events: list[InboundEvent], names: dict[str, str], report: ImportReport) -> list[int]:
    """Create the brands the events name and commit the events; the raw ids to process.

    Rows an earlier run accepted but never got processed (its worker died, a batch failed) are taken up
    again: re-running the import is how they reach the inbox, so they count as imported.
    """
    with transaction.atomic():
        ensure_brands(org_id, events, names)
    result = accept(org_id, events, report.source)
    resumed = len(result.pending_ids)
    report.imported += result.accepted + resumed
    report.duplicates += result.duplicates - resumed
    return result.raw_ids + result.pending_ids


def _store_one_by_one(org_id: int, rows: list[ParsedRow], names: dict[str, str], report: ImportReport) -> list[int]:
    """After a chunk could not be stored: each row alone, so only the row the database refuses is rejected."""
    raw_ids: list[int] = []
    for r in rows:
        try:
            raw_ids += _store(org_id, [r.event] if r.event is not None else [], names, report)
        except TRANSIENT_ERRORS:
            raise
        except Exception as exc:
            report.reject(r.line, f"could not be stored: {type(exc).__name__}: {exc}", r.raw)
    report.flush()
    return raw_ids


def airline_name(ev: InboundEvent) -> str:
    """The brand's display name for an airline tweet's slug (the demo names its brands the same way)."""
    for name in AIRLINE_HANDLES:
        if slugify(name) == ev.brand_slug:
            return name
    return ev.brand_slug.replace("-", " ").title()
