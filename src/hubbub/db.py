"""Fast bulk writes for the ingest hot path.

Django's `bulk_update` builds one CASE WHEN expression per field per row, which costs
milliseconds per row; the pipeline instead sends one parameterised UPDATE/INSERT
through `executemany`, with values prepared by the model fields themselves so both
SQLite and PostgreSQL get exactly what the ORM would store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, models
from django.db.models import Model

_PLAIN = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.FloatField,
    models.BooleanField,
    models.ForeignKey,
    models.BigAutoField,
    models.AutoField,
)


def _preparer(field: Any) -> Callable[[Any], Any]:
    """A per-field value converter; plain types pass through (the hot path), others use the field."""
    if isinstance(field, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value  # type: ignore[no-any-return]
    if isinstance(field, _PLAIN) and not isinstance(field, models.DecimalField):
        return lambda v: v
    return lambda v: field.get_db_prep_save(v, connection)


def fast_update(objs: Sequence[Model], fields: Sequence[str]) -> None:
    """UPDATE each row's `fields` by primary key, in one executemany."""
    if not objs:
        return
    model = type(objs[0])
    meta = model._meta
    concrete = [meta.get_field(name) for name in fields]
    qn = connection.ops.quote_name
    assignments = ", ".join(f"{qn(f.column)} = %s" for f in concrete)  # type: ignore[union-attr]
    sql = f"UPDATE {qn(meta.db_table)} SET {assignments} WHERE {qn(meta.pk.column)} = %s"  # type: ignore[union-attr]
    preps = [(f.attname, _preparer(f)) for f in concrete]  # type: ignore[union-attr]
    rows = [[prep(getattr(obj, name)) for name, prep in preps] + [obj.pk] for obj in objs]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def fast_insert(objs: Sequence[Model]) -> None:
    """INSERT rows without returning keys (use where ids are not needed right away)."""
    if not objs:
        return
    model = type(objs[0])
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    for obj in objs:
        for f in fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                f.pre_save(obj, add=True)  # type: ignore[attr-defined]
    qn = connection.ops.quote_name
    cols = ", ".join(qn(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {qn(meta.db_table)} ({cols}) VALUES ({marks})"
    preps = [(f.attname, _preparer(f)) for f in fields]
    rows = [[prep(getattr(obj, name)) for name, prep in preps] for obj in objs]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
