"""File imports onto the main road: parse → quarantine bad rows → accept → process.

Used by `hubbub import` and the demo. Re-running an import adds nothing twice
because `accept()` is idempotent on (network, external id).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils.text import slugify

from hubbub.connectors.csv_import import AIRLINE_HANDLES, PARSERS, ParsedRow
from hubbub.connectors.events import InboundEvent
from hubbub.ingest.models import QuarantinedEvent
from hubbub.ingest.services import accept, enqueue_processing, process_batch
from hubbub.tenancy.models import Brand

CHUNK = 2000


@dataclass
class ImportSummary:
    read: int = 0
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    quarantined_in_pipeline: int = 0
    unknown_columns: list[str] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "read": self.read,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "rejected": self.rejected + self.quarantined_in_pipeline,
            "unknown_columns": self.unknown_columns,
            "rejection_reasons": self.reasons,
        }


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
) -> ImportSummary:
    """Import a file; `on_progress(bytes_done_estimate, total)` drives the CLI progress bar."""
    if fmt not in PARSERS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(sorted(PARSERS))}")
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    stats, rows = PARSERS[fmt](path, brand)
    summary = ImportSummary()
    source = f"import:{fmt}"
    buffer: list[ParsedRow] = []
    names: dict[str, str] = {}
    if brand:
        names[slugify(brand)] = brand

    def flush() -> None:
        good = [r.event for r in buffer if r.event is not None]
        bad = [r for r in buffer if r.event is None]
        if bad:
            QuarantinedEvent.objects.bulk_create(
                [
                    QuarantinedEvent(
                        organization_id=org_id,
                        source=source,
                        location=r.location[:200],
                        reason=r.error[:500],
                        raw=r.raw,
                    )
                    for r in bad
                ]
            )
            summary.rejected += len(bad)
            for r in bad:
                key = r.error.split(":")[0][:60]
                summary.reasons[key] = summary.reasons.get(key, 0) + 1
        if good:
            for ev in good:
                if fmt == "airline" and not brand:
                    names.setdefault(ev.brand_slug, _airline_name(ev))
            with transaction.atomic():
                ensure_brands(org_id, good, names)
            result = accept(org_id, good, source)
            summary.imported += result.accepted
            summary.duplicates += result.duplicates
            if process:
                for i in range(0, len(result.raw_ids), 500):
                    batch = process_batch(result.raw_ids[i : i + 500])
                    summary.quarantined_in_pipeline += batch.quarantined
                    summary.imported -= batch.quarantined
            else:
                enqueue_processing(result.raw_ids)
        buffer.clear()

    for row in rows:
        summary.read += 1
        buffer.append(row)
        if len(buffer) >= CHUNK:
            flush()
            if on_progress:
                on_progress(summary.read, 0)
    flush()
    if on_progress:
        on_progress(summary.read, 0)
    summary.unknown_columns = stats.unknown_columns
    return summary


def _airline_name(ev: InboundEvent) -> str:
    for name in AIRLINE_HANDLES:
        if slugify(name) == ev.brand_slug:
            return name
    return ev.brand_slug.replace("-", " ").title()
