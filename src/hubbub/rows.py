"""Plain rows of a model for the hot paths: named fields, no `Model.__init__`.

The ingest pipeline reads and rewrites thousands of conversations and profiles a second. A model
instance per row cost more than the SQL, so those paths hold plain slotted rows instead. Three
modules once wrote the same hand-made class (slots, annotations, `_meta`, values unpacked by
position); `row_class` makes them one way:

    @row_class(Conversation)
    class ConversationRow:
        pk: int
        status: str
        ...

    rows = [ConversationRow(*values) for values in fetch_values(Conversation, columns(ConversationRow), ...)]
    fast_update(rows, ["status"])

The decorated class is a slotted dataclass whose field order is `columns(cls)`, so a row of values read in
that order builds it positionally and every later access is by name. Each field must be a field (or
attname) of the model, or have a default: a renamed model field fails at import, not in a batch.
`_meta` is the model's, so `db.fast_update` writes these rows exactly as it writes model objects.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model

T = TypeVar("T")


@dataclass_transform(eq_default=False)
def row_class(model: type[Model]) -> Callable[[type[T]], type[T]]:
    """Class decorator: a slotted row of `model` with the annotated fields, in their order."""

    def make(cls: type[T]) -> type[T]:
        row: Any = dataclasses.dataclass(slots=True, eq=False)(cls)
        pk_name = str(model._meta.pk.attname)  # type: ignore[union-attr]
        names = tuple(pk_name if f.name == "pk" else f.name for f in dataclasses.fields(row))
        for f in dataclasses.fields(row):
            _check_field(model, cls.__name__, f)
        row._meta = model._meta
        row._columns = names
        return row  # type: ignore[no-any-return]

    return make


def _check_field(model: type[Model], name: str, f: dataclasses.Field[Any]) -> None:
    """A field that is neither the model's nor defaulted is a typo or a rename: say which."""
    if f.name == "pk":
        return
    try:
        model._meta.get_field(f.name)
    except FieldDoesNotExist:
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise TypeError(
                f"{name}.{f.name} is not a field of {model.__name__} and has no default (renamed?)"
            ) from None


def columns(row_cls: type) -> tuple[str, ...]:
    """The columns of a `row_class` in field order (the primary key by its column name, `pk` being no
    column): read these, and a row of values builds the class positionally."""
    return row_cls._columns  # type: ignore[attr-defined, no-any-return]
