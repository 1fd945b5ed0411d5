"""Shared fixtures. Tests run on SQLite by default and on PostgreSQL when DATABASE_URL is set.

Set HUBBUB_REQUIRE_SERVICES=1 (as .ci/run does) to turn "server not reachable" skips
into failures, so CI always proves the PostgreSQL, Redis and browser paths.
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("HUBBUB_DATA_DIR", tempfile.mkdtemp(prefix="hubbub-test-"))

import pytest  # noqa: E402

DATA = Path(__file__).parent / "data"
REQUIRE_SERVICES = os.environ.get("HUBBUB_REQUIRE_SERVICES") == "1"


def service_or_skip(name: str, host: str, port: int) -> None:
    """Skip (laptop) or fail (CI) when a local server is not reachable."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return
    except OSError:
        message = f"{name} not reachable at {host}:{port}"
        if REQUIRE_SERVICES:
            pytest.fail(f"{message} (HUBBUB_REQUIRE_SERVICES=1 makes this mandatory)")
        pytest.skip(message)


@pytest.fixture(autouse=True)
def _immediate_tasks(settings, tmp_path):  # type: ignore[no-untyped-def]
    """Run Huey tasks inline in tests, and give each test its own outbound sink."""
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = True
    settings.OUTBOUND_SINK_DIR = tmp_path / "outbound"
    yield


@pytest.fixture(autouse=True)
def _browser_waits(request):  # type: ignore[no-untyped-def]
    """Browser tests wait for what must happen up to one shared deadline (`EVENTUALLY_MS`), not Playwright's
    5 s default, which a correct page on a loaded machine can miss."""
    if request.node.get_closest_marker("browser") is not None:
        from playwright.sync_api import expect

        from tests.browser_server import EVENTUALLY_MS

        expect.set_options(timeout=EVENTUALLY_MS)
    yield


@pytest.fixture
def make_org(db):  # type: ignore[no-untyped-def]
    from django.contrib.auth import get_user_model

    from hubbub.tenancy.models import Brand, Membership, Organization, Team

    User = get_user_model()

    def make(slug: str = "acme", brands: tuple[str, ...] = ("Acme Air", "Acme Rail")) -> dict[str, object]:
        org = Organization.objects.create(slug=slug, name=slug.title())
        made = {
            b: Brand.objects.create(
                organization=org, name=b, slug=b.lower().replace(" ", "-"), handles=[b.replace(" ", "")]
            )
            for b in brands
        }
        users = {}
        for role in ("admin", "supervisor", "agent", "analyst"):
            user = User.objects.create_user(username=f"{slug}-{role}", password="pw-12345678")
            Membership.objects.create(user=user, organization=org, role=role)
            users[role] = user
        team = Team.objects.create(organization=org, name="Care")
        return {"org": org, "brands": made, "users": users, "team": team}

    return make


@pytest.fixture
def acme(make_org):  # type: ignore[no-untyped-def]
    return make_org("acme")


@pytest.fixture
def scope_of():  # type: ignore[no-untyped-def]
    from hubbub.tenancy.scoping import scope_for

    return lambda user, org=None: scope_for(user, org.pk if org is not None else None)


@pytest.fixture
def make_event() -> Callable[..., object]:
    from hubbub.connectors.events import InboundEvent

    counter = {"n": 0}
    base = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)

    def make(text: str = "hello", brand: str = "acme-air", author: str = "alice", **kw: object) -> InboundEvent:
        counter["n"] += 1
        values: dict[str, object] = {
            "network": "x",
            "external_id": f"t{counter['n']}",
            "text": text,
            "created_at": base + timedelta(minutes=counter["n"]),
            "author_id": author,
            "author_handle": author,
            "brand_slug": brand,
        }
        values.update(kw)
        return InboundEvent(**values)  # type: ignore[arg-type]

    return make


@pytest.fixture
def ingest():  # type: ignore[no-untyped-def]
    """Accept events and process them down the main road, as a connector would."""
    from hubbub.ingest.services import accept, process_batch

    def run(org, events):  # type: ignore[no-untyped-def]
        result = accept(org.pk, events, "test")
        return result, process_batch(result.raw_ids)

    return run
