"""While the database is away (a PostgreSQL restart) a page says so with a 503 and Retry-After, instead of
"something broke": what the user saved is kept and trying again shortly works. The page stands alone, since
the layout reads the database too. (tests/faults restarts a real PostgreSQL under a real web process.)"""

from __future__ import annotations

from django.db import OperationalError
from django.http import HttpResponse
from django.test import RequestFactory

from hubbub.web.views.errors import server_error


def answer(**headers: str) -> HttpResponse:
    request = RequestFactory().get("/", **headers)
    request.htmx = bool(headers)  # type: ignore[attr-defined]
    try:
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")
    except OperationalError:
        return server_error(request)


def test_a_page_says_the_database_is_away_and_when_to_try_again() -> None:
    page = answer()
    assert page.status_code == 503 and page["Retry-After"] == "5"
    assert "cannot reach its database" in page.content.decode()
    assert "127.0.0.1" not in page.content.decode()  # no connection details


def test_an_htmx_action_gets_the_reason_for_its_toast() -> None:
    short = answer(HTTP_HX_REQUEST="true")
    assert short.status_code == 503 and short["Content-Type"].startswith("text/plain")
    assert short.content.decode().startswith("Hubbub cannot reach its database")
