"""Fast bulk writes for the ingest hot path.

Django's `bulk_update` builds one CASE WHEN expression per field per row, which costs
milliseconds per row; the pipeline instead sends one parameterised UPDATE/INSERT
through `executemany`, with values prepared by the model fields themselves so both
SQLite and PostgreSQL get exactly what the ORM would store.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from operator import attrgetter, itemgetter
from typing import Any

import orjson
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


# A batch writes the same instants many times (a message's time is also its conversation's first,
# last and inbound time; "now" stamps every row): format each once.
_utc_text: dict[datetime, str] = {}


def _sqlite_datetime(value: Any) -> Any:
    """What Django's SQLite backend stores for an aware datetime (naive UTC text), without its overhead."""
    if value is None or isinstance(value, str):
        return value
    tz = value.tzinfo
    if tz is UTC:  # the common case (timezone.now(), parsed ISO "+00:00"): format, don't convert
        text = _utc_text.get(value)
        if text is None:
            if len(_utc_text) > 50_000:
                _utc_text.clear()
            text = _utc_text[value] = value.isoformat(" ")[:-6]
        return text
    if tz is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(" ")


def aware(value: Any) -> Any:
    """A datetime read with a raw cursor, made aware (SQLite hands back naive UTC; PostgreSQL aware values)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def dumps_json(value: Any) -> str:
    """JSON text as the JSON columns store it; orjson is ~10x faster than the json module Django uses."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


_JSON_TEXT = (str, bytes, bytearray, memoryview)


def loads_json(value: Any) -> Any:
    """Decode a JSON column read with a raw cursor (SQLite gives text; psycopg may already give objects)."""
    if isinstance(value, _JSON_TEXT):
        return orjson.loads(value)
    return value


# What no column here can hold: NUL (PostgreSQL refuses it in text and jsonb) and lone surrogates (not
# UTF-8: orjson, psycopg and every JSON reader refuse them). A lone surrogate is valid JSON ("\ud800"), so
# it arrives through perfectly ordinary imports and webhooks.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
#: Nesting kept in JSON values from outside (orjson writes up to 255 levels and reads up to 1024).
MAX_JSON_DEPTH = 32
_INT64 = 2**63


def _unstorable_replacement(match: re.Match[str]) -> str:
    return "" if match.group() == "\x00" else "\ufffd"


def storable_text(value: str) -> str:
    """`value` as every database here can store and read back: NULs dropped, lone surrogates replaced (U+FFFD).

    One C-level scan when there is nothing to fix (the hot path); a copy only when there is.
    """
    if _UNSTORABLE.search(value) is None:
        return value
    return _UNSTORABLE.sub(_unstorable_replacement, value)


def storable_json(value: Any, depth: int = 0) -> Any:
    """A JSON value from outside made storable and readable back on SQLite and PostgreSQL alike.

    Strings (keys too) go through `storable_text`; integers beyond 64 bits become their digits as a
    string, NaN and infinities become null (what orjson writes for them anyway); anything nested deeper
    than `MAX_JSON_DEPTH` or that is not JSON data becomes a short note, since a value either side cannot
    read back would otherwise stall every batch it lands in.
    """
    if isinstance(value, str):
        return storable_text(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if -_INT64 <= value < _INT64 else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict | list | tuple) and depth >= MAX_JSON_DEPTH:
        return f"(nested deeper than {MAX_JSON_DEPTH} levels: dropped)"
    if isinstance(value, dict):
        return {storable_text(str(k)): storable_json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable_json(v, depth + 1) for v in value]
    return storable_text(str(value)[:1000])


def _json_preparer(field: Any) -> Callable[[Any], Any]:
    """orjson for the JSON columns of hot-path rows; values it cannot encode (Decimal, custom
    encoders) go through the field, so what is stored never differs from the ORM's own writes."""
    if field.encoder is not None:
        return lambda v: field.get_db_prep_save(v, connection)
    wrap: Callable[[str], Any] = _identity
    if connection.vendor == "postgresql":
        from psycopg.types.json import Jsonb

        def wrap(text: str) -> Any:  # already JSON text: psycopg must not encode it again
            return Jsonb(text, dumps=_identity)

    def prep(v: Any) -> Any:
        if v is None:
            return field.get_db_prep_save(v, connection)
        try:
            return wrap(dumps_json(v))
        except TypeError:
            return field.get_db_prep_save(v, connection)

    return prep


