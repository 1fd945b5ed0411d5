"""Delivery of approved replies: a transient network error is tried again later (and given up after the last
attempt), a permanent one fails the reply with the network's reason for the agent to retry, and a reply left
in `sending` by a worker that stopped is sent again, after asking the network, never twice. The database going
away mid-delivery (a PostgreSQL restart) delays the reply by seconds, not by the reclaim's
`REPLY_STUCK_AFTER_SECONDS`: the task tries again with the claims of its interrupted attempts and takes its own
claim over, asking the network first (tests/faults restarts a real PostgreSQL under real workers)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from hubbub.connectors.outbound import PermanentDeliveryError, TransientDeliveryError
from hubbub.inbox.actions import delivery
from hubbub.inbox.actions.replies import do_create_reply
from hubbub.inbox.models import Conversation, Direction, Message, Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def reply(acme, make_event, ingest, scope_of, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    ingest(acme["org"], [make_event("my bag is lost", author="ann")])
    scope = scope_of(acme["users"]["agent"], acme["org"])
    return do_create_reply(scope, Conversation.objects.get(), "Sorry Ann, we are on it.")  # queued on commit


def network_fails(monkeypatch, error: Exception) -> list[int]:  # type: ignore[no-untyped-def]
    calls: list[int] = []

    def send(r: Reply, **answering: str) -> str:
        calls.append(r.pk)
        raise error

    monkeypatch.setattr(delivery, "send_reply", send)
    return calls


def test_a_transient_error_keeps_the_reply_for_a_later_attempt(reply, monkeypatch):  # type: ignore[no-untyped-def]
    network_fails(monkeypatch, TransientDeliveryError("X answered 503 Service Unavailable", retry_after=30))
    with pytest.raises(TransientDeliveryError):
        delivery.do_deliver_reply(reply.pk)
    reply.refresh_from_db()
    assert (reply.state, reply.attempts) == (Reply.State.APPROVED, 1)
    assert "503" in reply.error
    assert delivery.retry_delay(reply.pk, TransientDeliveryError("503", retry_after=30)) == 30  # as the network asked
    assert Message.objects.filter(direction="out").count() == 0


def test_the_delay_grows_and_the_last_attempt_fails_the_reply(reply, monkeypatch, settings):  # type: ignore[no-untyped-def]
    calls = network_fails(monkeypatch, TransientDeliveryError("timed out after 20 s"))
    delays = []
    for _ in range(delivery.MAX_ATTEMPTS):
        with pytest.raises(TransientDeliveryError) as caught:
            delivery.do_deliver_reply(reply.pk)
        delays.append(delivery.retry_delay(reply.pk, caught.value))
    assert len(calls) == delivery.MAX_ATTEMPTS  # each later one asked the network first: nothing there
    assert delays[-1] is None and all(d is not None for d in delays[:-1])
    assert delays[1] > delays[0] and max(d for d in delays if d) <= settings.REPLY_STUCK_AFTER_SECONDS
    reply.refresh_from_db()
    assert reply.state == Reply.State.FAILED
    assert reply.error.startswith(f"Gave up after {delivery.MAX_ATTEMPTS} attempts: timed out")


def test_a_permanent_error_fails_at_once_and_the_agent_can_retry(  # type: ignore[no-untyped-def]
    reply, monkeypatch, acme, scope_of, django_capture_on_commit_callbacks
):
    network_fails(monkeypatch, PermanentDeliveryError("X refused it: the tweet you reply to was deleted (403)"))
    assert delivery.do_deliver_reply(reply.pk).state == Reply.State.FAILED
    reply.refresh_from_db()
    assert "deleted (403)" in reply.error
    monkeypatch.undo()
    queued: list[int] = []
    scope = scope_of(acme["users"]["agent"], acme["org"])
    with django_capture_on_commit_callbacks(execute=True):
        delivery.do_retry_reply(scope, reply, queued.append)
    assert queued == [reply.pk]
    assert delivery.do_deliver_reply(reply.pk).state == Reply.State.SENT
    with pytest.raises(ValueError, match="Only a failed reply"):
        delivery.do_retry_reply(scope, Reply.objects.get(pk=reply.pk), queued.append)


def test_an_analyst_cannot_retry_a_failed_reply(reply, monkeypatch, acme, scope_of):  # type: ignore[no-untyped-def]
    from hubbub.tenancy.scoping import PermissionDenied

    network_fails(monkeypatch, PermanentDeliveryError("401 token revoked"))
    delivery.do_deliver_reply(reply.pk)
    with pytest.raises(PermissionDenied):
        delivery.do_retry_reply(scope_of(acme["users"]["analyst"], acme["org"]), reply, lambda _id: None)


def test_a_reply_left_sending_is_reclaimed_and_not_posted_twice(reply, settings):  # type: ignore[no-untyped-def]
    from hubbub.connectors.outbound import send_reply

    # the worker claimed it and the network took the post, then the worker died before recording it
    Reply.objects.filter(pk=reply.pk).update(state=Reply.State.SENDING, attempts=1, claimed_at=timezone.now())
    posted_id = send_reply(Reply.objects.get(pk=reply.pk))
    queued: list[int] = []
    assert delivery.reclaim_stuck_replies(queued.append) == []  # not yet: the worker may only be slow
    later = timezone.now() + timedelta(seconds=settings.REPLY_STUCK_AFTER_SECONDS + 1)
    assert delivery.reclaim_stuck_replies(queued.append, now=later) == [reply.pk]
    sent = delivery.do_deliver_reply(queued[0])
    assert (sent.state, sent.external_id, sent.attempts) == (Reply.State.SENT, posted_id, 2)
    assert len(list(settings.OUTBOUND_SINK_DIR.glob("*.json"))) == 1  # asked the network: no second post
    assert Message.objects.filter(direction="out", external_id=posted_id).count() == 1
    assert delivery.reclaim_stuck_replies(queued.append, now=later) == []


def test_an_approved_reply_whose_task_was_lost_is_queued_again(reply, settings):  # type: ignore[no-untyped-def]
    queued: list[int] = []
    later = timezone.now() + timedelta(seconds=settings.REPLY_STUCK_AFTER_SECONDS + 1)
    assert delivery.reclaim_stuck_replies(queued.append, now=later) == [reply.pk]
    assert delivery.do_deliver_reply(reply.pk).state == Reply.State.SENT
    assert delivery.do_deliver_reply(reply.pk).state == Reply.State.SENT  # a second task finds it sent
    assert Message.objects.filter(direction="out").count() == 1


def test_an_attempt_cut_after_the_post_is_resumed_and_recorded_once(reply, monkeypatch):  # type: ignore[no-untyped-def]
    posted: list[str] = []

    def send(r: Reply, **answering: str) -> str:
        posted.append(r.text)
        return "x-1"

    monkeypatch.setattr(delivery, "send_reply", send)
    monkeypatch.setattr(delivery, "find_posted", lambda r, **a: "x-1" if posted else None)
    real_record = delivery._record_sent

    def database_gone(r: Reply, external_id: str, in_reply_to: str = "") -> Reply:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(delivery, "_record_sent", database_gone)
    first = timezone.now()
    with pytest.raises(delivery.DATABASE_AWAY):
        delivery.do_deliver_reply(reply.pk, claim_at=first)
    assert Reply.objects.get(pk=reply.pk).state == Reply.State.SENDING  # claimed, posted, not recorded
    monkeypatch.setattr(delivery, "_record_sent", real_record)

    # another task's attempt (no claim of its own) leaves it alone: it is not stuck yet
    assert delivery.do_deliver_reply(reply.pk).state == Reply.State.SENDING
    # the interrupted task's next attempt takes its claim over, finds the post and records it
    done = delivery.do_deliver_reply(reply.pk, claim_at=first + timedelta(seconds=2), resume_claims=[first])
    assert (done.state, done.external_id, done.attempts) == (Reply.State.SENT, "x-1", 2)
    assert posted == [reply.text]  # posted once
    assert Message.objects.filter(direction=Direction.OUT, external_id="x-1").count() == 1


def test_an_attempt_cut_before_its_claim_was_written_claims_afresh(reply, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(delivery, "send_reply", lambda r, **a: "x-2")
    never_written = timezone.now() - timedelta(seconds=2)
    done = delivery.do_deliver_reply(reply.pk, resume_claims=[never_written])
    assert (done.state, done.attempts) == (Reply.State.SENT, 1)


def test_a_retry_asks_about_the_message_the_first_attempt_answered(  # type: ignore[no-untyped-def]
    reply, monkeypatch, acme, make_event, ingest
):
    """The customer writing again between two attempts changes nothing: the first attempt wrote down the message
    it answered, so the retry finds its post instead of posting again under the newer message."""
    answered: list[str] = []
    monkeypatch.setattr(delivery, "send_reply", lambda r, **a: answered.append(a["in_reply_to"]) or "x-3")
    asked: list[str] = []
    monkeypatch.setattr(delivery, "find_posted", lambda r, **a: asked.append(a["in_reply_to"]) or "x-3")

    def cut_after_posting(name: str) -> None:
        if name == "deliver.posted":
            raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(delivery, "crash_point", cut_after_posting)
    with pytest.raises(OperationalError):
        delivery.do_deliver_reply(reply.pk)  # posted, not recorded
    monkeypatch.setattr(delivery, "crash_point", lambda name: None)
    ingest(acme["org"], [make_event("hello?? anyone", author="ann", created_at=timezone.now())])
    assert Message.objects.filter(direction=Direction.IN).count() == 2  # the same conversation, newer message
    Reply.objects.filter(pk=reply.pk).update(state=Reply.State.APPROVED)  # as the reclaim does
    assert delivery.do_deliver_reply(reply.pk).state == Reply.State.SENT
    assert asked == answered  # the retry asked about the message the post answers
    assert Message.objects.get(direction=Direction.OUT).in_reply_to == answered[0]


def _failed(reply, monkeypatch) -> Reply:  # type: ignore[no-untyped-def]
    network_fails(monkeypatch, PermanentDeliveryError("X refused it: the tweet you reply to was deleted (403)"))
    delivery.do_deliver_reply(reply.pk)
    monkeypatch.undo()
    return Reply.objects.get(pk=reply.pk)


def test_the_agent_retries_a_failed_reply_from_the_thread(  # type: ignore[no-untyped-def]
    reply, monkeypatch, acme, django_capture_on_commit_callbacks
):
    """The failure and its reason are shown beside the reply with a Retry button, which sends it again."""
    from django.test import Client

    from tests.web.test_htmx_notices import notices

    failed = _failed(reply, monkeypatch)
    agent, analyst = Client(), Client()
    agent.force_login(acme["users"]["agent"])
    analyst.force_login(acme["users"]["analyst"])
    url = f"/c/{failed.conversation_id}/replies/{failed.pk}/retry/"
    pane = agent.get(f"/c/{failed.conversation_id}/").content.decode()
    assert "deleted (403)" in pane and url in pane
    assert url not in analyst.get(f"/c/{failed.conversation_id}/").content.decode()  # not offered to an analyst
    assert analyst.post(url).status_code == 403
    queued: list[int] = []
    monkeypatch.setattr("hubbub.inbox.views.enqueue_delivery", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        answer = agent.post(url, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200 and notices(answer) == [("success", "Sending the reply again.")]
    assert queued == [failed.pk] and Reply.objects.get(pk=failed.pk).state == Reply.State.APPROVED
    again = agent.post(url, HTTP_HX_REQUEST="true")  # a second press, or a colleague's, queues nothing more
    assert notices(again) == [("error", "Only a failed reply can be sent again.")] and queued == [failed.pk]
    assert agent.post(f"/c/{failed.conversation_id}/replies/99999999999999999999/retry/").status_code == 404


def test_the_api_retries_a_failed_reply_once(  # type: ignore[no-untyped-def]
    reply, monkeypatch, acme, django_capture_on_commit_callbacks
):
    from django.test import Client

    from hubbub.api.models import ApiToken

    failed = _failed(reply, monkeypatch)
    _, key = ApiToken.issue(acme["users"]["agent"], acme["org"].pk, "retry")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    queued: list[int] = []
    monkeypatch.setattr("hubbub.inbox.api.enqueue_delivery", queued.append)
    url = f"/api/v1/conversations/{failed.conversation_id}/replies/{failed.pk}/retry"
    with django_capture_on_commit_callbacks(execute=True):
        first = api.post(url)
    assert first.status_code == 200 and first.json()["state"] == "approved" and queued == [failed.pk]
    second = api.post(url)
    assert second.status_code == 409 and "Only a failed reply" in second.json()["detail"]
    assert api.post(f"/api/v1/conversations/{failed.conversation_id}/replies/424242/retry").status_code == 404
