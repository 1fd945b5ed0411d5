"""Limits for uploaded files (customers, orders, identity maps, surveys): size, columns, line and field length.

Why: a customer CSV whose header had 1,000,000 columns was accepted; its column-mapping page was 382 MB of
HTML, took 126 s and the server grew to 1.8 GB. Every upload is now checked here before anything is built
from it, by reading only its first line: a request body past `UPLOAD_MAX_BYTES` is not even stored
(`LimitedUploadHandler`, installed for every upload in settings), a header line past
`UPLOAD_MAX_HEADER_CHARS` or with more than `UPLOAD_MAX_COLUMNS` columns is refused, and so is a line past
`UPLOAD_MAX_LINE_CHARS` or a field past `UPLOAD_MAX_FIELD_CHARS` where rows are read. Each refusal says which
limit was reached and what to do (`UploadRefused`, a ValueError, shown on the page).

Django's own limits do not cover this: `DATA_UPLOAD_MAX_MEMORY_SIZE` leaves file parts out, and
`FILE_UPLOAD_MAX_MEMORY_SIZE` only decides when an upload moves from memory to a temporary file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat

DEFAULTS = {
    "UPLOAD_MAX_BYTES": 50 * 1024 * 1024,
    "UPLOAD_MAX_COLUMNS": 500,
    "UPLOAD_MAX_HEADER_CHARS": 100_000,
    "UPLOAD_MAX_LINE_CHARS": 1_000_000,
    "UPLOAD_MAX_FIELD_CHARS": 131_072,  # the csv module's own limit, so both agree
}
_REFUSED_ATTR = "_hubbub_upload_refused"


class UploadRefused(ValueError):
    """An upload past one of the limits; the message names the limit and what to do."""


def limit(name: str) -> int:
    return int(getattr(settings, name, DEFAULTS[name]))


def too_large(size: int, max_bytes: int, cli: str = "hubbub import FORMAT FILE") -> str:
    return (
        f"The file is too large ({filesizeformat(size)}; the limit is {filesizeformat(max_bytes)}). "
        f"Split it into smaller files, or run “{cli}” on the server."
    )


def header_line(fh: TextIO) -> str:
    """The first line of `fh`, read no further than the header limit allows."""
    most = limit("UPLOAD_MAX_HEADER_CHARS")
    line = fh.readline(most + 1)
    if len(line) > most and not line.endswith(("\n", "\r")):
        raise UploadRefused(
            f"The header (the first line) is longer than {most:,} characters. Check that the file is a CSV "
            "export with one header row, or remove the columns you do not import, and upload it again."
        )
    return line


def check_header(header: list[str]) -> None:
    """Refuse a header with more columns than the limit: each becomes a choice on the mapping page."""
    most = limit("UPLOAD_MAX_COLUMNS")
    if len(header) > most:
        raise UploadRefused(
            f"The file has {len(header):,} columns; the limit is {most:,}. Keep only the columns you import "
            "(delete the others in your spreadsheet) and upload it again."
        )


def bounded_lines(lines: Iterable[str], first_line_number: int = 2) -> Iterator[str]:
    """The lines of a file, refusing one past the line limit (with its number)."""
    most = limit("UPLOAD_MAX_LINE_CHARS")
    for number, line in enumerate(lines, start=first_line_number):
        if len(line) > most:
            raise UploadRefused(
                f"Line {number:,} is longer than {most:,} characters. Check that the file is CSV text with one "
                "row per line (not a single line), or shorten that row, and upload it again."
            )
        yield line


def check_fields(row: list[str], line_number: int) -> None:
    most = limit("UPLOAD_MAX_FIELD_CHARS")
    for value in row:
        if len(value) > most:
            raise UploadRefused(
                f"A value in row {line_number:,} is longer than {most:,} characters. Shorten it, or check that "
                "the file's quotes are balanced (an open quote runs on to the end), and upload it again."
            )


def csv_problem(exc: csv.Error) -> UploadRefused:
    """A csv module error as a refusal a user can act on."""
    if "field larger than field limit" in str(exc):
        most = limit("UPLOAD_MAX_FIELD_CHARS")
        return UploadRefused(
            f"A value is longer than {most:,} characters. Shorten it, or check that the file's quotes are "
            "balanced (an open quote runs on to the end), and upload it again."
        )
    return UploadRefused(f"The file could not be read as CSV: {exc}.")


def refused(request: HttpRequest) -> str | None:
    """Why the upload of this request was not stored (`LimitedUploadHandler`), or None."""
    reason = getattr(request, _REFUSED_ATTR, None)
    return str(reason) if reason else None


class LimitedUploadHandler(FileUploadHandler):
    """First in `FILE_UPLOAD_HANDLERS`: stops storing a request's files once its body passes
    `UPLOAD_MAX_BYTES` (announced or counted), so no page can be made to fill the memory or the disk; the
    view reads the reason with `refused()`."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.received = 0
        self.announced = 0

    def handle_raw_input(
        self, input_data: Any, META: Any, content_length: int, boundary: Any, encoding: str | None = None
    ) -> None:
        # Only noted here: Django stops an upload cleanly from receive_data_chunk, not from this hook.
        self.announced = int(content_length or 0)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        most = limit("UPLOAD_MAX_BYTES")
        if self.announced > most or self.received > most:
            if self.request is not None:
                setattr(self.request, _REFUSED_ATTR, too_large(max(self.announced, self.received), most))
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None
