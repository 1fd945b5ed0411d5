"""Fast bulk writes for the ingest hot path.

Django's `bulk_update` builds one CASE WHEN expression per field per row, which costs
milliseconds per row; the pipeline instead sends one parameterised UPDATE/INSERT
through `executemany`, with values prepared by the model fields themselves so both
SQLite and PostgreSQL get exactly what the ORM would store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC
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


def _sqlite_datetime(value: Any) -> Any:
    """What Django's SQLite backend stores for an aware datetime (naive UTC text), without its overhead."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return str(value)


def _preparer(field: Any) -> Callable[[Any], Any]:
    """A per-field value converter; plain types pass through (the hot path), others use the field."""
    if isinstance(field, models.DateTimeField):
        if connection.vendor == "sqlite" and connection.timezone == UTC:
            return _sqlite_datetime
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
    assignments = ", ".join(f"{qn(str(f.column))} = %s" for f in concrete)  # type: ignore[union-attr]
    sql = f"UPDATE {qn(meta.db_table)} SET {assignments} WHERE {qn(str(meta.pk.column))} = %s"  # type: ignore[union-attr]
    preps = [(f.attname, _preparer(f)) for f in concrete]  # type: ignore[union-attr]
    rows = [[prep(getattr(obj, name)) for name, prep in preps] + [obj.pk] for obj in objs]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def reserve_ids(model: type[Model], n: int) -> list[int]:
    """Reserve n primary keys in one query, so bulk inserts can skip RETURNING.

    PostgreSQL draws them from the table's sequence; SQLite runs writers one at a time
    (our transactions are IMMEDIATE, so the write lock is held from BEGIN) and the next
    free ids are max(id, sqlite_sequence) + 1 …
    """
    if n <= 0:
        return []
    table = model._meta.db_table
    pk = str(model._meta.pk.column)  # type: ignore[union-attr]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, pk, n])
            return [int(row[0]) for row in cursor.fetchall()]
        qn = connection.ops.quote_name
        cursor.execute(f"SELECT COALESCE(MAX({qn(pk)}), 0) FROM {qn(table)}")
        top = int(cursor.fetchone()[0])
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        start = max(top, int(row[0]) if row else 0) + 1
    return list(range(start, start + n))


def fast_insert(objs: Sequence[Model], with_pk: bool = False, ignore_conflicts: bool = False) -> None:
    """INSERT rows in one executemany, without RETURNING.

    `with_pk=True` inserts the primary keys already set on the objects (see `reserve_ids`);
    `ignore_conflicts=True` skips rows that violate a unique constraint (same SQL on both backends).
    """
    if not objs:
        return
    model = type(objs[0])
    meta = model._meta
    fields = [f for f in meta.concrete_fields if with_pk or not f.primary_key]
    for obj in objs:
        for f in fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                f.pre_save(obj, add=True)  # type: ignore[attr-defined]
    qn = connection.ops.quote_name
    cols = ", ".join(qn(str(f.column)) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {qn(meta.db_table)} ({cols}) VALUES ({marks})"
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    preps = [(f.attname, _preparer(f)) for f in fields]
    rows = [[prep(getattr(obj, name)) for name, prep in preps] for obj in objs]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def fast_insert_dicts(model: type[Model], rows: Sequence[dict[str, Any]], ignore_conflicts: bool = False) -> None:
    """INSERT plain dicts (attname → value) in one executemany, skipping model instantiation.

    The hot path builds tens of thousands of rows a second; `Model.__init__` alone would cost more
    than the database. Columns missing from the dicts take the field's default.
    """
    if not rows:
        return
    meta = model._meta
    given = set(rows[0])
    fields = [f for f in meta.concrete_fields if f.attname in given or not f.primary_key]
    preps = []
    for f in fields:
        if f.attname in given:
            preps.append((f.attname, _preparer(f), None))
        else:
            default = f.get_db_prep_save(f.get_default(), connection) if not getattr(f, "auto_now_add", False) else None
            preps.append((None, None, default))
    qn = connection.ops.quote_name
    cols = ", ".join(qn(str(f.column)) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {qn(meta.db_table)} ({cols}) VALUES ({marks})"
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    values = [
        [prep(row[name]) if name is not None else default for name, prep, default in preps]  # type: ignore[misc]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)
