"""One rule, two front doors: Settings → Webhooks reads the body of `POST /api/v1/webhooks` (`EndpointIn`), so an
address too long for the column is refused with the same message at either door, and no endpoint is added."""

from __future__ import annotations

import pytest

from hubbub.api.webhook_models import WebhookEndpoint
from tests.two_doors import api_client, api_field_error, flashed, post_json, web_client

pytestmark = pytest.mark.django_db


def test_an_address_too_long(acme) -> None:  # type: ignore[no-untyped-def]
    admin = acme["users"]["admin"]
    url = "https://hooks.example.com/" + "x" * 500
    body = {"url": url, "events": ["reply.sent"]}
    said = api_field_error(post_json(api_client(admin, acme["org"]), "/api/v1/webhooks", body), "url")
    answer = web_client(admin).post("/settings/webhooks/new/", body)
    assert flashed(answer) == [f"Endpoint not added. Url: {said}."]
    assert not WebhookEndpoint.objects.exists()
