"""Row ids as users send them: in a URL, a query string, a form field or a JSON body.

Both databases store ids as signed 64-bit integers. A larger number typed into a URL or a form used to
travel down to the database driver and fail there (SQLite: OverflowError, PostgreSQL: "out of range"), a
500 for what is only a wrong id. No row can have such an id, so the answer is the one any unknown id gets:
not found (404), or for a form field, no such choice. The API declares the same bound in its schemas
(`hubbub.api.schemas.Id`).
"""

from __future__ import annotations

DB_INT_MAX = 2**63 - 1
DB_INT_MIN = -(2**63)


def storable(value: object) -> bool:
    """Whether `value` can be compared with a database integer column (non-integers are not ours to judge)."""
    return not isinstance(value, int) or isinstance(value, bool) or DB_INT_MIN <= value <= DB_INT_MAX


def parse_id(raw: object) -> int | None:
    """A row id from text (a form field, a query parameter; "#12", as the UI shows conversations, is 12): a
    positive integer the database can hold, else None (empty, not a number, zero, negative or too large),
    which callers treat as "no such row"."""
    text = str(raw).strip().lstrip("#") if raw is not None else ""
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    value = int(text)
    return value if 1 <= value <= DB_INT_MAX else None
