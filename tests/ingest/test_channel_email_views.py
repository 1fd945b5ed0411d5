"""Settings → Channels: an admin connects the brand's support mailbox. The login is tried before anything is
saved, the password is kept encrypted and shown masked, a server on a private address is refused unless the
operator allows it, and "Test connection" logs in again. Each mailbox says whether a worker watches it live
(IMAP IDLE) or it is only polled, and why; a watch whose worker stopped renewing it shows as lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hubbub.connectors.models import Channel, ChannelWatch, WatchRest
from hubbub.tenancy.models import AuditEvent
from tests.connectors.mailservers import HOST, Dovecot, dovecot  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _form(acme: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "brand": acme["brands"]["Acme Air"].pk,
        "address": "Support@Acme-Air.test",
        "imap_host": "imap.acme-air.test",
        "imap_port": "993",
        "tls": "ssl",
        "username": "support",
        "password": "app-password-1234",
        **fields,
    }


def test_an_admin_connects_a_mailbox_and_its_password_stays_secret(acme, dovecot, settings) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    settings.OUTBOUND_ALLOW = [HOST]  # the test server is on loopback, which channels may not reach by default
    address, password = dovecot.add_user("support", domain="acme-air.test")
    form = _form(acme, address=address, imap_host=HOST, imap_port=dovecot.imap_port, tls="none")
    form.update(username=address, password=password, smtp_host=HOST, smtp_port="2525")
    client = signed_in(acme["users"]["admin"])
    page = client.post("/settings/channels/email/", form, follow=True).content.decode()

    channel = Channel.objects.get(network="email")
    assert f"Connected {address} (INBOX, 0 messages) to Acme Air" in page
    assert channel.name == address and channel.credentials["password"] == password
    assert password not in channel.credentials_encrypted  # encrypted at rest
    assert password not in page and "••••" + password[-4:] in page
    assert AuditEvent.objects.filter(verb="channel.connected", target_id=str(channel.pk)).exists()
    checked = client.post(f"/settings/channels/{channel.pk}/check/", follow=True).content.decode()
    assert "connection works" in checked


def test_a_mail_server_on_a_private_address_is_refused(acme) -> None:  # type: ignore[no-untyped-def]
    page = signed_in(acme["users"]["admin"]).post(
        "/settings/channels/email/", _form(acme, imap_host="10.1.2.3"), follow=True
    )
    text = page.content.decode()
    assert "The mailbox cannot be used: The mail server 10.1.2.3 is not allowed" in text
    assert not Channel.objects.filter(network="email").exists()


def test_the_smtp_server_passes_the_same_policy(acme, settings) -> None:  # type: ignore[no-untyped-def]
    settings.OUTBOUND_ALLOW = ["10.1.2.3"]
    form = _form(acme, imap_host="10.1.2.3", smtp_host="169.254.169.254")
    text = signed_in(acme["users"]["admin"]).post("/settings/channels/email/", form, follow=True).content.decode()
    assert "The mail server 169.254.169.254 is not allowed" in text
    assert not Channel.objects.filter(network="email").exists()


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"address": "not-an-address"}, "must be an email address"),
        ({"imap_port": "99999"}, "A port is a number from 1 to 65535"),
        ({"tls": "plain"}, "Choose how the connection is secured"),
        ({"imap_host": "imap acme"}, "is not a host name"),
        ({"password": ""}, "the user name and the password are needed"),
    ],
)
def test_a_form_that_cannot_work_says_what_to_fix(acme, fields, reason) -> None:  # type: ignore[no-untyped-def]
    text = signed_in(acme["users"]["admin"]).post("/settings/channels/email/", _form(acme, **fields), follow=True)
    assert reason in text.content.decode()
    assert not Channel.objects.filter(network="email").exists()


def test_only_admins_connect_mailboxes(acme) -> None:  # type: ignore[no-untyped-def]
    answer = signed_in(acme["users"]["supervisor"]).post("/settings/channels/email/", _form(acme))
    assert answer.status_code in (403, 404)
    assert not Channel.objects.filter(network="email").exists()


def _mailbox(acme: dict[str, Any], name: str = "support@acme-air.test") -> Channel:
    credentials = {"address": name, "imap_host": "imap.acme-air.test", "username": name, "password": "app-pw-1234"}
    return Channel.objects.create(
        organization=acme["org"], brand=acme["brands"]["Acme Air"], network="email", name=name, credentials=credentials
    )


def _row(acme: dict[str, Any], channel: Channel) -> str:
    """The channel's row on Settings → Channels, as the admin sees it."""
    page = signed_in(acme["users"]["admin"]).get("/settings/channels/").content.decode()
    start = page.index(f'id="channel-{channel.pk}"')
    return page[start : page.index("</tr>", start)]


