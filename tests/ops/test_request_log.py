"""Logs: one JSON object per line, each with the request's id (also sent back in the response header), and
never a token, a password or a mention's text."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator

import pytest
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from hubbub.request_log import JsonFormatter, RequestIdFilter

pytestmark = pytest.mark.django_db

SECRET_TOKEN = "hbb_live_7f3a9c2e11d04b6f"
PASSWORD = "Corr3ct-Horse-Battery"
MENTION = "my suitcase never arrived at gate B12"


def _view_that_logs(request: HttpRequest) -> HttpResponse:
    logging.getLogger("hubbub.ops.tests").info("looking at the request")
    return HttpResponse("ok")


urlpatterns = [path("logs-a-line/", _view_that_logs, name="logs_a_line"), path("", include("hubbub.urls"))]


@pytest.fixture
def logged() -> Iterator[Callable[[], list[dict[str, object]]]]:
    """What the settings' console handler writes, everything from INFO up, as parsed lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root, hubbub = logging.getLogger(), logging.getLogger("hubbub")
    levels = root.level, hubbub.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    hubbub.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]  # each line is one object
    finally:
        root.removeHandler(handler)
        root.setLevel(levels[0])
        hubbub.setLevel(levels[1])


@pytest.mark.urls("tests.ops.test_request_log")
def test_every_line_of_a_request_carries_its_id_and_the_response_says_it(client, logged):  # type: ignore[no-untyped-def]
    answer = client.get("/logs-a-line/", HTTP_X_REQUEST_ID="proxy-req-42")
    generated = client.get("/logs-a-line/")

    assert answer["X-Request-ID"] == "proxy-req-42"
    new_id = generated["X-Request-ID"]
    assert len(new_id) == 32 and new_id != "proxy-req-42"
    lines = logged()
    by_id = {rid: [line for line in lines if line.get("request_id") == rid] for rid in ("proxy-req-42", new_id)}
    for rid, mine in by_id.items():
        assert [line["message"] for line in mine] == ["looking at the request", "GET logs_a_line 200"], rid
    assert by_id["proxy-req-42"][1]["status"] == 200 and by_id["proxy-req-42"][1]["route"] == "logs_a_line"


def test_a_request_id_that_is_not_one_is_replaced(client):  # type: ignore[no-untyped-def]
    answer = client.get("/healthz", HTTP_X_REQUEST_ID="x" * 500)
    assert len(answer["X-Request-ID"]) == 32


def test_no_token_password_or_mention_text_reaches_the_log(client, acme, logged):  # type: ignore[no-untyped-def]
    client.post("/login/", {"username": "admin-acme", "password": PASSWORD})
    client.post(
        f"/api/v1/conversations/?token={SECRET_TOKEN}",
        data=json.dumps({"text": MENTION, "password": PASSWORD}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {SECRET_TOKEN}",
    )
    client.post(
        f"/hooks/x/?crc_token={SECRET_TOKEN}", data=json.dumps({"text": MENTION}), content_type="application/json"
    )

    lines = logged()
    text = "\n".join(json.dumps(line) for line in lines)
    assert len(lines) >= 3  # the requests were logged...
    assert SECRET_TOKEN not in text and PASSWORD not in text and MENTION not in text  # ...without what they carried
