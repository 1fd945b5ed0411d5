"""The one CSV writer behind every CSV download (customers, audit log, reports).

Why one: a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a formula by
spreadsheet programs (CSV injection), and the cells of an export hold text that customers and networks wrote.
Each export used to build its own `csv.writer` and only one escaped those cells; with a single writer an
export cannot forget. It streams (a generator of lines for `StreamingHttpResponse`), so an export of a
million rows never sits in memory. `tests/security/test_csv_exports.py` fails on any other `csv.writer`
or `text/csv` response under `src/`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CONTENT_TYPE = "text/csv; charset=utf-8"


def safe_cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading quote (shown, never run).

    Numbers are left alone (a negative number is data, not a formula); None is an empty cell.
    """
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class _Line:
    """A file-like object whose write() returns what was written: csv.writer then yields lines one by one."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[Any]], bom: bool = True) -> Iterator[str]:
    """The header and rows as CSV lines, every cell made safe; a byte-order mark first (by default) so
    spreadsheet programs read UTF-8 names right."""
    writer = csv.writer(_Line())
    if bom:
        yield "\ufeff"
    yield writer.writerow([safe_cell(v) for v in header])
    for row in rows:
        yield writer.writerow([safe_cell(v) for v in row])


def csv_response(filename: str, header: Iterable[str], rows: Iterable[Iterable[Any]]) -> StreamingHttpResponse:
    """A streamed CSV download named `filename` (a plain ASCII name chosen by the server)."""
    response = StreamingHttpResponse(csv_lines(header, rows), content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
