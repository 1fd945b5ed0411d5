"""An agent's reply to an email conversation goes out by SMTP through the real delivery action and lands in the
customer's mailbox threaded under their mail; a crash after the SMTP server took it sends no second mail; the
server's refusals reach the agent with its reason."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from hubbub.connectors.outbound import send_reply
from hubbub.inbox.actions import delivery
from hubbub.inbox.actions.replies import do_create_reply
from hubbub.inbox.models import Conversation, Message, Reply
from tests.connectors.mailboxes import customer_mail, mailbox, poll

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation(support, customer, mail) -> Conversation:  # type: ignore[no-untyped-def]
    """Ann wrote to Acme Air's support address and the mail is in the inbox."""
    original = customer_mail(customer, support.name, "Lost bag on AC123", "My bag did not arrive in Lisbon.")
    mail[0].deliver(original, support.name)
    poll(support)
    return Conversation.objects.get(network="email")


def reply_of(acme: dict[str, Any], scope_of: Any, conv: Conversation, text: str) -> Reply:
    return do_create_reply(scope_of(acme["users"]["agent"], acme["org"]), conv, text)


def test_the_agents_reply_reaches_the_customer_threaded_under_their_mail(  # type: ignore[no-untyped-def]
    acme, scope_of, support, customer, mail, conversation, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # the delivery task runs as the worker would
        reply = reply_of(acme, scope_of, conversation, "Sorry Ann, your bag is on the next flight.")
    reply.refresh_from_db()
    assert reply.state == Reply.State.SENT, reply.error
    original_id = conversation.messages.get(direction="in").external_id
    [received] = mailbox(mail[0], customer)
    assert received["Subject"] == "Re: Lost bag on AC123"
    assert received["In-Reply-To"] == f"<{original_id}>" and f"<{original_id}>" in received["References"]
    assert received["From"].addresses[0].addr_spec == support.name
    assert received.get_content().strip() == "Sorry Ann, your bag is on the next flight."
    assert [m["Message-ID"] for m in mailbox(mail[0], support.name, "Sent")] == [received["Message-ID"]]
    assert reply.external_id == received["Message-ID"].strip("<>")  # the brand's message is known by it


def test_the_customers_answer_to_the_reply_joins_the_conversation(  # type: ignore[no-untyped-def]
    acme, scope_of, support, customer, mail, conversation, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reply_of(acme, scope_of, conversation, "Could you send us your tag number?")
    Conversation.objects.filter(pk=conversation.pk).update(status="resolved")  # the agent closed it meanwhile
    [received] = mailbox(mail[0], customer)
    answer = customer_mail(
        customer,
        support.name,
        "Re: Lost bag on AC123",
        "It is LIS123456.",
        In_Reply_To=received["Message-ID"],
        References=f"{received['References']} {received['Message-ID']}",
    )
    mail[0].deliver(answer, support.name)
    poll(support)
    assert Conversation.objects.filter(network="email").count() == 1
    assert list(conversation.messages.order_by("id").values_list("direction", "text")) == [
        ("in", "Lost bag on AC123\n\nMy bag did not arrive in Lisbon."),
        ("out", "Could you send us your tag number?"),
        ("in", "It is LIS123456."),
    ]


def test_a_crash_after_the_smtp_server_took_the_reply_sends_no_second_mail(  # type: ignore[no-untyped-def]
    acme, scope_of, settings, support, customer, mail, conversation, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):  # created, its delivery task not run yet
        reply = reply_of(acme, scope_of, conversation, "We found your bag.")
    # A worker claimed it and the SMTP server took the mail, then the worker died before recording it.
    Reply.objects.filter(pk=reply.pk).update(state=Reply.State.SENDING, attempts=1, claimed_at=timezone.now())
    original = conversation.messages.get(direction="in")
    send_reply(Reply.objects.get(pk=reply.pk), in_reply_to=original.external_id, recipient=customer)
    later = timezone.now() + timedelta(seconds=settings.REPLY_STUCK_AFTER_SECONDS + 1)
    queued: list[int] = []
    assert delivery.reclaim_stuck_replies(queued.append, now=later) == [reply.pk]
    sent = delivery.do_deliver_reply(queued[0])
    assert (sent.state, sent.attempts) == (Reply.State.SENT, 2)
    [received] = mailbox(mail[0], customer)  # asked the Sent folder first: no second mail
    assert sent.external_id == received["Message-ID"].strip("<>")
    assert Message.objects.filter(direction="out", external_id=sent.external_id).count() == 1


def test_a_refused_recipient_fails_the_reply_with_the_servers_reason(  # type: ignore[no-untyped-def]
    acme, scope_of, support, mail, django_capture_on_commit_callbacks
):
    stranger = "nobody@nowhere.test"  # no such mailbox: the SMTP server answers 550
    mail[0].deliver(customer_mail(stranger, support.name, "Hello", "Are you there?"), support.name)
    poll(support)
    with django_capture_on_commit_callbacks(execute=True):
        reply = reply_of(acme, scope_of, Conversation.objects.get(network="email"), "Yes, how can we help?")
    reply.refresh_from_db()
    assert reply.state == Reply.State.FAILED
    assert "550" in reply.error and "no such mailbox" in reply.error


def test_a_busy_server_keeps_the_reply_for_a_later_attempt(  # type: ignore[no-untyped-def]
    acme, scope_of, support, customer, mail, conversation, django_capture_on_commit_callbacks
):
    _, smtp = mail
    smtp.relay.busy.add(customer)  # the server answers 451: try again later
    with django_capture_on_commit_callbacks(execute=False):
        reply = reply_of(acme, scope_of, conversation, "We are looking into it.")
    try:
        with pytest.raises(delivery.TransientDeliveryError, match="451"):
            delivery.do_deliver_reply(reply.pk)
    finally:
        smtp.relay.busy.discard(customer)
    reply.refresh_from_db()
    assert reply.state == Reply.State.APPROVED and "451" in reply.error
    assert delivery.do_deliver_reply(reply.pk).state == Reply.State.SENT  # the next attempt goes through
    assert len(mailbox(mail[0], customer)) == 1


def test_a_wrong_smtp_password_fails_the_reply_and_says_to_reconnect(  # type: ignore[no-untyped-def]
    acme, scope_of, support, customer, mail, conversation, django_capture_on_commit_callbacks
):
    support.credentials = dict(support.credentials, smtp_username=support.name, smtp_password="wrong")
    support.save()
    with django_capture_on_commit_callbacks(execute=True):
        reply = reply_of(acme, scope_of, conversation, "Thanks for waiting.")
    reply.refresh_from_db()
    assert reply.state == Reply.State.FAILED and "refused the login" in reply.error
    assert mailbox(mail[0], customer) == []


def bounce_of(returned: Any, mailer: str, to: str) -> bytes:
    """A delivery status notification as Postfix writes it, returning the headers of the mail that failed."""
    return (
        f"From: Mail Delivery System <{mailer}>\r\nTo: {to}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce-1@mx.example.test>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you that your message could not\r\n"
        "be delivered to one or more recipients.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.test\r\n\r\n"
        "Final-Recipient: rfc822; gone@example.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: {to}\r\nSubject: {returned['Subject']}\r\n"
        f"Message-ID: {returned['Message-ID']}\r\n--B--\r\n"
    ).encode()


def test_a_bounce_joins_the_conversation_and_is_not_answered(  # type: ignore[no-untyped-def]
    acme, scope_of, support, customer, mail, conversation, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reply_of(acme, scope_of, conversation, "Your bag is on the way.")
    [sent] = mailbox(mail[0], support.name, "Sent")
    mailer, _ = mail[0].add_user("mailer-daemon", domain="mx.example.test")
    mail[0].deliver(bounce_of(sent, mailer, support.name), support.name)
    poll(support)
    assert Conversation.objects.filter(network="email").count() == 1  # no new conversation for a machine
    assert conversation.messages.order_by("id").last().text.startswith("I'm sorry to have to inform you")
    with django_capture_on_commit_callbacks(execute=True):
        answer = reply_of(acme, scope_of, conversation, "Hello?")
    answer.refresh_from_db()
    assert answer.state == Reply.State.FAILED and "delivery failure report" in answer.error
    assert mailbox(mail[0], mailer) == []  # the mail system was not mailed