def _preparer(field: Any) -> Callable[[Any], Any]:
    """A per-field value converter; plain types pass through (the hot path), others use the field."""
    if isinstance(field, models.JSONField):
        return _json_preparer(field)
    if isinstance(field, models.DateTimeField):
        if connection.vendor == "sqlite" and connection.timezone == UTC:
            return _sqlite_datetime
        return connection.ops.adapt_datetimefield_value  # type: ignore[no-any-return]
    if _is_plain(field):
        return _identity
    return lambda v: field.get_db_prep_save(v, connection)


def _identity(value: Any) -> Any:
    return value


def _is_plain(field: Any) -> bool:
    return isinstance(field, _PLAIN) and not isinstance(field, models.DecimalField)


def _row_builder(
    names: Sequence[str], preps: Sequence[Callable[[Any], Any]], by_attr: bool
) -> Callable[[Any], list[Any]]:
    """A function turning one object (or dict) into its parameter list: one C-level getter for all
    columns, then a converter only where a column needs one (dates, JSON); per-column Python
    calls were most of the cost of writing a row."""
    get = attrgetter(*names) if by_attr else itemgetter(*names)
    convert = [(i, prep) for i, prep in enumerate(preps) if prep is not _identity]
    single = len(names) == 1

    def build(obj: Any) -> list[Any]:
        values = [get(obj)] if single else list(get(obj))
        for i, prep in convert:
            values[i] = prep(values[i])
        return values

    return build


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
    names = [str(f.attname) for f in concrete] + ["pk"]  # type: ignore[union-attr]
    build = _row_builder(names, [_preparer(f) for f in concrete] + [_identity], by_attr=True)
    rows = [build(obj) for obj in objs]
    executemany(sql, rows)


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
    build = _row_builder([f.attname for f in fields], [_preparer(f) for f in fields], by_attr=True)
    _insert(meta.db_table, [str(f.column) for f in fields], [build(obj) for obj in objs], ignore_conflicts)


def fast_insert_dicts(model: type[Model], rows: Sequence[dict[str, Any]], ignore_conflicts: bool = False) -> None:
    """INSERT plain dicts (attname → value) in one executemany, skipping model instantiation.

    The hot path builds tens of thousands of rows a second; `Model.__init__` alone would cost more
    than the database. Columns missing from the dicts take the field's default.
    """
    if not rows:
        return
    meta = model._meta
    given = set(rows[0])
    present = [f for f in meta.concrete_fields if f.attname in given]
    # Columns the dicts leave out take the field's default (auto_now_add ones must be given).
    defaults = [
        (f, f.get_db_prep_save(f.get_default(), connection))
        for f in meta.concrete_fields
        if f.attname not in given and not f.primary_key and not getattr(f, "auto_now_add", False)
    ]
    fields = present + [f for f, _ in defaults]
    build = _row_builder([f.attname for f in present], [_preparer(f) for f in present], by_attr=False)
    tail = [value for _, value in defaults]
    values = [build(row) + tail for row in rows] if tail else [build(row) for row in rows]
    _insert(meta.db_table, [str(f.column) for f in fields], values, ignore_conflicts)


def _insert(table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], ignore_conflicts: bool) -> None:
    """INSERT prepared rows. On PostgreSQL, plain inserts go through COPY: the same rows, constraints and
    triggers, without a statement per row (the server's per-statement work was most of the worker's
    time there); `ignore_conflicts` needs ON CONFLICT, which COPY lacks, so those stay INSERTs."""
    qn = connection.ops.quote_name
    cols = ", ".join(qn(c) for c in columns)
    if connection.vendor == "postgresql":
        if not ignore_conflicts:
            _copy(qn(table), cols, rows)
        else:
            _insert_staged(table, columns, rows, "ON CONFLICT DO NOTHING")
        return
    sql = f"INSERT INTO {qn(table)} ({cols}) VALUES ({', '.join(['%s'] * len(columns))})"
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    executemany(sql, rows)


