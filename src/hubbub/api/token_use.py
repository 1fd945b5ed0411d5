"""When an API token was last used: recorded at most once a minute, and never at a request's expense.

Why: writing `last_used_at` on every request turned every API read into a write. On SQLite a read then
waited for the one write lock behind any long writer (an import, a batch) and failed with a 500 after the
30 s busy timeout. The time shown to admins ("last used") only needs minute precision, so a token is
written when its stored time is a minute old; the write happens after the request's transaction, never
waits for a lock (SQLite: busy timeout 0; PostgreSQL: a short lock timeout), and a write that fails is
logged and tried again on the token's next request.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from hubbub.api.models import ApiToken

log = logging.getLogger("hubbub.api")
RECORD_EVERY = timedelta(minutes=1)


def record_use(token: ApiToken) -> None:
    """Note that `token` was just used (see the module docstring for when it is written)."""
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < RECORD_EVERY:
        return
    # One writer per token and minute in this process, however many requests arrive together.
    if not cache.add(f"hubbub:api-token-used:{token.pk}", 1, timeout=int(RECORD_EVERY.total_seconds())):
        return
    token_id = token.pk
    transaction.on_commit(lambda: _write(token_id, now))


def _write(token_id: int, now: datetime) -> None:
    try:
        with _without_waiting():
            ApiToken.objects.filter(
                Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - RECORD_EVERY), pk=token_id
            ).update(last_used_at=now)
    except DatabaseError:
        cache.delete(f"hubbub:api-token-used:{token_id}")  # try again on the next request
        log.warning("could not record the use of API token %s; the request went on", token_id, exc_info=True)


@contextmanager
def _without_waiting() -> Iterator[None]:
    """A transaction that fails at once instead of queueing behind another writer's lock."""
    if connection.vendor == "sqlite":
        timeout_ms = int(float(connection.settings_dict.get("OPTIONS", {}).get("timeout", 5)) * 1000)
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout = 0")
        try:
            with transaction.atomic():
                yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA busy_timeout = {timeout_ms}")
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '200ms'")
        yield
