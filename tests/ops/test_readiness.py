"""/healthz says the process answers; /readyz says whether the database, Redis and the worker behind it do,
with a reason a person can act on, and without a word of tenant data."""

from __future__ import annotations

import pytest
from django.db import connections
from django.db.utils import ConnectionHandler

from hubbub.ops import figures
from tests.browser_server import free_port
from tests.conftest import service_or_skip

pytestmark = pytest.mark.django_db


def _unreachable_database():  # type: ignore[no-untyped-def]
    """A connection to the same kind of database, at an address where none answers."""
    config = dict(connections["default"].settings_dict)
    if connections["default"].vendor == "postgresql":
        config.update(HOST="127.0.0.1", PORT=str(free_port()))  # nothing listens: refused at once
    else:
        config["NAME"] = "/nonexistent-dir/hubbub.sqlite3"
    return ConnectionHandler({"default": config})["default"]


def test_liveness_answers_without_asking_anything_else(client):  # type: ignore[no-untyped-def]
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"


def test_ready_when_everything_answers_and_no_tenant_data_shows(client, acme, waiting_events):  # type: ignore[no-untyped-def]
    waiting_events(acme["org"], 2, minutes_ago=1)

    answer = client.get("/readyz")

    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["ingest"]["organisations_waiting"] == 1
    text = answer.content.decode().lower()
    assert "acme" not in text


def test_not_ready_when_the_database_is_unreachable(client, monkeypatch):  # type: ignore[no-untyped-def]
    broken = _unreachable_database()
    monkeypatch.setattr(figures, "connection", broken)
    try:
        answer = client.get("/readyz")
    finally:
        broken.close()

    assert answer.status_code == 503
    checks = answer.json()["checks"]
    assert checks["database"]["status"] == "fail"
    assert checks["database"]["detail"].startswith("database unreachable: OperationalError")
    assert checks["ingest"] == {"status": "fail", "detail": "not checked: the database is unreachable"}


def test_not_ready_when_redis_is_unreachable(client, settings):  # type: ignore[no-untyped-def]
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"

    answer = client.get("/readyz")

    assert answer.status_code == 503
    redis_check = answer.json()["checks"]["redis"]
    assert redis_check["status"] == "fail"
    assert redis_check["detail"].startswith("redis unreachable: ConnectionError")


def test_redis_is_checked_when_configured(client, settings):  # type: ignore[no-untyped-def]
    service_or_skip("Redis", "127.0.0.1", 6379)
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    assert client.get("/readyz").json()["checks"]["redis"] == {"status": "ok", "detail": "redis answers PING"}


def test_not_ready_when_an_organisation_waits_too_long(client, acme, make_org, waiting_events, settings):  # type: ignore[no-untyped-def]
    settings.READY_MAX_LAG_SECONDS = 300
    waiting_events(acme["org"], 3, minutes_ago=10)
    waiting_events(make_org("globex")["org"], 1, minutes_ago=1)

    answer = client.get("/readyz")

    assert answer.status_code == 503
    ingest = answer.json()["checks"]["ingest"]
    assert ingest["status"] == "fail"
    assert ingest["organisations_behind"] == 1 and ingest["organisations_waiting"] == 2
    assert ingest["oldest_pending_seconds"] >= 600
    assert "is a worker running?" in ingest["detail"]
    assert "acme" not in answer.content.decode().lower()
