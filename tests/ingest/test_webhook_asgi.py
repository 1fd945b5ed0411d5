"""`/hooks/` through uvicorn: the thin ASGI route and its group commit, on a real server and a real database.

The promise under test: a delivery is answered 2xx only after its raw event is committed, and a redelivery
adds nothing. The tests break the commit on purpose and check that the network is then told to send again.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from django.db import DatabaseError, connections

from hubbub.connectors.models import Channel
from hubbub.inbox.models import Message
from hubbub.ingest.models import RawEvent
from hubbub.ingest.webhook_asgi import writer
from hubbub.ingest.webhook_intake import forget_channels
from hubbub.tenancy.models import AuditEvent
from tests.browser_server import free_port
from tests.fakes.x import FakeX, XWebhook

X_SECRET = "x-consumer-secret"
WAIT = 60.0  # a deadline for a loaded machine, not a measure

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(settings: Any) -> Iterator[str]:
    """Hubbub's ASGI application (the one `hubbub serve` runs) under uvicorn, in a thread, on a free port."""
    from hubbub.asgi import application

    settings.X_CONSUMER_SECRET = X_SECRET
    settings.META_APP_SECRET = "meta-app-secret"
    forget_channels()
    port = free_port()
    config = uvicorn.Config(application, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT
    while not uv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(WAIT)
    asyncio.run(writer.call(connections.close_all))  # its connection would keep the test database open
    forget_channels()


@pytest.fixture
def x() -> FakeX:
    return FakeX()  # for its users and tweets: nothing is served


@pytest.fixture
def hook(acme: dict[str, Any], x: FakeX) -> XWebhook:
    brand = x.add_user("acmeair", "Acme Air")
    channel = Channel(organization=acme["org"], brand=acme["brands"]["Acme Air"], network="x", name="@acmeair")
    channel.account_id = brand.id
    channel.credentials = {"access_token": "t"}
    channel.save()
    return XWebhook(X_SECRET, brand)


def _mention(x: FakeX, hook: XWebhook, text: str) -> tuple[str, bytes, dict[str, str]]:
    tweet = x.tweet(x.add_user(f"c{len(x.users)}"), text, mentions=(hook.for_user,))
    return (tweet.id, *hook.tweets(tweet))


def test_a_mention_is_answered_after_its_commit_and_a_redelivery_adds_nothing(
    server: str, x: FakeX, hook: XWebhook
) -> None:
    tweet_id, body, headers = _mention(x, hook, "@acmeair my bag never arrived in Lyon")

    first = httpx.post(f"{server}/hooks/x/", content=body, headers=headers, timeout=WAIT)
    again = httpx.post(f"{server}/hooks/x/", content=body, headers=headers, timeout=WAIT)

    assert first.status_code == 200 and first.json()["accepted"] == 1
    assert again.status_code == 200 and again.json() == {"accepted": 0, "duplicates": 1, "quarantined": 0, "ignored": 0}
    assert RawEvent.objects.filter(network="x", external_id=tweet_id).count() == 1
    assert Message.objects.get(external_id=tweet_id).text == "@acmeair my bag never arrived in Lyon"
    assert len(first.headers["x-request-id"]) == 32


def test_concurrent_deliveries_and_redeliveries_are_each_kept_once(server: str, x: FakeX, hook: XWebhook) -> None:
    mentions = [_mention(x, hook, f"@acmeair where is refund {i}?") for i in range(30)]
    plan = mentions + mentions[:10]  # a third sent twice, at the same time as the first copy

    async def deliver() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server, timeout=WAIT) as client:
            posts = [client.post("/hooks/x/", content=body, headers=headers) for _, body, headers in plan]
            return list(await asyncio.gather(*posts))

    answers = asyncio.run(deliver())

    assert [a.status_code for a in answers] == [200] * len(plan)
    assert sum(a.json()["accepted"] for a in answers) == 30
    assert sum(a.json()["duplicates"] for a in answers) == 10
    stored = RawEvent.objects.filter(network="x", external_id__in=[tweet_id for tweet_id, _, _ in mentions])
    assert stored.count() == 30


def test_a_commit_that_fails_is_not_answered_2xx_and_the_redelivery_is_kept(
    server: str, x: FakeX, hook: XWebhook, monkeypatch: pytest.MonkeyPatch
) -> None:
    tweet_id, body, headers = _mention(x, hook, "@acmeair is anyone there?")

    def disk_full(self: Any) -> None:
        raise DatabaseError("database or disk is full")

    with monkeypatch.context() as broken:
        broken.setattr(type(connections["default"]), "commit", disk_full)
        failed = httpx.post(f"{server}/hooks/x/", content=body, headers=headers, timeout=WAIT)
    assert failed.status_code == 503 and "send it again" in failed.json()["error"]
    assert not RawEvent.objects.filter(external_id=tweet_id).exists()

    retried = httpx.post(f"{server}/hooks/x/", content=body, headers=headers, timeout=WAIT)  # the network retries
    assert retried.status_code == 200 and retried.json()["accepted"] == 1
    assert RawEvent.objects.filter(external_id=tweet_id).count() == 1


def test_a_forged_delivery_is_401_audited_and_nothing_is_kept(
    server: str, x: FakeX, hook: XWebhook, acme: dict[str, Any]
) -> None:
    tweet_id, body, headers = _mention(x, hook, "forged")
    headers["x-twitter-webhooks-signature"] = XWebhook("not-the-secret", hook.for_user).sign(body)

    answer = httpx.post(f"{server}/hooks/x/", content=body, headers=headers, timeout=WAIT)

    assert answer.status_code == 401 and "does not match" in answer.json()["error"]
    assert not RawEvent.objects.exists()
    refused = AuditEvent.objects.get(verb="webhook.refused")
    assert refused.organization_id == acme["org"].pk and refused.data["address"] == "127.0.0.1"


def test_an_oversized_body_is_refused_with_or_without_its_length(
    server: str, settings: Any, x: FakeX, hook: XWebhook
) -> None:
    settings.WEBHOOK_MAX_BYTES = 1000
    _, body, headers = _mention(x, hook, "x" * 2000)

    declared = httpx.post(f"{server}/hooks/x/", content=body, headers=headers, timeout=WAIT)
    streamed = httpx.post(f"{server}/hooks/x/", content=iter([body[:600], body[600:]]), headers=headers, timeout=WAIT)

    assert declared.status_code == 413 and streamed.status_code == 413
    assert "over 1000 bytes" in declared.json()["error"]
    assert not RawEvent.objects.exists()


def test_handshakes_and_unknown_paths_answer_and_other_pages_still_reach_django(server: str) -> None:
    crc = httpx.get(f"{server}/hooks/x/", params={"crc_token": "challenge-123"}, timeout=WAIT)
    unknown = httpx.post(f"{server}/hooks/myspace/", content=b"{}", timeout=WAIT)
    put = httpx.put(f"{server}/hooks/x/", content=b"{}", timeout=WAIT)
    page = httpx.get(f"{server}/", timeout=WAIT)  # the UI: Django sends a visitor to sign in

    assert crc.status_code == 200 and crc.json()["response_token"].startswith("sha256=")
    assert unknown.status_code == 404 and "myspace" in unknown.json()["error"]
    assert put.status_code == 405 and put.headers["allow"] == "GET, POST"
    assert page.status_code == 302 and "/login" in page.headers["location"]
