"""Redis away means live updates are paused, and the inbox says so instead of stalling silently: the page
rendered meanwhile shows "Live updates paused", and an open stream sends a `live` event saying so (then keeps
polling the database for new messages while it reconnects). Redis here is a closed port; tests/faults stops and
restarts a real redis-server and sees the banner come and go."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from hubbub import live
from hubbub.tenancy.scoping import scope_for
from hubbub.web.views.live import event_lines
from tests.browser_server import free_port

pytestmark = pytest.mark.django_db


def banner(html: str) -> str:
    tag = re.search(r'<div id="live-paused"[^>]*>', html)
    assert tag, "no live-updates banner on the page"
    return tag.group(0)


@pytest.fixture
def redis_away(settings, monkeypatch):  # type: ignore[no-untyped-def]
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    monkeypatch.setattr(live, "_bus", None)
    monkeypatch.setattr(live, "RECONNECT_SECONDS", 0.05)
    yield
    live._bus = None


def test_the_inbox_says_live_updates_are_paused_while_redis_is_away(client, acme, redis_away) -> None:  # type: ignore[no-untyped-def]
    client.force_login(acme["users"]["agent"])
    page = client.get("/").content.decode()
    assert "hidden" not in banner(page) and "Live updates paused" in page


def test_no_banner_while_live_updates_flow(client, acme) -> None:  # type: ignore[no-untyped-def]
    client.force_login(acme["users"]["agent"])
    assert "hidden" in banner(client.get("/").content.decode())


def test_an_open_stream_says_paused_once_and_keeps_polling(acme, redis_away) -> None:  # type: ignore[no-untyped-def]
    async def first(n: int) -> list[Any]:
        got: list[Any] = []
        source: AsyncIterator[Any] = live.get_bus().subscribe(idle=0.05)
        async for item in source:
            got.append(item)
            if len(got) == n:
                break
        await source.aclose()  # type: ignore[attr-defined]
        return got

    assert async_to_sync(first)(3) == [live.PAUSED, None, None]  # None: the stream polls the database

    scope = scope_for(acme["users"]["agent"], acme["org"].pk)
    assert scope is not None

    async def lines() -> list[str]:
        async def source() -> AsyncIterator[dict[str, Any] | None]:
            yield dict(live.PAUSED)
            yield dict(live.RESUMED)

        return [line async for line in event_lines(scope, acme["users"]["agent"].pk, source())]

    sent = async_to_sync(lines)()
    assert sent[1:] == [
        'event: live\ndata: {"kind": "live", "state": "paused"}\n\n',
        'event: live\ndata: {"kind": "live", "state": "live"}\n\n',
    ]
