"""A reply submitted twice reaches the customer once: API retries with an `Idempotency-Key`, a composer form
posted twice, and two requests racing each other all end with one reply and one post to the network."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from hubbub.api.models import ApiToken
from hubbub.inbox.actions import replies
from hubbub.inbox.actions.replies import Origin, do_create_reply
from hubbub.inbox.models import Conversation, Message, Reply
from hubbub.tenancy.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def conv(acme: dict[str, Any], make_event: Any, ingest: Any) -> Conversation:
    ingest(acme["org"], [make_event("my bag is lost", author="ann")])
    return Conversation.objects.get()


def _api(acme: dict[str, Any]) -> Client:
    _, key = ApiToken.issue(acme["users"]["agent"], acme["org"].pk, "test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def _post(api: Client, conv: Conversation, text: str, key: str | None) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    return api.post(
        f"/api/v1/conversations/{conv.pk}/replies", {"text": text}, content_type="application/json", headers=headers
    )


def _posted(conv: Conversation) -> list[str]:
    return list(Message.objects.filter(conversation=conv, direction="out").values_list("text", flat=True))


def test_an_api_retry_with_the_same_key_returns_the_first_reply_and_sends_once(
    acme, conv, settings, django_capture_on_commit_callbacks
) -> None:
    api = _api(acme)
    with django_capture_on_commit_callbacks(execute=True):
        first = _post(api, conv, "We are looking for your bag", "retry-1")
    with django_capture_on_commit_callbacks(execute=True):
        second = _post(api, conv, "We are looking for your bag", "retry-1")
    assert first.status_code == second.status_code == 201
    assert second.json()["id"] == first.json()["id"] and second.json()["state"] == "sent"
    assert Reply.objects.filter(conversation=conv).count() == 1
    assert _posted(conv) == ["We are looking for your bag"]
    assert len(list(settings.OUTBOUND_SINK_DIR.glob("*.json"))) == 1
    assert AuditEvent.objects.filter(verb="reply.create").count() == 1


def test_the_same_key_with_other_words_is_refused_and_sends_nothing(acme, conv) -> None:
    api = _api(acme)
    assert _post(api, conv, "First words", "key-7").status_code == 201
    refused = _post(api, conv, "Other words", "key-7")
    assert refused.status_code == 422
    assert "already used for a different reply" in refused.json()["detail"]
    assert list(Reply.objects.values_list("text", flat=True)) == ["First words"]


def test_without_a_key_two_calls_are_two_replies(acme, conv) -> None:
    api = _api(acme)
    assert _post(api, conv, "Hello", None).status_code == 201
    assert _post(api, conv, "Hello", None).status_code == 201
    assert Reply.objects.count() == 2


def test_keys_belong_to_one_organisation(acme, conv, make_org, make_event, ingest) -> None:
    other = make_org("globex", brands=("Acme Air",))
    ingest(other["org"], [make_event("where is my bag", author="bob")])
    other_conv = Conversation.objects.get(organization=other["org"])
    assert _post(_api(acme), conv, "Hello", "shared-key").status_code == 201
    answer = _post(_api(other), other_conv, "Hello", "shared-key")
    assert answer.status_code == 201 and Reply.objects.count() == 2


def test_an_over_long_key_is_refused_with_the_reason(acme, conv) -> None:
    answer = _post(_api(acme), conv, "Hello", "k" * 300)
    assert answer.status_code == 422 and Reply.objects.count() == 0


def test_the_composer_posted_twice_with_its_token_sends_one_reply(acme, conv, django_capture_on_commit_callbacks):
    client = Client()
    client.force_login(acme["users"]["agent"])
    page = client.get(f"/c/{conv.pk}/").content.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', page)
    assert token, "the composer carries a one-time form token"
    form = {"text": "Your bag is on its way", "form_token": token.group(1)}
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            answer = client.post(f"/c/{conv.pk}/reply/", form, follow=True)
        assert answer.status_code == 200 and "Reply to" in answer.content.decode()
    assert Reply.objects.filter(conversation=conv).count() == 1
    assert _posted(conv) == ["Your bag is on its way"]
    fresh = re.search(r'name="form_token" value="([^"]+)"', answer.content.decode())
    assert fresh and fresh.group(1) != token.group(1)  # the next reply gets a new token


def test_each_render_of_the_composer_has_its_own_token(acme, conv) -> None:
    client = Client()
    client.force_login(acme["users"]["agent"])
    pages = [client.get(f"/c/{conv.pk}/").content.decode() for _ in range(2)]
    tokens = {re.search(r'name="form_token" value="([^"]+)"', p).group(1) for p in pages}  # type: ignore[union-attr]
    assert len(tokens) == 2


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_with_one_key_create_one_reply(acme, conv, scope_of, monkeypatch) -> None:
    """Both requests look for an earlier reply before either has written one, then both insert: the
    database's unique key lets one win, and the other answers with the winner's reply."""
    if connection.vendor != "postgresql":
        pytest.skip("two writers at once need PostgreSQL (SQLite serialises writers); run with DATABASE_URL")
    scope = scope_of(acme["users"]["agent"], acme["org"])
    both_looked = threading.Barrier(2, timeout=30)
    looked_in: set[str] = set()
    original = replies._earlier_reply

    def look_then_wait(c: Conversation, key: str, request_hash: str) -> Reply | None:
        found = original(c, key, request_hash)
        name = threading.current_thread().name
        if name not in looked_in:  # only the first look of each request waits for the other's
            looked_in.add(name)
            both_looked.wait()
        return found

    monkeypatch.setattr(replies, "_earlier_reply", look_then_wait)
    results: dict[str, int] = {}
    errors: list[BaseException] = []

    def request(name: str) -> None:
        try:
            results[name] = do_create_reply(scope, conv, "On its way", Origin.API, client_key="api:race").pk
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=request, args=(n,), name=n) for n in ("first", "second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(results) == 2
    assert results["first"] == results["second"]
    assert Reply.objects.filter(conversation=conv).count() == 1
    assert _posted(conv) == ["On its way"]  # delivered once (tasks run inline after commit)


def test_an_old_composer_sent_again_with_other_words_keeps_them_and_says_why(acme, conv) -> None:
    client = Client()
    client.force_login(acme["users"]["agent"])
    page = client.get(f"/c/{conv.pk}/").content.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    client.post(f"/c/{conv.pk}/reply/", {"text": "First answer", "form_token": token})
    again = client.post(f"/c/{conv.pk}/reply/", {"text": "Edited after going Back", "form_token": token})
    shown = again.content.decode()
    assert "already used for another reply, so this text was not sent" in shown
    assert "Edited after going Back</textarea>" in shown  # the words wait in the box, with a fresh token
    assert list(Reply.objects.values_list("text", flat=True)) == ["First answer"]