def test_a_mailbox_with_a_fresh_lease_is_watched_live_by_its_worker(acme) -> None:  # type: ignore[no-untyped-def]
    channel = _mailbox(acme)
    now = timezone.now()
    ChannelWatch.objects.create(
        channel=channel,
        owner="worker-1.acme/4242/9f3c2a1b",
        lease_until=now + timedelta(seconds=120),
        renewed_at=now,
        watching_since=datetime(2026, 3, 2, 9, 15, tzinfo=UTC),
    )
    row = _row(acme, channel)
    assert "Watched live (IMAP IDLE) by worker-1.acme/4242 since Mar 2 09:15" in row
    assert "9f3c2a1b" not in row and "Polled" not in row


def test_a_lease_that_ran_out_warns_that_the_live_watch_is_lost(acme) -> None:  # type: ignore[no-untyped-def]
    channel = _mailbox(acme)
    now = timezone.now()
    ChannelWatch.objects.create(
        channel=channel,
        owner="worker-1.acme/4242/9f3c2a1b",
        lease_until=now - timedelta(minutes=5),
        renewed_at=now - timedelta(minutes=7),
        watching_since=now - timedelta(hours=3),
    )
    row = _row(acme, channel)
    assert "Live watch lost: last renewed 7 min ago; falling back to polling every minute." in row
    assert "Watched live" not in row


def test_without_a_lease_and_with_idle_off_the_mailbox_is_polled(acme, settings) -> None:  # type: ignore[no-untyped-def]
    settings.EMAIL_IDLE = False
    settings.CHANNEL_POLL_SECONDS = 300
    row = _row(acme, _mailbox(acme))
    assert "Polled every 5 minutes: live watching (IMAP IDLE) is off (HUBBUB_EMAIL_IDLE=0)." in row
    assert "Watched live" not in row


def test_a_server_without_idle_is_polled_and_the_page_says_why(acme) -> None:  # type: ignore[no-untyped-def]
    channel = _mailbox(acme)
    now = timezone.now()
    ChannelWatch.objects.create(  # what the worker writes when the server has no IDLE: it keeps the lease, rests
        channel=channel,
        owner="worker-1.acme/4242/9f3c2a1b",
        lease_until=now + timedelta(seconds=120),
        renewed_at=now,
        rest_reason=WatchRest.NO_IDLE,
    )
    row = _row(acme, channel)
    assert "Polled every minute: the mail server does not offer IMAP IDLE." in row
    assert "Watched live" not in row


def test_the_leases_are_read_in_one_query_whatever_the_number_of_mailboxes(acme) -> None:  # type: ignore[no-untyped-def]
    admin = signed_in(acme["users"]["admin"])
    admin.get("/settings/channels/")  # the session and the user's scope are warm
    _mailbox(acme)
    with CaptureQueriesContext(connection) as one:
        admin.get("/settings/channels/")
    for name in ("sales@acme-air.test", "press@acme-air.test"):
        ChannelWatch.objects.create(channel=_mailbox(acme, name), owner="w/1/x", lease_until=timezone.now())
    with CaptureQueriesContext(connection) as three:
        page = admin.get("/settings/channels/").content.decode()
    assert len(three) == len(one)
    assert page.count("Live watch lost") == 2  # their leases ran out the moment they were written
