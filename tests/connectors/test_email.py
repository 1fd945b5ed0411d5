"""The email channel against real servers: Dovecot holds the mailboxes (IMAP), aiosmtpd takes Hubbub's mail
and delivers it into the customer's mailbox, where the test reads it as the customer's mail client would."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from imapclient import IMAPClient

from hubbub.connectors import email_idle
from hubbub.connectors.base import ChannelError, connector_for
from hubbub.connectors.models import Channel, ChannelStatus
from hubbub.inbox.models import Conversation, Message
from hubbub.ingest.channel_intake import poll_channel_now
from hubbub.ingest.models import QuarantinedEvent
from tests.connectors.mailboxes import customer_mail, poll
from tests.connectors.mailservers import HOST

pytestmark = pytest.mark.django_db


def test_a_customer_mail_becomes_a_conversation_with_author_subject_and_text(support, customer, mail):
    server, _ = mail
    server.deliver(
        customer_mail(customer, support.name, "Lost bag on AC123", "My bag did not arrive in Lisbon.\n\nAnn"),
        support.name,
    )
    assert poll(support).new == 1
    conv = Conversation.objects.get(organization=support.organization, network="email")
    assert conv.brand == support.brand
    assert (conv.author.handle, conv.author.display_name) == (customer, "Ann Smith")
    message = conv.messages.get()
    assert message.text.startswith("Lost bag on AC123\n\nMy bag did not arrive in Lisbon.")


def test_polling_twice_stores_once_and_the_cursor_survives_a_restart(support, customer, mail):
    server, _ = mail
    server.deliver(customer_mail(customer, support.name, "Refund", "Where is my refund?"), support.name)
    assert poll(support).new == 1
    stored = Channel.objects.get(pk=support.pk).cursor
    assert stored["uid"] >= 1 and stored["uidvalidity"]
    assert poll(support).events == 0  # nothing new: the saved cursor is where the next poll starts
    server.deliver(customer_mail(customer, support.name, "Refund again", "Still waiting."), support.name)
    restarted = Channel.objects.get(pk=support.pk)  # a new worker: only what the database kept
    assert poll(restarted).events == 1
    assert Message.objects.filter(network="email").count() == 2


def test_a_newly_connected_mailbox_brings_in_its_last_week_not_its_history(support, customer, mail):
    server, _ = mail
    old = customer_mail(customer, support.name, "Old", "A complaint from last spring.")
    with IMAPClient(HOST, server.imap_port, ssl=False, timeout=30) as client:  # a mailbox with history
        client.login(support.name, server.users[support.name])
        client.append("INBOX", old.as_bytes(), msg_time=datetime.now(UTC) - timedelta(days=60))
    server.deliver(customer_mail(customer, support.name, "New", "Where is my bag?"), support.name)
    assert poll(support).new == 1
    assert Message.objects.get(network="email").text == "New\n\nWhere is my bag?"


def test_a_new_uidvalidity_rescans_without_storing_twice(support, customer, mail):
    server, _ = mail
    server.deliver(customer_mail(customer, support.name, "Seat", "Can I change my seat?"), support.name)
    poll(support)
    renumbered = dict(Channel.objects.get(pk=support.pk).cursor, uidvalidity=1)  # the server was restored
    Channel.objects.filter(pk=support.pk).update(cursor=renumbered)
    outcome = poll(support)
    assert (outcome.events, outcome.new) == (1, 0)  # read again, recognised by its Message-ID
    assert Message.objects.filter(network="email").count() == 1


def test_a_follow_up_joins_the_conversation_even_after_it_was_resolved(support, customer, mail):
    server, _ = mail
    first = customer_mail(customer, support.name, "Wifi on board", "The wifi did not work.")
    server.deliver(first, support.name)
    poll(support)
    conv = Conversation.objects.get(network="email")
    Conversation.objects.filter(pk=conv.pk).update(status="resolved")
    colleague, _ = server.add_user("bob", domain="example.test")  # someone else answers in the same thread
    follow_up = customer_mail(
        colleague,
        support.name,
        "Re: Wifi on board",
        "Same for me, seat 12C.\n\nOn Monday Ann wrote:\n> The wifi did not work.",
        name="Bob",
        In_Reply_To=first["Message-ID"],
        References=first["Message-ID"],
    )
    server.deliver(follow_up, support.name)
    poll(support)
    texts = list(conv.messages.order_by("created_at", "id").values_list("text", flat=True))
    assert texts[1] == "Same for me, seat 12C."  # the quoted mail is trimmed
    assert Conversation.objects.filter(network="email").count() == 1


def test_a_malformed_mail_is_quarantined_and_the_next_one_still_arrives(support, customer, mail):
    server, _ = mail
    no_sender = b"From: nobody at all\r\nSubject: ???\r\nMessage-ID: <bad@x>\r\n\r\nno address here\r\n"
    server.deliver(no_sender, support.name)
    server.deliver(customer_mail(customer, support.name, "Meal", "I ordered a vegan meal."), support.name)
    outcome = poll(support)
    assert outcome.new == 1
    entry = QuarantinedEvent.objects.get(organization=support.organization)
    assert "No sender address" in entry.reason and "no address here" in entry.raw
    assert Message.objects.get(network="email").text.endswith("I ordered a vegan meal.")


def test_odd_mail_is_read_without_crashing(support, customer, mail):
    server, _ = mail
    unknown_charset = (
        f"From: {customer}\r\nTo: {support.name}\r\nSubject: =?x-unknown?q?caf=E9?=\r\n"
        "Content-Type: text/plain; charset=x-unknown\r\n\r\ncaf\xe9 au lait\r\n"
    ).encode("latin-1")  # no Message-ID either
    html_only = customer_mail(customer, support.name, "Menu", "unused")
    html_only.set_content(
        "<html><head><style>p{}</style></head><body><p>Hot <b>&amp;</b> cold</p>"
        "<script>alert(1)</script></body></html>",
        subtype="html",
    )
    html_only.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="ticket.pdf")
    server.deliver(unknown_charset, support.name)
    server.deliver(html_only, support.name)
    assert poll(support).new == 2
    odd = Message.objects.get(network="email", external_id__endswith="@synthetic.invalid")  # had no Message-ID
    assert "caf\ufffd au lait" in odd.text
    assert Message.objects.get(network="email", external_id=html_only["Message-ID"].strip("<>")).text == (
        "Menu\n\nHot & cold"  # no markup, no script, no style; the attachment is only noted
    )
    assert poll(support).new == 0  # the synthetic id is stable: read again, not stored again


def test_a_wrong_password_asks_for_a_reconnect(support, mail):
    support.credentials = dict(support.credentials, password="wrong")
    support.save()
    with pytest.raises(ChannelError) as failure:
        connector_for("email").check(support)  # type: ignore[union-attr]
    assert failure.value.reconnect_needed and "refused the login" in failure.value.reason
    outcome = poll_channel_now(support)
    support.refresh_from_db()
    assert not outcome.ok and support.status == ChannelStatus.RECONNECT_NEEDED


def test_wait_for_mail_wakes_up_when_mail_arrives(support, customer, mail):
    server, _ = mail
    poll(support)
    cursor = Channel.objects.get(pk=support.pk).cursor
    woke: list[bool] = []
    started = threading.Event()

    def wait() -> None:
        started.set()
        woke.append(email_idle.wait_for_mail(support, cursor, timeout=120))

    waiter = threading.Thread(target=wait)
    waiter.start()
    started.wait()
    server.deliver(customer_mail(customer, support.name, "Gate", "Which gate?"), support.name)
    waiter.join()
    assert woke == [True]


@pytest.mark.django_db(transaction=True)  # the watching thread reads the channel through its own connection
def test_a_watching_worker_polls_as_soon_as_mail_arrives(support, customer, mail):
    server, _ = mail
    poll(support)
    polled = threading.Event()
    stop = threading.Event()

    def poll_now(channel: Channel) -> Any:
        outcome = poll(channel)
        polled.set()
        return outcome

    watcher = threading.Thread(target=email_idle.watch, args=(Channel.objects.get(pk=support.pk), poll_now, stop))
    watcher.start()
    try:
        server.deliver(customer_mail(customer, support.name, "Gate", "Which gate for AC9?"), support.name)
        assert polled.wait(timeout=120), "the mail did not wake the watcher"
    finally:
        stop.set()
        watcher.join()
    assert Message.objects.get(network="email").text == "Gate\n\nWhich gate for AC9?"


def test_the_settings_page_never_shows_the_mailbox_passwords(support):
    from hubbub.connectors.channel_admin import masked_credentials

    support.credentials = dict(support.credentials, smtp_password="smtp-secret-value-1234")
    shown = masked_credentials(support)
    assert shown["password"].startswith("••••") and shown["smtp_password"] == "••••1234"
    assert shown["username"] == support.name  # addresses are shown in full


def test_connections_go_to_the_address_that_was_checked(support, monkeypatch):
    from hubbub import outbound_http

    # A name that no DNS knows (.test is reserved): the connection can only reach the server through the
    # address the policy resolved and allowed, never by the library resolving the name again.
    monkeypatch.setattr(outbound_http, "resolve_name", lambda host, port: ["127.0.0.1"])
    support.credentials = dict(support.credentials, imap_host="imap.acme-air.test")
    assert connector_for("email").check(support).startswith(support.name)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("answer", "tls", "why"),
    [
        ("10.0.0.7", "ssl", "is not allowed: private network"),
        ("169.254.169.254", "ssl", "is not allowed: link-local"),
        ("93.184.215.14", "none", "the password would travel in clear"),
    ],
)
def test_a_mail_server_the_policy_refuses_is_never_contacted(support, monkeypatch, answer, tls, why):
    from hubbub import outbound_http

    monkeypatch.setattr(outbound_http, "resolve_name", lambda host, port: [answer])
    monkeypatch.setattr(outbound_http.socket, "create_connection", None)  # any connection attempt would fail loudly
    support.credentials = dict(support.credentials, imap_host="imap.acme-air.test", tls=tls)
    with pytest.raises(ChannelError, match=why) as refused:
        connector_for("email").check(support)  # type: ignore[union-attr]
    assert refused.value.reconnect_needed  # an admin must change the settings
