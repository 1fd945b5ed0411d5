"""An API read is not a write: a token's last use is recorded at most once a minute, and a request never
waits for (or fails on) that write, even while another connection holds SQLite's write lock."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from hubbub.api import token_use
from hubbub.api.models import ApiToken
from tests.browser_server import serve

PASSWORD = "Token-reader-2026!"
ISSUE_TOKEN = (
    "import django; django.setup()\n"
    "from hubbub.api.models import ApiToken\n"
    "from hubbub.tenancy.models import Membership\n"
    "m = Membership.objects.select_related('user').get(user__username='reader')\n"
    "print(ApiToken.issue(m.user, m.organization_id, 'lock test')[1])\n"
)


@pytest.fixture
def token(acme):  # type: ignore[no-untyped-def]
    cache.clear()
    made, key = ApiToken.issue(acme["users"]["agent"], acme["org"].pk, "t")
    return made, Client(HTTP_AUTHORIZATION=f"Bearer {key}")


@pytest.mark.django_db
def test_last_use_is_recorded_at_most_once_a_minute(token, django_capture_on_commit_callbacks) -> None:
    made, client = token
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get("/api/v1/conversations").status_code == 200
    made.refresh_from_db()
    assert made.last_used_at is not None

    recent = timezone.now() - timedelta(seconds=30)
    ApiToken.objects.filter(pk=made.pk).update(last_used_at=recent)
    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get("/api/v1/conversations").status_code == 200
    made.refresh_from_db()
    assert made.last_used_at == recent  # used again within the minute: nothing written

    old = timezone.now() - timedelta(minutes=2)
    ApiToken.objects.filter(pk=made.pk).update(last_used_at=old)
    cache.clear()  # the process's one-writer-a-minute note has expired by then too
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get("/api/v1/conversations").status_code == 200
    made.refresh_from_db()
    assert made.last_used_at > old


@pytest.mark.django_db
def test_a_failed_write_is_logged_and_the_request_answers(
    token, monkeypatch, caplog, django_capture_on_commit_callbacks
) -> None:
    made, client = token

    @contextlib.contextmanager
    def locked() -> Iterator[None]:
        raise OperationalError("database is locked")
        yield

    monkeypatch.setattr(token_use, "_without_waiting", locked)
    with caplog.at_level(logging.WARNING, logger="hubbub.api"), django_capture_on_commit_callbacks(execute=True):
        response = client.get("/api/v1/conversations")
    assert response.status_code == 200 and "items" in response.json()
    assert "could not record the use of API token" in caplog.text
    made.refresh_from_db()
    assert made.last_used_at is None


def _get(url: str, key: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=120) as response:  # far above an answer; a hang fails
        return int(response.status)


def _last_used(db: Path) -> str | None:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        row = conn.execute("SELECT last_used_at FROM api_apitoken").fetchone()
    return row[0] if row else None


def test_api_reads_answer_while_another_connection_holds_the_write_lock(tmp_path: Path) -> None:
    env = {**os.environ, "HUBBUB_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "hubbub.settings"}
    env.pop("DATABASE_URL", None)  # the embedded SQLite database is the one with a single write lock
    cli = [sys.executable, "-m", "hubbub"]
    add = [*cli, "user", "add", "reader", "--role", "agent", "--org", "acme", "--password", PASSWORD]
    subprocess.run(add, env=env, check=True, capture_output=True)
    issued = subprocess.run([sys.executable, "-c", ISSUE_TOKEN], env=env, check=True, capture_output=True, text=True)
    key = issued.stdout.strip().splitlines()[-1]
    db = tmp_path / "hubbub.sqlite3"

    server = serve(tmp_path, env, cli)
    base = next(server).base
    try:
        writer = sqlite3.connect(db, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")  # a long import or batch holding the write lock
        try:
            assert _get(base + "/api/v1/conversations", key) == 200
            assert _get(base + "/api/v1/conversations", key) == 200
            assert _last_used(db) is None  # the write was given up, not waited for
        finally:
            writer.execute("ROLLBACK")
            writer.close()
        assert _get(base + "/api/v1/conversations", key) == 200
        assert _last_used(db) is not None  # recorded on the first request after the lock
    finally:
        server.close()
