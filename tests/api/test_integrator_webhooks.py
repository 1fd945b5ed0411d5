"""Outbound webhooks for integrators, end to end against a real receiver on loopback (opened by the operator
allow-list): the events arrive signed, failures are retried with the same delivery id, an endpoint that keeps
failing is paused with a notice and an audit entry, and an organisation's admins alone see and drive theirs."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client

from hubbub.api import webhook_admin as admin
from hubbub.api import webhook_delivery
from hubbub.api.models import ApiToken
from hubbub.api.webhook_models import WebhookDelivery, WebhookEndpoint
from hubbub.inbox.actions.conversations import do_assign, do_change_status
from hubbub.inbox.actions.replies import do_create_reply
from hubbub.inbox.models import Conversation
from hubbub.tenancy.models import AuditEvent

pytestmark = pytest.mark.django_db


class Receiver:
    """A ThreadingHTTPServer on a free loopback port that records every POST and answers the scripted
    statuses in turn (then `default`)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        self.default = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.requests.append((dict(self.headers.items()), body))
                status = outer.statuses.pop(0) if outer.statuses else outer.default
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def events(self) -> list[str]:
        return [h["X-Hubbub-Event"] for h, _ in self.requests]

    def json(self, i: int = -1) -> dict[str, Any]:
        return dict(json.loads(self.requests[i][1]))


@pytest.fixture(autouse=True)
def _fresh_subscriptions() -> None:
    cache.clear()  # ids are reused between tests; the subscriptions cache must not outlive its rows


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:  # type: ignore[no-untyped-def]
    r = Receiver()
    settings.OUTBOUND_ALLOW = [f"127.0.0.1:{r.httpd.server_address[1]}"]
    thread = threading.Thread(target=r.httpd.serve_forever, daemon=True)
    thread.start()
    yield r
    r.httpd.shutdown()
    r.httpd.server_close()


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """The receiver's recipe, exactly as docs/api.md and the Settings page give it."""
    parts = dict(p.split("=", 1) for p in header.split(","))
    t = int(parts["t"])
    if abs(time.time() - t) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def subscribe(acme, scope_of, receiver: Receiver, *events: str) -> tuple[WebhookEndpoint, str]:  # type: ignore[no-untyped-def]
    return admin.create_endpoint(scope_of(acme["users"]["admin"], acme["org"]), receiver.url, list(events))


