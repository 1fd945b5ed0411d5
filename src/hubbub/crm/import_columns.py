"""Which column of a CRM file feeds which field: the fields of each format and the header spellings known.

Why a module of its own: the import (`crm.importing`), the row writers (`crm.import_rows`) and the upload
page's column mapping (`crm.import_jobs`, `crm.views`) all read the same field lists.
"""

from __future__ import annotations

from hubbub import textfiles

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


def column_names(fields: list[str]) -> list[str]:
    """The header names that feed `fields`: the field names and their `ALIASES`."""
    return [*fields, *(a for f in fields for a in ALIASES.get(f, []))]


def delimiter(fmt: str, header_line: str, mapping: dict[str, str] | None) -> str:
    """`,` or the `;`/tab/`|` a European spreadsheet or a TSV export uses, judged by the known column names."""
    return textfiles.sniff_delimiter(header_line, [*column_names(FIELDS.get(fmt, [])), *(mapping or {}).values()])


def get(row: dict[str, str], cols: dict[str, str], f: str) -> str:
    """Field `f` of a row, stripped; empty when the file has no column for it."""
    c = cols.get(f)
    return (row.get(c) or "").strip() if c else ""
