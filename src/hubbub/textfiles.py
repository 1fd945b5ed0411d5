"""Reading the text files customers hand us: CSV exports from spreadsheets, CRMs and social tools.

Why one module: the same export ("CSV" from Excel in Paris) arrives through `hubbub classify`,
`hubbub import` and the web upload, and each must read it the same way. No Django here, so the
fast `hubbub classify` path can use it.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, TextIO, cast

#: Delimiters tried, in order, when a header does not name the expected columns with commas.
DELIMITERS = (",", ";", "\t", "|")
#: Byte-order marks of UTF-16 (little and big endian): "Unicode text" exports of spreadsheets.
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _cp1252_fallback(err: UnicodeError) -> tuple[str, int]:
    """Decode stray non-UTF-8 bytes as Windows-1252 instead of failing the whole file."""
    assert isinstance(err, UnicodeDecodeError)
    bad = err.object[err.start : err.end]
    return bytes(bad).decode("cp1252", errors="replace"), err.end


codecs.register_error("hubbub_cp1252", _cp1252_fallback)


def decode(raw: bytes) -> tuple[str, str]:
    """The text of a file and how it was read: "utf-8", "utf-16" or "utf-8 + windows-1252".

    A byte-order mark decides; otherwise UTF-8, where every byte that is not valid UTF-8 is read
    as Windows-1252: a spreadsheet's "café" stays "café" instead of a replacement character, and a
    file that mixes both (appended exports) loses nothing.
    """
    if raw.startswith(UTF16_BOMS):
        return raw.decode("utf-16", errors="replace"), "utf-16"
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("utf-8-sig", errors="hubbub_cp1252"), "utf-8 + windows-1252"


def header_names(line: str, delimiter: str = ",") -> list[str]:
    """Column names of a header line, stripped."""
    return [h.strip() for h in next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter), [])]


def find_column(names: list[str], wanted: str) -> int | None:
    """Index of a column: the exact name first, then a unique case-insensitive match ("Text" for "text")."""
    if wanted in names:
        return names.index(wanted)
    folded = [i for i, n in enumerate(names) if n.casefold() == wanted.strip().casefold()]
    return folded[0] if len(folded) == 1 else None


def sniff_delimiter(header_line: str, expected: Collection[str]) -> str:
    """The delimiter under which the header names the most `expected` columns (comma on a tie or none).

    Why not `csv.Sniffer`: it guesses from the data rows and is fooled by commas inside
    free text; the header and the column names we look for are a far better witness.
    """
    best, best_hits = ",", 0
    for delimiter in DELIMITERS:
        names = header_names(header_line, delimiter)
        hits = sum(1 for w in expected if find_column(names, w) is not None)
        if hits > best_hits:
            best, best_hits = delimiter, hits
    return best


_SEP_HINT = re.compile(r'"?sep=(.)"?[,;\t|]*\r?')


def sep_hint(first_line: str) -> str | None:
    """The delimiter named by Excel's `sep=;` first line (written by tools that export "for Excel"), or None.
    The line is a hint, not the header: callers skip it."""
    m = _SEP_HINT.fullmatch(first_line.lstrip("\ufeff"))
    return m.group(1) if m else None


def open_text(path: Path, undecodable: str = "hubbub_cp1252") -> TextIO:
    """A file (gzip when it ends in .gz) opened for streaming with the same rules as `decode`.

    Why streaming: a full Customer Support on Twitter export is ~500 MB; read whole, decoded and split it
    needed several times that in memory. NUL bytes (a known defect of some exports) are dropped, as
    `csv` and JSON cannot hold them. Lines keep their endings (`newline=""`) so quoted newlines survive.
    `undecodable="surrogateescape"` keeps bytes that are not UTF-8 as U+DC80–U+DCFF instead, for formats
    where such a byte is an error of its row (JSON Lines is UTF-8 by definition), not a spreadsheet's habit.
    """
    return wrap(open_binary(path), undecodable)


def open_binary(path: Path) -> BinaryIO:
    """The bytes of a file, gunzipped when it ends in .gz: for importers that read from a stream (`wrap`)."""
    return cast(BinaryIO, gzip.open(path, "rb")) if path.suffix == ".gz" else path.open("rb")


def wrap(raw: BinaryIO, undecodable: str = "hubbub_cp1252") -> io.TextIOWrapper:
    """A seekable binary stream (a file, an upload, bytes kept in the database) read as text by the rules of
    `decode`, line by line. The one place that decides how customers' bytes become text, so a file reads the
    same through the CLI (`open_text`) and the web upload."""
    head = raw.read(2)
    raw.seek(0)
    if head in UTF16_BOMS:
        return io.TextIOWrapper(raw, encoding="utf-16", errors="replace", newline="")
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors=undecodable, newline="")


def lines_without_nul(fh: Iterable[str]) -> Iterator[str]:
    """`fh`'s lines with NUL characters removed (see `open_text`)."""
    for line in fh:
        yield line.replace("\x00", "") if "\x00" in line else line
