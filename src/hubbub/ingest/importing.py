"""File imports onto the main road: parse → quarantine bad rows → accept → process.

Used by `hubbub import airline|twcs|jsonl` and the demo. Re-running an import adds nothing twice
because `accept()` is idempotent on (network, external id). The result is the `ImportReport` every
file import returns (imported, duplicates, rejected with their reasons, unknown columns), so the CLI
prints one summary for mentions, customers and surveys alike.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.db import transaction
from django.utils.text import slugify

from hubbub.connectors.csv_import import AIRLINE_HANDLES, PARSERS, ParsedRow
from hubbub.connectors.events import InboundEvent
from hubbub.importreport import ImportReport
from hubbub.ingest.services import accept, enqueue_processing, process_batch
from hubbub.tenancy.models import Brand

CHUNK = 2000


def ensure_brands(org_id: int, events: list[InboundEvent], names: dict[str, str]) -> None:
    """Create brands an import names but the organisation lacks (airline, twcs, jsonl)."""
    slugs = {ev.brand_slug for ev in events}
    existing = set(Brand.objects.filter(organization_id=org_id, slug__in=slugs).values_list("slug", flat=True))
    for slug in sorted(slugs - existing):
        handle = next((ev.extra.get("brand_account") for ev in events if ev.brand_slug == slug and ev.extra), None)
        name = names.get(slug) or handle or slug
        Brand.objects.get_or_create(
            organization_id=org_id,
            slug=slug,
            defaults={"name": name, "handles": [handle or AIRLINE_HANDLES.get(name) or name.replace(" ", "")]},
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
    good = [r.event for r in buffer if r.event is not None]
    for r in buffer:
        if r.event is None:
            report.reject(r.line, r.error, r.raw)
    report.flush()
    if good:
        if fmt == "airline" and not brand:
            for ev in good:
                names.setdefault(ev.brand_slug, _airline_name(ev))
        with transaction.atomic():
            ensure_brands(org_id, good, names)
        result = accept(org_id, good, report.source)
        # Rows an earlier run accepted but never got processed (its worker died, a batch failed) are taken
        # up again: re-running the import is how they reach the inbox, so they count as imported.
        resumed = len(result.pending_ids)
        report.imported += result.accepted + resumed
        report.duplicates += result.duplicates - resumed
        raw_ids = result.raw_ids + result.pending_ids
        if process:
            for i in range(0, len(raw_ids), 500):
                quarantined = process_batch(raw_ids[i : i + 500]).quarantined
                report.imported -= quarantined
                report.rejected += quarantined
        else:
            enqueue_processing(raw_ids)
    buffer.clear()


def _airline_name(ev: InboundEvent) -> str:
    for name in AIRLINE_HANDLES:
        if slugify(name) == ev.brand_slug:
            return name
    return ev.brand_slug.replace("-", " ").title()
