"""A reply is never posted twice, whatever retries or double clicks happen."""

from __future__ import annotations

import pytest

from hubbub.inbox.actions.delivery import do_deliver_reply
from hubbub.inbox.actions.replies import do_create_reply
from hubbub.inbox.models import Conversation, Message, Reply

pytestmark = pytest.mark.django_db


def test_delivering_the_same_reply_twice_posts_once(acme, make_event, ingest, scope_of, settings):
    ingest(acme["org"], [make_event("help please", author="ann")])
    conv = Conversation.objects.get()
    scope = scope_of(acme["users"]["agent"], acme["org"])
    reply = do_create_reply(scope, conv, "Hello Ann")  # on_commit not run inside the test transaction
    do_deliver_reply(reply.pk)
    do_deliver_reply(reply.pk)
    assert Message.objects.filter(direction="out").count() == 1
    sink_files = list(settings.OUTBOUND_SINK_DIR.glob("*.json"))
    assert len(sink_files) == 1
    reply.refresh_from_db()
    assert reply.state == Reply.State.SENT and reply.external_id.startswith("out-")


def test_a_retry_after_a_crash_mid_send_reuses_the_network_id(acme, make_event, ingest, scope_of, settings):
    ingest(acme["org"], [make_event("help please", author="ann")])
    conv = Conversation.objects.get()
    scope = scope_of(acme["users"]["agent"], acme["org"])
    reply = do_create_reply(scope, conv, "Hello again")
    from django.utils import timezone

    from hubbub.connectors.outbound import send_reply
    from hubbub.inbox.actions.delivery import reclaim_stuck_replies

    # a worker claimed it, the network accepted the post, then the worker died before recording it
    Reply.objects.filter(pk=reply.pk).update(state=Reply.State.SENDING, attempts=1, claimed_at=timezone.now())
    first_id = send_reply(Reply.objects.get(pk=reply.pk))
    settings.REPLY_STUCK_AFTER_SECONDS = 0
    assert reclaim_stuck_replies(do_deliver_reply) == [reply.pk]
    reply.refresh_from_db()
    assert reply.external_id == first_id and reply.state == Reply.State.SENT
    assert len(list(settings.OUTBOUND_SINK_DIR.glob("*.json"))) == 1
