"""Reading a mail into an event (the pure core of the email connector): what an agent sees of a customer's mail,
and that no mail, however broken, makes the reader raise anything but a reason for the quarantine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubbub.connectors.email_parse import Mailbox, MalformedMail, normalise_id, parse_mail, trim_quoted

BOX = Mailbox(brand_slug="acme-air", own_addresses=frozenset({"support@acme-air.test"}))
ARRIVED = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)


def raw(*headers: str, body: str = "Hello") -> bytes:
    return ("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode()


def test_the_author_threading_and_subject_come_from_the_headers():
    event = parse_mail(
        raw(
            'From: "Smith, Ann" <Ann.Smith@Example.test>',
            "To: support@acme-air.test",
            "Subject: =?utf-8?q?Caf=C3=A9_on_board?=",
            "Date: Mon, 02 Nov 2026 09:15:00 +0100",
            "Message-ID: <abc@example.test>",
            "References: <one@acme-air.test> <two@acme-air.test>",
        ),
        BOX,
        ARRIVED,
    )
    assert (event.author_name, event.author_id, event.author_handle) == (
        "Smith, Ann",
        "ann.smith@example.test",
        "ann.smith@example.test",
    )
    assert (event.external_id, event.in_reply_to) == ("abc@example.test", "two@acme-air.test")  # last Reference
    assert event.created_at == datetime(2026, 11, 2, 8, 15, tzinfo=UTC)
    assert event.text == "Hello"  # a follow-up: its subject is the thread's, not news
    assert event.extra["subject"] == "Café on board" and event.brand_slug == "acme-air"


def test_mail_from_the_brands_own_address_is_the_brands_message():
    event = parse_mail(raw("From: support@acme-air.test", "Subject: Hi", "Message-ID: <x@y>"), BOX, ARRIVED)
    assert event.direction == "out"


def test_a_date_far_in_the_future_gives_way_to_the_arrival_time():
    future = (datetime.now(UTC) + timedelta(days=30)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    event = parse_mail(raw("From: a@b.test", "Subject: Hi", f"Date: {future}"), BOX, ARRIVED)
    assert event.created_at == ARRIVED


@pytest.mark.parametrize(
    "body",
    [
        "Thanks, that worked.\n\nOn Mon, 2 Nov 2026 at 09:00, Acme Air <support@acme-air.test> wrote:\n> Try again\n",
        "Thanks, that worked.\n\n> Try again\n> please\n",
        "Thanks, that worked.\n\n-----Original Message-----\nFrom: Acme Air\nSent: Monday\n\nTry again\n",
    ],
)
def test_the_quoted_mail_below_a_reply_is_trimmed(body):
    assert trim_quoted(body) == "Thanks, that worked."


def test_a_mail_that_is_all_quote_is_kept_whole():
    assert trim_quoted("> only a quote") == "> only a quote"


def test_ids_are_matched_in_one_spelling():
    assert normalise_id(" <Abc@Example.test> ") == "Abc@Example.test" == normalise_id("Abc@Example.test")
    assert normalise_id("<" + "x" * 300 + "@y>").startswith("sha256:")


def test_a_mail_without_a_sender_is_refused_with_the_reason():
    with pytest.raises(MalformedMail, match="No sender address"):
        parse_mail(raw("From: undisclosed", "Subject: Hi"), BOX, ARRIVED)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_no_bytes_make_the_reader_raise_anything_but_a_reason(data):
    try:
        event = parse_mail(b"From: a@b.test\r\n" + data, BOX, ARRIVED)
    except MalformedMail as exc:
        assert exc.reason
    else:
        assert event.external_id and event.author_id == "a@b.test"


@pytest.mark.parametrize(
    ("header", "why"),
    [
        ("Auto-Submitted: auto-replied", "Auto-Submitted: auto-replied"),
        ("Precedence: bulk", "Precedence: bulk"),
        ("X-Autoreply: yes", "auto-reply header"),
        ("Return-Path: <>", "delivery failure report (a bounce)"),
    ],
)
def test_mail_sent_by_a_machine_is_marked_so_nothing_automatic_answers_it(header, why):
    event = parse_mail(raw("From: a@b.test", "Subject: Out of office", header), BOX, ARRIVED)
    assert event.extra["automatic"] == why


def test_a_person_s_mail_is_not_marked_automatic():
    event = parse_mail(raw("From: a@b.test", "Subject: Hi", "Auto-Submitted: no"), BOX, ARRIVED)
    assert "automatic" not in event.extra


def test_a_reply_to_an_address_no_mail_header_can_hold_fails_for_good():
    from hubbub.connectors.base import OutboundReply
    from hubbub.connectors.email_out import send
    from hubbub.connectors.models import Channel
    from hubbub.connectors.outbound import PermanentDeliveryError
    from hubbub.tenancy.models import Brand

    channel = Channel(brand=Brand(name="Acme Air", slug="acme-air"), network="email", name="s@acme-air.test")
    channel.credentials = {"imap_host": "127.0.0.1", "username": "s", "password": "x", "address": "s@acme-air.test"}
    extra = {"subject": "Hi", "reply_to": "ann@example.test\nBcc: everyone@example.test"}  # a header injection
    reply = OutboundReply("k1", "Hello", "email", "acme-air", 1, "abc@example.test", extra, "ann@example.test")
    with pytest.raises(PermanentDeliveryError, match="Could not write the mail"):  # before any connection
        send(channel, reply)
