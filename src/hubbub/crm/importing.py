"""CSV imports of customers, orders and brand-provided handle mappings: reading the file in chunks.

`run(org_id, fmt, path, mapping)` is what `hubbub import customers|orders|mapping FILE` calls; the
upload page stores the file on an `ImportJob` and a Huey task runs it through `run_stream` with the same
chunked code and live progress (`crm.import_jobs`). A mapping says which file column feeds which field
(`{"email": "E-mail", "name": "Full Name"}`); columns named like the fields map themselves
(`crm.import_columns`). Each chunk is written by the format's writer in `crm.import_rows`.
Bad rows are quarantined with their reason (Settings → Quarantine); nothing is lost silently.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from itertools import chain, islice
from pathlib import Path
from typing import Any

from django.db import transaction

from hubbub import textfiles
from hubbub.crm import import_rows
from hubbub.crm.import_columns import FIELDS, delimiter, resolve_columns
from hubbub.crm.services import recompute_customers
from hubbub.importreport import ImportReport
from hubbub.tenancy.services import audit

CHUNK = 2000


def parse_mapping(items: Iterable[str]) -> dict[str, str]:
    """`["email=E-mail,name=Full Name"]` → {"email": "E-mail", "name": "Full Name"}."""
    out: dict[str, str] = {}
    for item in items:
        for part in item.split(","):
            if "=" in part:
                k, v = part.split("=", 1)
                out[k.strip()] = v.strip()
    return out


def run(
    org_id: int,
    fmt: str,
    path: Path | str,
    mapping: dict[str, str] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    actor: Any = None,
) -> dict[str, Any]:
    """Import a CSV file; re-running updates rows instead of adding them twice."""
    if fmt not in FIELDS:
        raise ValueError(f"unknown CRM format {fmt!r}; use customers, orders or mapping")
    path = Path(path)
    # read as it is imported, with every import's decoding rules: a spreadsheet's Windows-1252 export is read
    with textfiles.open_text(path) as fh:
        return run_stream(org_id, fmt, fh, path.name, mapping, on_progress, actor)


def run_stream(
    org_id: int,
    fmt: str,
    fh: io.TextIOBase | Any,
    name: str,
    mapping: dict[str, str] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    actor: Any = None,
    *,
    report: ImportReport | None = None,
    chunk_size: int = CHUNK,
    target: Any = None,
) -> dict[str, Any]:
    """Import rows in chunks of `chunk_size`, one transaction each; `on_progress(rows done, 0)` after each.

    A caller that wants the running counts (the import job) passes its own `report`; `target` is the
    row the closing audit entry points at.
    """
    first = fh.readline()
    reader = csv.DictReader(chain([first], fh), delimiter=delimiter(fmt, first, mapping))
    header = list(reader.fieldnames or [])
    cols, unknown = resolve_columns(fmt, header, mapping)
    report = report or ImportReport(org_id, f"import:{fmt}", name)
    handler = {
        "customers": import_rows.customers_chunk,
        "orders": import_rows.orders_chunk,
        "mapping": import_rows.mapping_chunk,
    }[fmt]
    seen: set[str] = set()
    touched: set[int] = set()
    rows = enumerate(reader, start=2)
    done = 0
    while chunk := list(islice(rows, chunk_size)):
        with transaction.atomic():
            handler(org_id, chunk, cols, report, seen, touched)
            report.flush()
        done += len(chunk)
        if on_progress:
            on_progress(done, 0)
    if fmt == "orders" and touched:
        recompute_customers(org_id, touched)
    report.read, report.unknown_columns = done, unknown
    summary = report.summary()
    audit(
        org_id,
        actor,
        f"crm.import.{fmt}",
        target,
        file=name,
        **{k: v for k, v in summary.items() if k != "rejection_reasons"},
    )
    return summary