def insert_ignore_returning(
    model: type[Model], rows: Sequence[dict[str, Any]], returning: Sequence[str]
) -> list[tuple[Any, ...]]:
    """INSERT plain dicts (attname → value, the same keys in each) with ON CONFLICT DO NOTHING, and return
    `returning` (column names) of the rows that landed, in one statement per chunk on both backends.

    Why: deduplicating by a unique key and learning which rows were new takes one round trip this way,
    where a look-up first, an insert, then a look-up of what landed took three, and a concurrent writer
    between them is handled by the database, not by us. Keys repeated within `rows` land once.
    """
    if not rows:
        return []
    meta = model._meta
    present = [f for f in meta.concrete_fields if f.attname in rows[0]]
    build = _row_builder([f.attname for f in present], [_preparer(f) for f in present], by_attr=False)
    qn = connection.ops.quote_name
    head = f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(str(f.column)) for f in present)}) VALUES "
    tail = f" ON CONFLICT DO NOTHING RETURNING {', '.join(qn(c) for c in returning)}"
    marks = "(" + ", ".join(["%s"] * len(present)) + ")"
    out: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for chunk in chunked(rows, max(1, 30_000 // len(present))):  # SQLite binds at most 32,766
            params = [value for row in chunk for value in build(row)]
            cursor.execute(head + ", ".join([marks] * len(chunk)) + tail, params)
            out.extend(tuple(r) for r in cursor.fetchall())
    return out


def _copy(table_sql: str, cols_sql: str, rows: Iterable[Sequence[Any]]) -> None:
    import psycopg

    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:  # same connection, same transaction
        with cursor.copy(f"COPY {table_sql} ({cols_sql}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def _insert_staged(table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], on_conflict: str) -> None:
    """PostgreSQL: COPY the rows into a session-local staging table, then one INSERT … SELECT … ON CONFLICT.

    COPY has no ON CONFLICT; one statement for the batch instead of one per row. The staging table has
    only the given columns (no defaults, no sequence) and is emptied after use. Rows are inserted in the
    order given, so callers that sort by key keep concurrent workers taking row locks in the same order.
    """
    qn = connection.ops.quote_name
    cols = ", ".join(qn(c) for c in columns)
    stage = qn(f"_stage_{table}")
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "
            f"SELECT {cols}, 0::bigint AS _pos FROM {qn(table)} WITH NO DATA"
        )
    _copy(stage, f"{cols}, _pos", ([*row, i] for i, row in enumerate(rows)))
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {qn(table)} ({cols}) SELECT {cols} FROM {stage} ORDER BY _pos {on_conflict}")
        cursor.execute(f"DELETE FROM {stage}")


def upsert_add(
    table: str, keys: Sequence[str], values: Sequence[str], conflict: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Additive upsert (`values` are added to the stored row's), identical results on SQLite (>= 3.24) and
    PostgreSQL and safe with concurrent workers. Rows must have unique conflict keys (callers aggregate);
    give them sorted by key so two workers take row locks in the same order (no deadlocks)."""
    if not rows:
        return
    qn = connection.ops.quote_name
    cols = [*keys, *values]
    on_conflict = f"ON CONFLICT ({', '.join(qn(c) for c in conflict)}) DO UPDATE SET " + ", ".join(
        f"{qn(v)} = {qn(table)}.{qn(v)} + excluded.{qn(v)}" for v in values
    )
    if connection.vendor == "postgresql":
        _insert_staged(table, cols, rows, on_conflict)
        return
    marks = ", ".join(["%s"] * len(cols))
    executemany(f"INSERT INTO {qn(table)} ({', '.join(qn(c) for c in cols)}) VALUES ({marks}) {on_conflict}", rows)


def executemany(sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """One statement, many rows. On PostgreSQL through a server-binding psycopg cursor: Django's
    default client-side binding renders every row into a new SQL text (~200 µs a row); bound
    parameters are pipelined and the statement prepared once (~40 µs a row)."""
    if connection.vendor == "postgresql":
        import psycopg

        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as cursor:  # same connection, same transaction
            cursor.executemany(sql, rows)
        return
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


SQL_CHUNK = 900  # parameters per IN list: under SQLite's limit, small enough for any plan


def chunked(items: Sequence[Any], size: int = SQL_CHUNK) -> Iterable[list[Any]]:
    """Consecutive slices of `items` of at most `size` (IN lists, batches)."""
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i : i + size]


def rows_by_external_id(
    model: type[Model], org_id: int, keys: Iterable[tuple[str, str]], columns: Sequence[str] = ()
) -> dict[tuple[str, str], tuple[Any, ...]]:
    """`(network, external_id)` → the given columns, for the keys of one organisation that exist.

    Raw SQL on the `(organization, network, external_id)` unique index, in chunks under
    SQLite's parameter limit: the ORM spent more time building these IN lists than the
    database spent answering them.
    """
    by_net: dict[str, list[str]] = {}
    for net, ext in keys:
        by_net.setdefault(net, []).append(ext)
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    cols = ", ".join(qn(c) for c in ("external_id", *columns))
    out: dict[tuple[str, str], tuple[Any, ...]] = {}
    with connection.cursor() as cursor:
        for net, ids in by_net.items():
            for chunk in chunked(list(dict.fromkeys(ids))):
                member, values = in_list("external_id", chunk)
                cursor.execute(
                    f"SELECT {cols} FROM {table} WHERE organization_id = %s AND network = %s AND {member}",
                    [org_id, net, *values],
                )
                for row in cursor.fetchall():
                    out[(net, row[0])] = tuple(row[1:])
    return out


def stored_ids(model: type[Model], ids: Sequence[int]) -> list[int]:
    """Which of these primary keys exist (after an INSERT … ON CONFLICT DO NOTHING), in order.

    Reserved ids are (nearly) contiguous, so one range scan of the primary key answers it.
    """
    if not ids:
        return []
    qn = connection.ops.quote_name
    table, pk = qn(model._meta.db_table), qn(str(model._meta.pk.column))  # type: ignore[union-attr]
    wanted = set(ids)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {pk} FROM {table} WHERE {pk} BETWEEN %s AND %s", [min(ids), max(ids)])
        found = {int(r[0]) for r in cursor.fetchall()} & wanted
    return [i for i in ids if i in found]


def fetch_values(
    model: type[Model], columns: Sequence[str], where: str, params: Sequence[Any], order_by: str = ""
) -> list[list[Any]]:
    """`values_list` for hot paths: raw SQL on one table, converting only dates, JSON and booleans.

    `columns` are attnames ("pk" for the primary key), `where` is SQL with %s placeholders.
    The ORM's per-value converter chain costs more than the query for a few hundred rows.
    """
    meta = model._meta
    qn = connection.ops.quote_name
    fields = [meta.pk if c == "pk" else meta.get_field(c) for c in columns]  # get_field knows attnames too
    cols = ", ".join(qn(str(f.column)) for f in fields)  # type: ignore[union-attr]
    convert: list[tuple[int, Callable[[Any], Any]]] = []
    for i, f in enumerate(fields):
        if isinstance(f, models.DateTimeField):
            convert.append((i, aware))
        elif isinstance(f, models.JSONField):
            convert.append((i, loads_json))
        elif isinstance(f, models.BooleanField):
            convert.append((i, bool))
    sql = f"SELECT {cols} FROM {qn(meta.db_table)} WHERE {where}" + (f" ORDER BY {order_by}" if order_by else "")
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        rows = [list(r) for r in cursor.fetchall()]
    for row in rows:
        for i, conv in convert:
            if row[i] is not None:
                row[i] = conv(row[i])
    return rows


def in_clause(column: str, values: Sequence[Any]) -> str:
    """`"column" IN (%s, …)` for len(values) placeholders (callers chunk under 900)."""
    return f"{connection.ops.quote_name(column)} IN ({', '.join(['%s'] * len(values))})"


def in_list(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """A membership test and its parameters: `"column" IN (%s, …)` on SQLite, `"column" = ANY(%s)` with the
    values as one array parameter on PostgreSQL.

    Why: Django's psycopg cursor binds on the client, so a 900-value IN list is parsed, quoted and sent as
    SQL text, and the server parses and plans it again: ~5 % of the PostgreSQL worker's time in a profile.
    One array parameter keeps the statement short and its plan the same (PostgreSQL turns `IN (…)` into
    `= ANY(…)` itself). Callers still chunk under 900 for SQLite.
    """
    if connection.vendor == "postgresql":
        return f"{connection.ops.quote_name(column)} = ANY(%s)", [list(values)]
    return in_clause(column, values), list(values)


def relax_commit_wait() -> None:
    """PostgreSQL: this transaction's COMMIT returns without waiting for its WAL to reach the disk
    (`SET LOCAL synchronous_commit TO OFF`; SQLite: nothing).

    Only for work that can be redone from what is already durable: a server crash may then lose the last
    few hundred milliseconds of such commits *whole* (never a part of one), which leaves their inputs as
    they were. The ingest batch qualifies: its raw events were committed durably by `accept()`, and a
    lost batch leaves them pending for the sweeper. Nothing a user typed goes through here. Applies only
    when the caller's atomic block is the outermost one: inside someone else's transaction (a task run
    eagerly within a request) the commit is theirs, and so is its durability.
    """
    if connection.vendor == "postgresql" and len(connection.atomic_blocks) == 1:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
