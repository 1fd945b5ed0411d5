"""The customer list as CSV (Customers → Export): one row per customer, streamed.

Why apart from the imports: an export reads customers and writes text; it shares no code with reading files.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse

from hubbub.crm.models import Customer
from hubbub.csv_export import csv_lines, csv_response

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
    """CSV lines (header first) for a customer list, streamed and formula-safe (`hubbub.csv_export`)."""
    return csv_lines(EXPORT_COLUMNS, map(_values, customers))


def export_response(customers: Iterable[Customer]) -> StreamingHttpResponse:
    """Customers → Export: the download, streamed."""
    return csv_response("customers.csv", EXPORT_COLUMNS, map(_values, customers))


def _values(c: Customer) -> list[Any]:
    values = (getattr(c, col) for col in EXPORT_COLUMNS)
    return [";".join(v) if isinstance(v, list) else v for v in values]
