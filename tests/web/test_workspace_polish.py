"""Workspace polish a user notices: the tab has an icon, Settings stays in the app, inbox times fit their
column, and under ASGI every streamed body (static files, exports, the live stream) streams asynchronously."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from hubbub.web.templatetags.time_tags import short_since
from tests.browser_server import EVENTUALLY_MS

NOW = datetime(2026, 12, 7, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "ago,shown",
    [
        (timedelta(seconds=20), "now"),
        (timedelta(minutes=12), "12 min"),
        (timedelta(hours=23, minutes=51), "23 h"),
        (timedelta(days=6), "6 d"),
        (timedelta(days=40), "28 Oct"),
        (timedelta(days=400), "2 Nov 2025"),
    ],
)
def test_inbox_times_are_short_enough_for_their_column(ago, shown):
    assert short_since(NOW - ago, NOW) == shown


@pytest.mark.django_db
def test_the_inbox_list_shows_short_times_with_the_full_one_on_hover(acme, make_event, ingest):
    ingest(acme["org"], [make_event("@AcmeAir hello")])
    c = Client()
    c.force_login(acme["users"]["agent"])
    page = c.get("/").content.decode()
    assert "minutes" not in page.split('class="conv-list"', 1)[1].split("</time>", 1)[0].rsplit(">", 1)[1]
    assert 'title="' in page and " ago)" in page


@pytest.mark.django_db
def test_every_page_has_an_icon_and_favicon_ico_finds_it(acme):
    c = Client()
    c.force_login(acme["users"]["admin"])
    page = c.get("/").content.decode()
    assert '<link rel="icon" href="/static/hubbub/favicon.svg"' in page
    r = c.get("/favicon.ico", follow=True)
    assert r.status_code == 200 and r.redirect_chain[0][0] == "/static/hubbub/favicon.svg"


@pytest.mark.django_db
def test_settings_in_the_sidebar_opens_the_apps_own_settings_not_the_django_admin(acme):
    c = Client()
    c.force_login(acme["users"]["admin"])
    page = c.get("/").content.decode()
    nav = page.split('<nav class="sidenav"', 1)[1].split("</nav>", 1)[0]
    assert '<a href="/admin/" ' not in nav and ">Settings</a>" in nav
    settings_href = nav.split(">Settings</a>")[0].rsplit('href="', 1)[1].split('"', 1)[0]
    assert not settings_href.startswith("/admin")
    assert c.get(settings_href).status_code == 200


def _first_body_chunk(path: str, cookie: str = "") -> tuple[bytes, list[str]]:
    """Through the ASGI application uvicorn serves: the first body chunk, and the warnings raised meanwhile."""
    from asgiref.testing import ApplicationCommunicator

    from hubbub.asgi import application

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"testserver")] + ([(b"cookie", cookie.encode())] if cookie else []),
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000),
    }
    wait = EVENTUALLY_MS / 1000

    async def go() -> bytes:
        app = ApplicationCommunicator(application, scope)
        await app.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await app.receive_output(wait)
        assert start["type"] == "http.response.start" and start["status"] == 200, start
        body = await app.receive_output(wait)
        await app.send_input({"type": "http.disconnect"})
        if path.startswith("/live/"):
            app.future.cancel()  # a live stream never ends by itself
        else:
            await app.wait(wait)
        return bytes(body.get("body", b""))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        body = async_to_sync(go)()
    return body, [str(w.message) for w in caught if "StreamingHttpResponse" in str(w.message)]


@pytest.mark.django_db(transaction=True)
def test_static_files_stream_asynchronously_under_asgi_without_a_warning():
    body, caught = _first_body_chunk("/static/hubbub/favicon.svg")
    assert body.startswith(b"<svg") and caught == []


@pytest.mark.django_db(transaction=True)
def test_the_live_stream_is_asynchronous_under_asgi(acme):
    c = Client()
    c.force_login(acme["users"]["agent"])
    body, caught = _first_body_chunk("/live/", f"sessionid={c.cookies['sessionid'].value}")
    assert body == b"retry: 3000\n\n" and caught == []
