"""Helpers for the "one rule, two front doors" tests: the same bad value posted from a web form and sent to the
API must be refused with the same message for the same field (`hubbub.inputs`)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.messages import get_messages
from django.http import HttpResponse
from django.test import Client

from hubbub.api.models import ApiToken

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "thread-pane"}


def api_client(user: Any, org: Any) -> Client:
    _, key = ApiToken.issue(user, org.pk, "two doors")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def web_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_field_error(response: HttpResponse, field: str) -> str:
    """The message of a 422 for `field` (the last element of an error's `loc`), as ninja answers it."""
    assert response.status_code == 422, (response.status_code, response.content)
    found = [e["msg"] for e in response.json()["detail"] if e["loc"] and e["loc"][-1] == field]
    assert found, response.json()
    return str(found[0])


def notices(response: HttpResponse) -> list[str]:
    """The notices an htmx answer carries (`hubbub:notices` in HX-Trigger), as text."""
    trigger = response.headers.get("HX-Trigger", "")
    batch = json.loads(trigger).get("hubbub:notices") if trigger.startswith("{") else None
    return [n["text"] for n in batch["notices"]] if batch else []


def flashed(response: HttpResponse) -> list[str]:
    """The messages a redirecting form left for the next page."""
    return [str(m) for m in get_messages(response.wsgi_request)]  # type: ignore[attr-defined]


def post_json(client: Client, path: str, body: dict[str, Any], method: str = "post") -> HttpResponse:
    return getattr(client, method)(path, body, content_type="application/json")  # type: ignore[no-any-return]
