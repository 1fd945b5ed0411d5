"""The email channel's world for tests: Acme Air's support mailbox connected as a channel, a customer with a
mailbox of their own, mails as customers write them, and a mail client's view of a mailbox."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import pytest
from imapclient import IMAPClient

from hubbub.connectors.models import Channel
from hubbub.ingest.channel_intake import poll_channel_now
from tests.connectors.mailservers import HOST, Dovecot, SmtpServer

__all__ = ["customer", "customer_mail", "mail", "mailbox", "poll", "support"]


@pytest.fixture
def mail(dovecot: Dovecot, smtp_server: SmtpServer, settings: Any) -> tuple[Dovecot, SmtpServer]:  # noqa: F811
    settings.OUTBOUND_ALLOW = [HOST]  # the test servers are on loopback, which channels may not reach by default
    return dovecot, smtp_server


@pytest.fixture
def support(acme: dict[str, Any], mail: tuple[Dovecot, SmtpServer]) -> Channel:
    """Acme Air's support mailbox, connected as an email channel."""
    server, smtp = mail
    address, _ = server.add_user("support", domain="acme-air.test")
    brand = acme["brands"]["Acme Air"]
    return Channel.objects.create(
        organization=acme["org"],
        brand=brand,
        network="email",
        name=address,
        credentials=server.credentials(address, smtp_host=HOST, smtp_port=smtp.port),
    )


@pytest.fixture
def customer(mail: tuple[Dovecot, SmtpServer]) -> str:
    address, _ = mail[0].add_user("ann", domain="example.test")
    return address


def customer_mail(
    sender: str, to: str, subject: str, body: str, *, name: str = "Ann Smith", **headers: str
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"{name} <{sender}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = headers.pop("message_id", make_msgid(domain="example.test"))
    for key, value in headers.items():
        msg[key.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def mailbox(server: Dovecot, address: str, folder: str = "INBOX") -> list[EmailMessage]:
    """What the owner of `address` sees in `folder`, read over IMAP like a mail client."""
    with IMAPClient(HOST, server.imap_port, ssl=False, timeout=30) as client:
        client.login(address, server.users[address])
        client.select_folder(folder, readonly=True)
        uids = client.search(["ALL"])
        fetched = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
    return [message_from_bytes(fetched[uid][b"BODY[]"], policy=policy.default) for uid in sorted(fetched)]  # type: ignore[misc]


def poll(channel: Channel) -> Any:
    channel.refresh_from_db()
    outcome = poll_channel_now(channel)
    assert outcome.ok, outcome.error
    return outcome
