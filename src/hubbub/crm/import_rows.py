"""Writing one chunk of a CRM file: customers, orders, or brand-provided handle mappings.

Each `*_chunk(org_id, chunk, cols, report, seen, touched)` gets `(line, row)` pairs and runs inside the
chunk's transaction (`crm.importing.run_stream`): bad rows go to `report` (quarantined with their reason),
`seen` keeps the keys met earlier in the file (a repeat is a duplicate), `touched` collects the customers
whose orders changed, for the totals recomputed at the end.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from hubbub.crm import matching
from hubbub.crm.import_columns import FIELDS, get
from hubbub.crm.models import Customer, IdentityLink, Order, SocialProfile
from hubbub.crm.services import prepare_customer, sync_identifiers, tier_for, tier_rules
from hubbub.dates import parse_datetime

#: An order export's ambiguous `01/03/2026` is 1 March, as the CRM import always read a date without a time
#: (`31/12/2026` and `12/31/2026 10:00` are read the only way they can be, whatever this says).
DAY_FIRST = True


def _dec(value: str) -> Decimal:
    v = (value or "").replace(",", "").replace("$", "").replace("€", "").replace("£", "").strip()
    try:
        return Decimal(v) if v else Decimal("0")
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc


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


def customers_chunk(org_id, chunk, cols, report, seen, touched):  # type: ignore[no-untyped-def]
    parsed: list[tuple[int, dict[str, Any], dict[str, str]]] = []
    for line, row in chunk:
        vals: dict[str, Any] = {f: get(row, cols, f) for f in FIELDS["customers"]}
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
        prepare_customer(c)
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


def _link(org_id: int, profile: SocialProfile, customer: Customer, method: str, handle: str, seen_in: str) -> None:
    """Attach `profile` to `customer` with a sure link: the file said which customer owns the handle."""
    profile.customer_id = customer.pk
    profile.save(update_fields=["customer"])
    IdentityLink.objects.create(
        organization_id=org_id,
        profile=profile,
        customer=customer,
        method=method,
        status=IdentityLink.Status.AUTO,
        confidence=1.0,
        evidence={"identifier": f"handle:{handle}", "seen_in": seen_in},
    )


def _link_known_handles(org_id: int, customers: list[Customer]) -> None:
    """Profiles already seen under a handle now stored on a customer are linked at once."""
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
        _link(org_id, p, c, "handle", matching.norm_handle(p.handle), seen_in="import")


def orders_chunk(org_id, chunk, cols, report, seen, touched):  # type: ignore[no-untyped-def]
    parsed = []
    for line, row in chunk:
        v: dict[str, Any] = {f: get(row, cols, f) for f in FIELDS["orders"]}
        if not v["customer"]:
            report.reject(line, "no customer id or email", row)
            continue
        try:
            v["ordered_at"] = parse_datetime(v["ordered_at"], day_first=DAY_FIRST)
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


def mapping_chunk(org_id, chunk, cols, report, seen, touched):  # type: ignore[no-untyped-def]
    """Brand-provided mapping rows (customer id or email, network, handle): a strong link."""
    rows = []
    for line, row in chunk:
        v = {f: get(row, cols, f) for f in FIELDS["mapping"]}
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
            _link(org_id, p, c, "mapping", h, seen_in="mapping")
