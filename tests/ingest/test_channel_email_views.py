"""Settings → Channels: an admin connects the brand's support mailbox. The login is tried before anything is
saved, the password is kept encrypted and shown masked, a server on a private address is refused unless the
operator allows it, and "Test connection" logs in again."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from hubbub.connectors.models import Channel
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
