"""The customer list as CSV (Customers → Export): one row per customer, streamed.

Why apart from the imports: an export reads customers and writes text; it shares no code with reading files.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from hubbub.crm.models import Customer

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
