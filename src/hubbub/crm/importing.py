"""CSV imports of customers, orders and brand-provided handle mappings; CSV export of customers.

`run(org_id, fmt, path, mapping)` is what `hubbub import customers|orders|mapping FILE` and
the upload page call. A mapping says which file column feeds which field
(`{"email": "E-mail", "name": "Full Name"}`); columns named like the fields map themselves.
Bad rows are quarantined with their reason (Settings → Quarantine); nothing is lost silently.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import transaction

from hubbub.crm import matching
from hubbub.crm.models import Customer, Order, SocialProfile
from hubbub.crm.services import _prepare, recompute_customers, sync_identifiers
from hubbub.ingest.models import QuarantinedEvent
from hubbub.tenancy.services import audit

CHUNK = 2000

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


class _Report:
    def __init__(self) -> None:
        self.imported = self.updated = self.rejected = self.duplicates = 0
        self.reasons: Counter[str] = Counter()
        self.quarantine: list[QuarantinedEvent] = []

    def reject(self, org_id: int, source: str, where: str, reason: str, row: dict[str, str]) -> None:
        self.rejected += 1
        self.reasons[reason.split(":")[0]] += 1
        self.quarantine.append(
            QuarantinedEvent(
                organization_id=org_id, source=source, location=where[:200], reason=reason[:500], raw=str(row)[:20000]
            )
        )

    def flush(self) -> None:
        if self.quarantine:
            QuarantinedEvent.objects.bulk_create(self.quarantine, batch_size=500)
            self.quarantine = []


def run(
    org_id: int,
    fmt: str,
    path: Path | str,
    mapping: dict[str, str] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    actor: Any = None,
) -> dict[str, Any]:
    """Import a CSV file; re-running updates rows instead of adding them twice."""
    if fmt == "surveys":
        raise ValueError("survey import belongs to the insights app; it is not available here yet")
    if fmt not in FIELDS:
        raise ValueError(f"unknown CRM format {fmt!r}; use customers, orders or mapping")
    path = Path(path)
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return run_stream(org_id, fmt, fh, path.name, mapping, on_progress, actor)


def run_stream(
    org_id: int,
    fmt: str,
    fh: io.TextIOBase | Any,
    name: str,
    mapping: dict[str, str] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    actor: Any = None,
) -> dict[str, Any]:
    reader = csv.DictReader(fh)
    header = list(reader.fieldnames or [])
    cols, unknown = resolve_columns(fmt, header, mapping)
    report = _Report()
    source = f"import:{fmt}"
    handler = {"customers": _customers_chunk, "orders": _orders_chunk, "mapping": _mapping_chunk}[fmt]
    seen: set[str] = set()
    touched: set[int] = set()
    chunk: list[tuple[int, dict[str, str]]] = []
    done = 0
    for line, row in enumerate(reader, start=2):
        chunk.append((line, row))
        if len(chunk) >= CHUNK:
            with transaction.atomic():
                handler(org_id, chunk, cols, report, seen, touched, f"{name}", source)
                report.flush()
            done += len(chunk)
            chunk = []
            if on_progress:
                on_progress(done, 0)
    if chunk:
        with transaction.atomic():
            handler(org_id, chunk, cols, report, seen, touched, f"{name}", source)
            report.flush()
        done += len(chunk)
        if on_progress:
            on_progress(done, 0)
    if fmt == "orders" and touched:
        recompute_customers(org_id, touched)
    summary = {
        "read": done,
        "imported": report.imported,
        "updated": report.updated,
        "rejected": report.rejected,
        "duplicates": report.duplicates,
        "unknown_columns": unknown,
        "rejection_reasons": dict(report.reasons),
    }
    audit(
        org_id,
        actor,
        f"crm.import.{fmt}",
        None,
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


def _customers_chunk(org_id, chunk, cols, report, seen, touched, name, source):  # type: ignore[no-untyped-def]
    parsed: list[tuple[int, dict[str, Any], dict[str, str]]] = []
    for line, row in chunk:
        where = f"{name}:{line}"
        vals: dict[str, Any] = {f: _get(row, cols, f) for f in FIELDS["customers"]}
        if not any(vals[f] for f in ("external_id", "name", "email", "phone")):
            report.reject(org_id, source, where, "no name, email, phone or id", row)
            continue
        if vals["email"] and not matching.norm_email(vals["email"]):
            report.reject(org_id, source, where, f"invalid email: {vals['email']}", row)
            continue
        try:
            vals["lifetime_value"] = _dec(vals["lifetime_value"]) if vals["lifetime_value"] else None
            vals["order_count"] = int(vals["order_count"]) if vals["order_count"] else None
        except ValueError as exc:
            report.reject(org_id, source, where, f"invalid number: {exc}", row)
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
    profiles = []
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


def _orders_chunk(org_id, chunk, cols, report, seen, touched, name, source):  # type: ignore[no-untyped-def]
    parsed = []
    for line, row in chunk:
        where = f"{name}:{line}"
        v = {f: _get(row, cols, f) for f in FIELDS["orders"]}
        if not v["customer"]:
            report.reject(org_id, source, where, "no customer id or email", row)
            continue
        try:
            v["ordered_at"] = _date(v["ordered_at"])
            v["amount"] = _dec(v["amount"])
        except ValueError as exc:
            report.reject(org_id, source, where, f"invalid value: {exc}", row)
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
            report.reject(org_id, source, f"{name}:{line}", f"unknown customer: {v['customer']}", row)
            continue
        o = existing.get(v["external_id"]) if v["external_id"] else None
        if o is not None:
            touched.add(o.customer_id)
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


def _mapping_chunk(org_id, chunk, cols, report, seen, touched, name, source):  # type: ignore[no-untyped-def]
    """Brand-provided mapping rows (customer id or email, network, handle): a strong link."""
    from hubbub.crm.models import IdentityLink

    rows = []
    for line, row in chunk:
        v = {f: _get(row, cols, f) for f in FIELDS["mapping"]}
        if not v["customer"] or not matching.norm_handle(v["handle"]):
            report.reject(org_id, source, f"{name}:{line}", "needs customer and handle", row)
            continue
        rows.append((line, v, row))
    keys = [v["customer"] for _, v, _ in rows]
    by_ext, by_email = _existing_customers(org_id, keys, [k.lower() for k in keys if "@" in k])
    changed: dict[int, Customer] = {}
    pairs: list[tuple[Customer, str, str]] = []
    for line, v, row in rows:
        c = by_ext.get(v["customer"]) or by_email.get(v["customer"].lower())
        if c is None:
            report.reject(org_id, source, f"{name}:{line}", f"unknown customer: {v['customer']}", row)
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