def api_client(user, org) -> Client:  # type: ignore[no-untyped-def]
    _, key = ApiToken.issue(user, org.pk, "integration")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def test_a_resolved_conversation_arrives_signed(
    acme, scope_of, make_event, ingest, receiver, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    endpoint, secret = subscribe(acme, scope_of, receiver, "conversation.resolved")
    ingest(acme["org"], [make_event("my bag is lost", author="ann")])
    conv = Conversation.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        do_change_status(scope_of(acme["users"]["agent"], acme["org"]), conv, "resolved")
    assert receiver.events() == ["conversation.resolved"]
    headers, body = receiver.requests[0]
    assert receiver.json()["data"]["conversation"]["id"] == conv.pk
    assert headers["X-Hubbub-Delivery"] == str(WebhookDelivery.objects.get(endpoint=endpoint).pk)
    assert verify(secret, headers["X-Hubbub-Signature"], body)
    assert not verify(secret, headers["X-Hubbub-Signature"], body.replace(b"resolved", b"open"))
    old = int(time.time()) - 3600
    stale = f"t={old},v1=" + hmac.new(secret.encode(), f"{old}.".encode() + body, hashlib.sha256).hexdigest()
    assert not verify(secret, stale, body)  # correctly signed, but an hour old: a replay


def test_assignment_and_sent_reply_arrive(
    acme, scope_of, make_event, ingest, receiver, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    subscribe(acme, scope_of, receiver, "reply.sent", "conversation.assigned")
    ingest(acme["org"], [make_event("my bag is lost", author="ann")])
    conv = Conversation.objects.get()
    agent = scope_of(acme["users"]["agent"], acme["org"])
    with django_capture_on_commit_callbacks(execute=True):
        do_assign(agent, conv, assignee_id=acme["users"]["agent"].pk)
        reply = do_create_reply(agent, conv, "Sorry Ann, we are on it.")
    reply.refresh_from_db()
    assert reply.state == "sent"  # delivered by its task, queued on commit
    assert receiver.events() == ["conversation.assigned", "reply.sent"]
    assert receiver.json(0)["data"]["conversation"]["assignee_id"] == acme["users"]["agent"].pk
    assert receiver.json(1)["data"]["reply"] | {"sent_at": None} == receiver.json(1)["data"]["reply"] | {
        "id": reply.pk,
        "text": "Sorry Ann, we are on it.",
        "sent_at": None,
    }


def test_ingested_mentions_arrive_as_one_event_per_batch(
    acme, scope_of, make_event, ingest, receiver, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    subscribe(acme, scope_of, receiver, "mention.created")
    with django_capture_on_commit_callbacks(execute=True):
        ingest(acme["org"], [make_event("my bag is lost", author="ann"), make_event("great crew", author="bob")])
    assert receiver.events() == ["mention.created"]
    assert [m["text"] for m in receiver.json()["data"]["mentions"]] == ["my bag is lost", "great crew"]


def test_nothing_is_queued_for_an_organisation_without_endpoints(
    acme, make_event, ingest, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ingest(acme["org"], [make_event("my bag is lost", author="ann")])
    assert WebhookDelivery.objects.count() == 0
    assert not [c for c in callbacks if c.__module__.startswith("hubbub.api")]  # no webhook work at all


def test_a_failed_attempt_is_retried_with_the_same_delivery_id(
    acme, scope_of, receiver, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    endpoint, _ = subscribe(acme, scope_of, receiver, "alert.raised")
    receiver.statuses = [500, 200]
    with django_capture_on_commit_callbacks(execute=True):
        sent = admin.send_test(scope_of(acme["users"]["admin"], acme["org"]), endpoint)
    sent.refresh_from_db()
    assert (sent.status, sent.attempts, sent.last_outcome) == ("failed", 1, "failed: HTTP 500")
    assert webhook_delivery.due_delivery_ids(sent.created_at) == []  # not before its back-off is over
    later = sent.next_attempt_at
    for pk in webhook_delivery.due_delivery_ids(later):  # what the worker's periodic task does
        webhook_delivery.deliver(pk, now=later)
    ids = {h["X-Hubbub-Delivery"] for h, _ in receiver.requests}
    assert len(receiver.requests) == 2 and ids == {str(sent.pk)}
    client = Client()
    client.force_login(acme["users"]["admin"])
    page = client.get(f"/settings/webhooks/{endpoint.pk}/").content.decode()
    assert "Delivered" in page and "HTTP 200" in page and "<td>2</td>" in page


def test_an_endpoint_that_keeps_failing_is_paused_with_a_notice(
    acme, scope_of, receiver, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    acme["users"]["admin"].email = "admin@acme.example"
    acme["users"]["admin"].save()
    endpoint, _ = subscribe(acme, scope_of, receiver, "alert.raised")
    receiver.default = 503
    scope = scope_of(acme["users"]["admin"], acme["org"])
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(webhook_delivery.PAUSE_AFTER_FAILURES):
            admin.send_test(scope, endpoint)
    endpoint.refresh_from_db()
    assert not endpoint.active and "failed: HTTP 503" in endpoint.paused_reason
    assert AuditEvent.objects.filter(verb="webhook.paused", target_id=str(endpoint.pk), actor=None).exists()
    with pytest.raises(admin.WebhookError):
        admin.send_test(scope, endpoint)
    client = Client()
    client.force_login(acme["users"]["admin"])
    page = client.get("/settings/webhooks/").content.decode()
    assert "is paused" in page and "20 failed deliveries in a row" in page
    assert [m.to for m in mail.outbox] == [["admin@acme.example"]] and endpoint.url in mail.outbox[0].subject


def test_resend_sends_the_event_again_as_a_new_delivery(acme, scope_of, receiver, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    endpoint, _ = subscribe(acme, scope_of, receiver, "alert.raised")
    with django_capture_on_commit_callbacks(execute=True):
        first = admin.send_test(scope_of(acme["users"]["admin"], acme["org"]), endpoint)
    client = Client()
    client.force_login(acme["users"]["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(f"/settings/webhooks/deliveries/{first.pk}/resend/")
    assert answer.status_code == 302
    assert [receiver.json(i)["id"] for i in (0, 1)] == [first.event_id] * 2
    assert receiver.requests[1][0]["X-Hubbub-Delivery"] != str(first.pk)
    assert AuditEvent.objects.filter(verb="webhook.resent").count() == 1


def test_another_organisation_sees_and_resends_nothing(
    acme, make_org, scope_of, receiver, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    endpoint, _ = subscribe(acme, scope_of, receiver, "alert.raised")
    with django_capture_on_commit_callbacks(execute=True):
        sent = admin.send_test(scope_of(acme["users"]["admin"], acme["org"]), endpoint)
    other = make_org("globex")
    client = Client()
    client.force_login(other["users"]["admin"])
    assert client.get(f"/settings/webhooks/{endpoint.pk}/").status_code == 404
    assert client.post(f"/settings/webhooks/deliveries/{sent.pk}/resend/").status_code == 404
    assert client.post(f"/settings/webhooks/{endpoint.pk}/delete/").status_code == 404
    assert endpoint.url not in client.get("/settings/webhooks/").content.decode()
    api = api_client(other["users"]["admin"], other["org"])
    assert api.get(f"/api/v1/webhooks/{endpoint.pk}").status_code == 404
    assert api.post(f"/api/v1/webhooks/deliveries/{sent.pk}/resend").status_code == 404
    assert api.get("/api/v1/webhooks").json() == []
    assert len(receiver.requests) == 1 and WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_only_admins_manage_webhooks(acme, scope_of, receiver):  # type: ignore[no-untyped-def]
    endpoint, _ = subscribe(acme, scope_of, receiver, "alert.raised")
    client = Client()
    client.force_login(acme["users"]["supervisor"])
    assert client.get("/settings/webhooks/").status_code == 403
    assert client.post(f"/settings/webhooks/{endpoint.pk}/toggle/").status_code == 403
    api = api_client(acme["users"]["supervisor"], acme["org"])
    assert api.get("/api/v1/webhooks").status_code == 403
    answer = api.post(
        "/api/v1/webhooks", {"url": receiver.url, "events": ["reply.sent"]}, content_type="application/json"
    )
    assert answer.status_code == 403
    assert WebhookEndpoint.objects.count() == 1


def test_a_private_address_is_refused_when_saved(acme):  # type: ignore[no-untyped-def]
    api = api_client(acme["users"]["admin"], acme["org"])
    answer = api.post(
        "/api/v1/webhooks", {"url": "http://10.0.0.7/hook", "events": ["reply.sent"]}, content_type="application/json"
    )
    assert answer.status_code == 400 and "not allowed" in answer.json()["detail"]
    client = Client()
    client.force_login(acme["users"]["admin"])
    page = client.post(
        "/settings/webhooks/new/", {"url": "http://127.0.0.1:9/x", "events": ["reply.sent"]}, follow=True
    )
    assert "Endpoint not added" in page.content.decode() and "No webhook endpoint yet" in page.content.decode()
    assert WebhookEndpoint.objects.count() == 0


def test_the_api_adds_an_endpoint_and_shows_its_secret_once(acme, receiver):  # type: ignore[no-untyped-def]
    api = api_client(acme["users"]["admin"], acme["org"])
    created = api.post(
        "/api/v1/webhooks", {"url": receiver.url, "events": ["reply.sent"]}, content_type="application/json"
    )
    assert created.status_code == 201 and created.json()["secret"].startswith("whsec_")
    listed = api.get("/api/v1/webhooks").json()
    assert [e["url"] for e in listed] == [receiver.url] and "secret" not in listed[0]
    paused = api.patch(f"/api/v1/webhooks/{listed[0]['id']}", {"active": False}, content_type="application/json")
    assert paused.json()["active"] is False
    assert AuditEvent.objects.filter(verb__in=["webhook.created", "webhook.paused"]).count() == 2
    assert api.post(f"/api/v1/webhooks/{listed[0]['id']}/test").status_code == 400  # paused: says so
    assert api.delete(f"/api/v1/webhooks/{listed[0]['id']}").status_code == 204
    assert api.get(f"/api/v1/webhooks/{listed[0]['id']}").status_code == 404
    assert AuditEvent.objects.filter(verb="webhook.deleted").count() == 1


def test_a_raised_alert_arrives(acme, scope_of, receiver, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    from django.utils import timezone

    from hubbub.listening import detection
    from hubbub.listening.models import Alert

    subscribe(acme, scope_of, receiver, "alert.raised")
    now = timezone.now()
    alert = Alert.objects.create(
        organization=acme["org"],
        brand=acme["brands"]["Acme Air"],
        kind="negative_spike",
        key="brand",
        detected_at=now,
        window_start=now,
        expected=2.0,
        observed=9.0,
        score=4.0,
        message="Negative mentions spiked",
    )
    with django_capture_on_commit_callbacks(execute=True):
        detection.notify(alert)
    assert receiver.events() == ["alert.raised"]
    assert (
        receiver.json()["data"]["alert"] | {"id": alert.pk, "kind": "negative_spike"}
        == receiver.json()["data"]["alert"]
    )


def test_retries_back_off_with_jitter_up_to_a_cap() -> None:
    import random

    rng = random.Random(7)
    delays = [webhook_delivery.retry_delay(n, rng).total_seconds() for n in range(1, 16)]
    steps = [
        min(webhook_delivery.MAX_RETRY_SECONDS, webhook_delivery.FIRST_RETRY_SECONDS * 2 ** (n - 1))
        for n in range(1, 16)
    ]
    assert all(step / 2 <= d <= step for d, step in zip(delays, steps, strict=True))
    assert max(delays) <= webhook_delivery.MAX_RETRY_SECONDS


def test_a_delivery_failing_for_a_day_is_given_up(acme, scope_of, receiver, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    endpoint, _ = subscribe(acme, scope_of, receiver, "alert.raised")
    receiver.default = 502
    with django_capture_on_commit_callbacks(execute=True):
        sent = admin.send_test(scope_of(acme["users"]["admin"], acme["org"]), endpoint)
    sent.refresh_from_db()
    later = sent.created_at + webhook_delivery.GIVE_UP_AFTER + timedelta(seconds=1)
    webhook_delivery.deliver(sent.pk, now=later)
    sent.refresh_from_db()
    assert (sent.status, sent.attempts, sent.next_attempt_at) == ("given_up", 2, None)
    assert webhook_delivery.due_delivery_ids(later + timedelta(days=1)) == []
    assert webhook_delivery.prune_finished(later) == 0  # the log keeps it for a month
    assert webhook_delivery.prune_finished(later + webhook_delivery.KEEP_FINISHED) == 1
