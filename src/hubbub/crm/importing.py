"""CSV imports of customers, orders and brand-provided handle mappings; CSV export of customers.

`run(org_id, fmt, path, mapping)` is what `hubbub import customers|orders|mapping FILE` calls; the
upload page stores the file on an `ImportJob` and a Huey task runs it (`create_job` → `start_job` →
`run_job`, below) with the same chunked code and live progress. A mapping says which file column
feeds which field (`{"email": "E-mail", "name": "Full Name"}`); columns named like the fields map
themselves.
Bad rows are quarantined with their reason (Settings → Quarantine); nothing is lost silently.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial
from itertools import chain, islice
from pathlib import Path
from typing import Any, TextIO

from django.conf import settings
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from hubbub import textfiles
from hubbub.crm import matching
from hubbub.crm.models import Customer, ImportJob, Order, SocialProfile
from hubbub.crm.services import _prepare, recompute_customers, sync_identifiers
from hubbub.importreport import ImportReport
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, require_role
from hubbub.tenancy.services import audit

log = logging.getLogger("hubbub.crm")

CHUNK = 2000
# Rejected rows kept on an import job for its page (all of them are in Quarantine).

FIELDS: dict[str, list[str]] = {
    "customers": [
        "external_id",
        "name",
        "email",
        "phone",
        "address",
        "location",
        "handles",
        "lifetime_value",
        "order_count",
    ],
    "orders": ["external_id", "customer", "ordered_at", "amount", "product", "channel"],
    "mapping": ["customer", "network", "handle"],
}
# Header spellings recognised without an explicit mapping.
ALIASES: dict[str, list[str]] = {
    "external_id": ["id", "customer_id", "customer id", "order_id", "order id", "crm_id"],
    "name": ["full name", "full_name", "customer name"],
    "email": ["e-mail", "email address", "mail"],
    "phone": ["telephone", "mobile", "phone number"],
    "location": ["city", "town"],
    "handles": ["handle", "twitter", "twitter handle", "social handles"],
    "lifetime_value": ["ltv", "lifetime value", "total spent"],
    "ordered_at": ["date", "order date", "created_at"],
    "amount": ["total", "value", "price"],
    "customer": ["customer_id", "customer id", "customer_email", "email"],
    "handle": ["twitter", "username", "screen_name"],
}


def parse_mapping(items: Iterable[str]) -> dict[str, str]:
    """`["email=E-mail,name=Full Name"]` → {"email": "E-mail", "name": "Full Name"}."""
    out: dict[str, str] = {}
    for item in items:
        for part in item.split(","):
            if "=" in part:
                k, v = part.split("=", 1)
                out[k.strip()] = v.strip()
    return out


def resolve_columns(fmt: str, header: list[str], mapping: dict[str, str] | None) -> tuple[dict[str, str], list[str]]:
    """Field → column for this file, and the columns nothing reads (reported, not fatal).

    `custom.X=Column` mappings store a column in the customer's custom fields.
    """
    mapping = dict(mapping or {})
    lower = {h.strip().lower(): h for h in header}
    cols: dict[str, str] = {}
    for f in FIELDS[fmt]:
        if f in mapping:
            if mapping[f] not in header:
                raise ValueError(f"mapped column {mapping[f]!r} for {f} is not in the file")
            cols[f] = mapping[f]
        elif f in lower:
            cols[f] = lower[f]
        else:
            for alias in ALIASES.get(f, []):
                if alias in lower and lower[alias] not in cols.values():
                    cols[f] = lower[alias]
                    break
    for k, v in mapping.items():
        if k.startswith("custom.") and v in header:
            cols[k] = v
    unknown = [h for h in header if h not in cols.values()]
    return cols, unknown


def _dec(value: str) -> Decimal:
    v = (value or "").replace(",", "").replace("$", "").replace("€", "").replace("£", "").strip()
    try:
        return Decimal(v) if v else Decimal("0")
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc


def _date(value: str) -> datetime:
    v = (value or "").strip()
    if not v:
        raise ValueError("missing date")
    for fmt in ("%Y-%m-%d %H:%M:%S %z", "%d/%m/%Y", "%m/%d/%Y %H:%M"):
        try:
            d = datetime.strptime(v, fmt)
            break
        except ValueError:
            continue
    else:
        try:
            d = datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(f"not a date: {value!r}") from exc
    return d if d.tzinfo else d.replace(tzinfo=UTC)


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


def _column_names(fields: list[str]) -> list[str]:
    """The header names that feed `fields`: the field names and their `ALIASES`."""
    return [*fields, *(a for f in fields for a in ALIASES.get(f, []))]


def _delimiter(fmt: str, header_line: str, mapping: dict[str, str] | None) -> str:
    """`,` or the `;`/tab/`|` a European spreadsheet or a TSV export uses, judged by the known column names."""
    return textfiles.sniff_delimiter(header_line, [*_column_names(FIELDS.get(fmt, [])), *(mapping or {}).values()])


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
    reader = csv.DictReader(chain([first], fh), delimiter=_delimiter(fmt, first, mapping))
    header = list(reader.fieldnames or [])
    cols, unknown = resolve_columns(fmt, header, mapping)
    report = report or ImportReport(org_id, f"import:{fmt}", name)
    handler = {"customers": _customers_chunk, "orders": _orders_chunk, "mapping": _mapping_chunk}[fmt]
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
    counts = report.counts()
    summary = {"read": done, **counts, "unknown_columns": unknown, "rejection_reasons": counts["rejection_reasons"]}
    audit(
        org_id,
        actor,
        f"crm.import.{fmt}",
        target,
        file=name,
        **{k: v for k, v in summary.items() if k != "rejection_reasons"},
    )
    return summary


def _get(row: dict[str, str], cols: dict[str, str], f: str) -> str:
    c = cols.get(f)
    return (row.get(c) or "").strip() if c else ""


def _existing_customers(
    org_id: int, ext_ids: list[str], emails: list[str]
) -> tuple[dict[str, Customer], dict[str, Customer]]:
    by_ext: dict[str, Customer] = {}
    by_email: dict[str, Customer] = {}
    base = Customer.objects.filter(organization_id=org_id, merged_into__isnull=True)
    for i in range(0, len(ext_ids), 900):
        for c in base.filter(external_id__in=ext_ids[i : i + 900]):
            by_ext[c.external_id] = c
    for i in range(0, len(emails), 900):
        for c in base.filter(email__in=emails[i : i + 900]):
            by_email.setdefault(c.email, c)
    return by_ext, by_email


def _customers_chunk(org_id, chunk, cols, report, seen, touched):  # type: ignore[no-untyped-def]
    parsed: list[tuple[int, dict[str, Any], dict[str, str]]] = []
    for line, row in chunk:
        vals: dict[str, Any] = {f: _get(row, cols, f) for f in FIELDS["customers"]}
        if not any(vals[f] for f in ("external_id", "name", "email", "phone")):
            report.reject(line, "no name, email, phone or id", row)
            continue
        if vals["email"] and not matching.norm_email(vals["email"]):
            report.reject(line, f"invalid email: {vals['email']}", row)
            continue
        try:
            vals["lifetime_value"] = _dec(vals["lifetime_value"]) if vals["lifetime_value"] else None
            vals["order_count"] = int(vals["order_count"]) if vals["order_count"] else None
        except ValueError as exc:
            report.reject(line, f"invalid number: {exc}", row)
            continue
        vals["email"] = vals["email"].lower()
        vals["handles"] = [h for h in vals["handles"].replace(";", ",").replace(" ", ",").split(",") if h.strip()]
        vals["custom"] = {k[7:]: (row.get(c) or "") for k, c in cols.items() if k.startswith("custom.")}
        key = f"x:{vals['external_id']}" if vals["external_id"] else f"e:{vals['email']}" if vals["email"] else ""
        if key and key in seen:
            report.duplicates += 1
            continue
        if key:
            seen.add(key)
        parsed.append((line, vals, row))
    by_ext, by_email = _existing_customers(
        org_id,
        [v["external_id"] for _, v, _ in parsed if v["external_id"]],
        [v["email"] for _, v, _ in parsed if v["email"]],
    )
    new: list[Customer] = []
    changed: list[Customer] = []
    from hubbub.crm.services import tier_for, tier_rules

    rules = tier_rules(org_id)
    for _line, v, _row in parsed:
        c = by_ext.get(v["external_id"]) if v["external_id"] else None
        if c is None and v["email"]:
            c = by_email.get(v["email"])
        is_new = c is None
        if c is None:
            c = Customer(organization_id=org_id)
        for f in ("external_id", "name", "email", "phone", "address", "location"):
            if v[f]:
                setattr(c, f, v[f][:200] if f != "address" else v[f])
        if v["handles"]:
            c.handles = sorted(set(c.handles or []) | set(v["handles"]))
        if v["custom"]:
            c.custom_fields = {**(c.custom_fields or {}), **v["custom"]}
        if v["lifetime_value"] is not None:
            c.lifetime_value = v["lifetime_value"]
        if v["order_count"] is not None:
            c.order_count = v["order_count"]
        c.tier = tier_for(rules, c.order_count, c.lifetime_value)
        _prepare(c)
        (new if is_new else changed).append(c)
    if new:
        Customer.objects.bulk_create(new, batch_size=500)
    if changed:
        Customer.objects.bulk_update(
            changed,
            [
                "external_id",
                "name",
                "email",
                "phone",
                "address",
                "location",
                "handles",
                "custom_fields",
                "lifetime_value",
                "order_count",
                "tier",
                "name_key",
            ],
            batch_size=500,
        )
    report.imported += len(new)
    report.updated += len(changed)
    sync_identifiers(org_id, new + changed)
    _link_known_handles(org_id, new + changed)


def _link_known_handles(org_id: int, customers: list[Customer]) -> None:
    """Profiles already seen under a handle now stored on a customer are linked at once."""
    from hubbub.crm.models import IdentityLink

    by_handle = {h: c for c in customers for h in (c.handles or [])}
    if not by_handle:
        return
    handles = list(by_handle)
    profiles: list[SocialProfile] = []
    for i in range(0, len(handles), 900):
        profiles.extend(
            SocialProfile.objects.filter(
                organization_id=org_id, customer__isnull=True, is_brand_account=False, handle__in=handles[i : i + 900]
            )
        )
    # Handles are stored as written on the network; compare case-insensitively too.
    for p in profiles:
        c = by_handle.get(matching.norm_handle(p.handle))
        if c is None:
            continue
        p.customer_id = c.pk
        p.save(update_fields=["customer"])
        IdentityLink.objects.create(
            organization_id=org_id,
            profile=p,
            customer=c,
            method="handle",
            status=IdentityLink.Status.AUTO,
            confidence=1.0,
            evidence={"identifier": f"handle:{matching.norm_handle(p.handle)}", "seen_in": "import"},
        )


def _orders_chunk(org_id, chunk, cols, report, seen, touched):  # type: ignore[no-untyped-def]
    parsed = []
    for line, row in chunk:
        v: dict[str, Any] = {f: _get(row, cols, f) for f in FIELDS["orders"]}
        if not v["customer"]:
            report.reject(line, "no customer id or email", row)
            continue
        try:
            v["ordered_at"] = _date(v["ordered_at"])
            v["amount"] = _dec(v["amount"])
        except ValueError as exc:
            report.reject(line, f"invalid value: {exc}", row)
            continue
        if v["external_id"]:
            if v["external_id"] in seen:
                report.duplicates += 1
                continue
            seen.add(v["external_id"])
        parsed.append((line, v, row))
    keys = [v["customer"] for _, v, _ in parsed]
    by_ext, by_email = _existing_customers(org_id, keys, [k.lower() for k in keys if "@" in k])
    ext_ids = [v["external_id"] for _, v, _ in parsed if v["external_id"]]
    existing: dict[str, Order] = {}
    for i in range(0, len(ext_ids), 900):
        for o in Order.objects.filter(organization_id=org_id, external_id__in=ext_ids[i : i + 900]):
            existing[o.external_id] = o
    new: list[Order] = []
    changed: list[Order] = []
    for line, v, row in parsed:
        c = by_ext.get(v["customer"]) or by_email.get(v["customer"].lower())
        if c is None:
            report.reject(line, f"unknown customer: {v['customer']}", row)
            continue
        known = existing.get(v["external_id"]) if v["external_id"] else None
        if known is not None:
            touched.add(known.customer_id)
            o = known
        else:
            o = Order(organization_id=org_id, external_id=v["external_id"][:100])
        o.customer_id = c.pk
        o.ordered_at = v["ordered_at"]
        o.amount = v["amount"]
        o.product = v["product"][:200]
        o.channel = v["channel"][:60]
        touched.add(c.pk)
        (changed if o.pk else new).append(o)
    if new:
        Order.objects.bulk_create(new, batch_size=500)
    if changed:
        Order.objects.bulk_update(changed, ["customer", "ordered_at", "amount", "product", "channel"], batch_size=500)
    report.imported += len(new)
    report.updated += len(changed)


def _mapping_chunk(org_id, chunk, cols, report, seen, touched):  # type: ignore[no-untyped-def]
    """Brand-provided mapping rows (customer id or email, network, handle): a strong link."""
    from hubbub.crm.models import IdentityLink

    rows = []
    for line, row in chunk:
        v = {f: _get(row, cols, f) for f in FIELDS["mapping"]}
        if not v["customer"] or not matching.norm_handle(v["handle"]):
            report.reject(line, "needs customer and handle", row)
            continue
        rows.append((line, v, row))
    keys = [v["customer"] for _, v, _ in rows]
    by_ext, by_email = _existing_customers(org_id, keys, [k.lower() for k in keys if "@" in k])
    changed: dict[int, Customer] = {}
    pairs: list[tuple[Customer, str, str]] = []
    for line, v, row in rows:
        c = by_ext.get(v["customer"]) or by_email.get(v["customer"].lower())
        if c is None:
            report.reject(line, f"unknown customer: {v['customer']}", row)
            continue
        c = changed.setdefault(c.pk, c)
        h = matching.norm_handle(v["handle"])
        if h in (c.handles or []):
            report.duplicates += 1
        else:
            c.handles = sorted(set(c.handles or []) | {h})
            report.imported += 1
        pairs.append((c, v["network"].lower(), h))
    if changed:
        Customer.objects.bulk_update(list(changed.values()), ["handles"], batch_size=500)
        sync_identifiers(org_id, list(changed.values()))
    for c, network, h in pairs:
        qs = SocialProfile.objects.filter(organization_id=org_id, handle__iexact=h, is_brand_account=False)
        if network:
            qs = qs.filter(network=network)
        for p in qs.exclude(customer_id=c.pk):
            p.customer_id = c.pk
            p.save(update_fields=["customer"])
            IdentityLink.objects.create(
                organization_id=org_id,
                profile=p,
                customer=c,
                method="mapping",
                status=IdentityLink.Status.AUTO,
                confidence=1.0,
                evidence={"identifier": f"handle:{h}", "seen_in": "mapping"},
            )


# ------------------------------------------------------------------ background import jobs (the upload page)
#
# upload: `create_job` checks size, encoding and header and stores the file on an ImportJob (draft) →
# mapping: `start_job` checks the columns, queues the job and enqueues the task after commit →
# worker: `run_job` claims it, counts the rows and runs `run_stream`, writing progress once per chunk.
# The file lives in the database, so any worker machine can read it; it is emptied when the job ends.

DEFAULT_MAX_UPLOAD_MB = 50
DRAFT_TTL = timedelta(days=1)
STALLED_AFTER = timedelta(minutes=30)
REQUEUE_AFTER = timedelta(minutes=10)
# One field of each group must come from the file, else every row would be rejected.
REQUIRED: dict[str, list[tuple[str, ...]]] = {
    "customers": [("external_id", "name", "email", "phone")],
    "orders": [("customer",)],
    "mapping": [("customer",), ("handle",)],
}
STALLED_MESSAGE = (
    "The worker stopped while importing this file (no progress for 30 minutes). "
    "Rows imported before that are kept; upload the file again to finish."
)


def max_upload_bytes() -> int:
    """The web upload limit: `settings.CRM_IMPORT_MAX_BYTES` (from `HUBBUB_IMPORT_MAX_MB`, default 50 MB)."""
    return int(getattr(settings, "CRM_IMPORT_MAX_BYTES", DEFAULT_MAX_UPLOAD_MB * 1024 * 1024))


def too_large_message(size: int) -> str:
    return (
        f"The file is too large ({filesizeformat(size)}; the limit is {filesizeformat(max_upload_bytes())}). "
        "Split it into smaller files (re-importing is safe), or run “hubbub import customers FILE” on the server."
    )


def read_header(data: bytes) -> tuple[list[str], list[list[str]]]:
    """The header and first three rows of an uploaded file; a ValueError says what is wrong with it.

    Read by the same rules as the CLI and the job (`_open`, `textfiles.wrap`): UTF-8, Windows-1252 and UTF-16
    exports alike, delimiter chosen by the column names. Only what is not text at all is refused."""
    if b"\x00" in data[:8192] and not data.startswith(textfiles.UTF16_BOMS):
        raise ValueError("The file holds binary data, not CSV text (is it an Excel workbook?). Save it as CSV.")
    try:
        fh = _open(data)
        first = fh.readline()
        known = _column_names([f for fields in FIELDS.values() for f in fields])
        reader = csv.reader(chain([first], fh), delimiter=textfiles.sniff_delimiter(first, known))
        header = next(reader, [])
        sample = list(islice(reader, 3))
    except csv.Error as exc:
        raise ValueError(f"The file could not be read as CSV: {exc}.") from exc
    if not any(h.strip() for h in header):
        raise ValueError("The file is empty or its first line is not a header row with the column names.")
    twice = sorted(h for h, n in Counter(header).items() if n > 1 and h.strip())
    if twice:
        raise ValueError(f"Column names must be unique; this file repeats {', '.join(twice)}.")
    return header, sample


def check_columns(fmt: str, header: list[str], mapping: dict[str, str]) -> dict[str, str]:
    """Field → column for a job, refusing a mapping with which every row would be rejected."""
    cols, _unknown = resolve_columns(fmt, header, mapping)
    for group in REQUIRED[fmt]:
        if not any(f in cols for f in group):
            raise ValueError(f"Choose the column for {' or '.join(group)}: without it every row would be rejected.")
    return cols


def create_job(scope: Scope, fmt: str, name: str, data: bytes) -> ImportJob:
    """Store an upload as a draft job, after the quick checks (size, text, header); the mapping comes next."""
    require_role(scope, Role.SUPERVISOR)
    if fmt not in FIELDS:
        raise ValueError(f"unknown CRM format {fmt!r}; use customers, orders or mapping")
    if len(data) > max_upload_bytes():
        raise ValueError(too_large_message(len(data)))
    header, sample = read_header(data)
    return ImportJob.objects.create(
        organization_id=scope.organization_id,
        created_by=scope.user,
        fmt=fmt,
        file_name=(name or "upload.csv")[:255],
        file_size=len(data),
        content=data,
        header=header,
        sample=sample,
    )


def start_job(scope: Scope, job: ImportJob, mapping: dict[str, str]) -> bool:
    """Queue a draft job with the chosen columns; the task is enqueued once the row is committed.

    False if the job was no longer a draft (a second click), so it is never queued twice.
    """
    require_role(scope, Role.SUPERVISOR)
    mapping = {k: v for k, v in mapping.items() if v}
    check_columns(job.fmt, job.header, mapping)
    with transaction.atomic():
        queued = ImportJob.objects.filter(
            pk=job.pk, organization_id=scope.organization_id, status=ImportJob.Status.DRAFT
        ).update(status=ImportJob.Status.QUEUED, mapping=mapping, updated_at=timezone.now())
        if queued:
            transaction.on_commit(partial(_enqueue, job.pk))
    return bool(queued)


def _enqueue(job_id: int) -> None:
    from hubbub.crm.tasks import run_import_job_task

    run_import_job_task(job_id)


def _open(content: bytes) -> TextIO:
    """An uploaded file's bytes as text, by the CLI's rules (`textfiles.wrap`). Decoded as read: a 50 MB file
    does not become a 200 MB string."""
    return textfiles.wrap(io.BytesIO(content))


def run_job(job_id: int) -> str:
    """Import a queued job's file (the Huey task); returns the job's final status.

    Claiming flips queued → running in one UPDATE, so a task delivered twice runs the file once.
    Progress (rows, counts, first rejected rows) is one UPDATE per chunk of `CHUNK` rows.
    """
    now = timezone.now()
    jobs = ImportJob.objects.filter(pk=job_id)
    if not jobs.filter(status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, started_at=now, updated_at=now
    ):
        return "not queued"
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    content = bytes(job.content)  # PostgreSQL hands back a memoryview
    job.content = b""
    report = ImportReport(job.organization_id, f"import:{job.fmt}", job.file_name)

    def progress(done: int, _total: int) -> None:
        jobs.update(
            processed_rows=done,
            created_count=report.imported,
            updated_count=report.updated,
            skipped_count=report.duplicates,
            rejected_count=report.rejected,
            errors=report.errors,
            updated_at=timezone.now(),
        )

    try:
        # DictReader skips blank lines, so they are not counted either.
        jobs.update(total_rows=max(sum(1 for row in csv.reader(_open(content)) if row) - 1, 0))
        summary = run_stream(
            job.organization_id,
            job.fmt,
            _open(content),
            job.file_name,
            job.mapping,
            progress,
            job.created_by,
            report=report,
            chunk_size=CHUNK,
            target=job,
        )
    except Exception as exc:  # the job page must say what happened, whatever it was
        log.exception("import job %s failed", job_id)
        jobs.update(
            status=ImportJob.Status.FAILED,
            message=f"{type(exc).__name__}: {exc}"[:1000],
            errors=report.errors,
            content=b"",
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
        return ImportJob.Status.FAILED
    jobs.update(
        status=ImportJob.Status.DONE,
        total_rows=summary["read"],
        processed_rows=summary["read"],
        created_count=report.imported,
        updated_count=report.updated,
        skipped_count=report.duplicates,
        rejected_count=report.rejected,
        errors=report.errors,
        unknown_columns=summary["unknown_columns"],
        content=b"",
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    return ImportJob.Status.DONE


def sweep_jobs() -> dict[str, int]:
    """Housekeeping (a periodic task): drop abandoned drafts with their files, fail jobs whose worker
    died, and enqueue again queued jobs whose task was lost (claiming makes a second delivery a no-op)."""
    now = timezone.now()
    dropped, _ = ImportJob.objects.filter(status=ImportJob.Status.DRAFT, created_at__lt=now - DRAFT_TTL).delete()
    stalled = ImportJob.objects.filter(status=ImportJob.Status.RUNNING, updated_at__lt=now - STALLED_AFTER).update(
        status=ImportJob.Status.FAILED, message=STALLED_MESSAGE, content=b"", finished_at=now, updated_at=now
    )
    lost = list(
        ImportJob.objects.filter(status=ImportJob.Status.QUEUED, updated_at__lt=now - REQUEUE_AFTER).values_list(
            "pk", flat=True
        )[:100]
    )
    ImportJob.objects.filter(pk__in=lost).update(updated_at=now)
    for pk in lost:
        _enqueue(pk)
    return {"drafts_dropped": dropped, "stalled": stalled, "requeued": len(lost)}


EXPORT_COLUMNS = [
    "id",
    "external_id",
    "name",
    "email",
    "phone",
    "address",
    "location",
    "handles",
    "tier",
    "lifetime_value",
    "order_count",
    "first_purchase_at",
    "last_purchase_at",
    "hubspot_id",
]


def export_rows(customers: Iterable[Customer]) -> Iterator[str]:
    """CSV lines (header first) for a customer list, streamed so large exports use little memory."""
    buf = io.StringIO()
    w = csv.writer(buf)

    def line(values: list[Any]) -> str:
        buf.seek(0)
        buf.truncate()
        w.writerow(values)
        return buf.getvalue()

    yield line(EXPORT_COLUMNS)
    for c in customers:
        row = []
        for col in EXPORT_COLUMNS:
            v = getattr(c, col)
            row.append(";".join(v) if isinstance(v, list) else ("" if v is None else v))
        yield line(row)
