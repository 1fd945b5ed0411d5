"""Plain rows of a model for the hot paths: named fields, no `Model.__init__`, no values by position.

The ingest pipeline reads and rewrites thousands of conversations and profiles a second. A model
instance per row cost more than the SQL, so those paths hold plain slotted rows instead. Three
modules once wrote the same hand-made class (slots, annotations, `_meta`, values unpacked by
position); `row_class` makes them one way, and the readers below build its rows, so no caller
indexes a fetched tuple:

    @row_class(Conversation)
    class ConversationRow:
        pk: int
        status: str
        ...

    rows = rows_in(ConversationRow, "id", ids)   # or fetch_rows / rows_by_key / values_rows
    fast_update(rows, ["status"])

The decorated class is a slotted dataclass whose field order is `columns(cls)`, so a row of values read in
that order builds it positionally and every later access is by name (typed: mypy knows the fields).
Each field is a field (or attname) of the model, or an ORM lookup through its relations
(`author__customer__tier`, read with `values_rows` only); a field with a default is not read but starts at
its default (a value the caller computes, such as routing's priority). A renamed model field fails at
import, not in a batch. `_meta` is the model's, so `db.fast_update` writes these rows exactly as it writes
model objects.

Why a dataclass and not a NamedTuple: the hot-path rows are changed in place and written back; building
one from 19 values costs ~1.3 µs against ~0.7 µs for `tuple.__new__`, a few milliseconds per 10,000
mentions, far below the noise of a batch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar, dataclass_transform

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model, QuerySet

from hubbub.db import chunked, fetch_values, in_list

T = TypeVar("T")
R = TypeVar("R")


@dataclass_transform(eq_default=False)
def row_class(model: type[Model]) -> Callable[[type[T]], type[T]]:
    """Class decorator: a slotted row of `model` with the annotated fields, in their order."""

    def make(cls: type[T]) -> type[T]:
        row: Any = dataclasses.dataclass(slots=True, eq=False)(cls)
        pk_name = str(model._meta.pk.attname)  # type: ignore[union-attr]
        fields = dataclasses.fields(row)
        for f in fields:
            _check_field(model, cls.__name__, f)
        row._meta = model._meta
        row._columns = tuple(pk_name if f.name == "pk" else f.name for f in fields)
        row._read = tuple(
            pk_name if f.name == "pk" else f.name
            for f in fields
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        )
        return row  # type: ignore[no-any-return]

    return make


def _check_field(model: type[Model], name: str, f: dataclasses.Field[Any]) -> None:
    """A field that is neither the model's (nor a lookup through its relations) nor defaulted is a typo or
    a rename: say which."""
    if f.name == "pk":
        return
    meta = model._meta
    try:
        for part in f.name.split("__"):
            related = meta.get_field(part).related_model
            if related is not None and not isinstance(related, str):
                meta = related._meta
    except FieldDoesNotExist:
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise TypeError(
                f"{name}.{f.name} is not a field of {model.__name__} and has no default (renamed?)"
            ) from None


def columns(row_cls: type) -> tuple[str, ...]:
    """The columns of a `row_class` in field order (the primary key by its column name, `pk` being no
    column), defaulted fields included."""
    return row_cls._columns  # type: ignore[attr-defined, no-any-return]


def read_columns(row_cls: type) -> tuple[str, ...]:
    """The columns the readers fetch: every field without a default, in field order (those come first in a
    dataclass, so a row of these values builds the class positionally)."""
    return row_cls._read  # type: ignore[attr-defined, no-any-return]


def fetch_rows(row_cls: type[R], where: str, params: Sequence[Any], order_by: str = "") -> list[R]:
    """Rows of `row_cls` from one table (`db.fetch_values`: raw SQL, dates made aware, JSON decoded,
    booleans as booleans); `where` is SQL with %s placeholders."""
    model = row_cls._meta.model  # type: ignore[attr-defined]
    return [row_cls(*values) for values in fetch_values(model, read_columns(row_cls), where, params, order_by)]


def rows_in(
    row_cls: type[R], column: str, values: Sequence[Any], where: str = "", params: Sequence[Any] = ()
) -> list[R]:
    """Rows whose `column` is one of `values` (and `where`, if given), in chunks under SQLite's parameter
    limit. Callers that filter by organisation check it on the rows when the IN list is by primary key:
    with `organization_id = …` in the WHERE clause SQLite walks the organisation's whole index instead."""
    out: list[R] = []
    for chunk in chunked(values):
        member, member_params = in_list(column, chunk)
        cond = f"{member} AND {where}" if where else member
        out.extend(fetch_rows(row_cls, cond, [*member_params, *params]))
    return out


def rows_by_key(row_cls: type[R], org_id: int, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], R]:
    """`(network, external_id)` → row, for the keys of one organisation that are stored; `row_cls` has both
    fields. One query per network and chunk, on the `(organization, network, external_id)` unique index."""
    by_net: dict[str, list[str]] = {}
    for net, ext in keys:
        by_net.setdefault(net, []).append(ext)
    out: dict[tuple[str, str], R] = {}
    for net, ids in by_net.items():
        for row in rows_in(
            row_cls, "external_id", list(dict.fromkeys(ids)), "organization_id = %s AND network = %s", [org_id, net]
        ):
            out[(net, row.external_id)] = row  # type: ignore[attr-defined]
    return out


def values_rows(row_cls: type[R], queryset: QuerySet[Any]) -> list[R]:
    """Rows of `row_cls` through the ORM's `values_list`: for fields that are lookups across relations
    (`author__customer__tier`), which `fetch_rows` (one table) cannot read."""
    return [row_cls(*values) for values in queryset.values_list(*read_columns(row_cls))]
