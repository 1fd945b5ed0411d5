"""The browser's part of a sign-in on Settings → Channels, shared by the X and Meta sign-in tests: press the
button, let the network's consent page answer, come back to Hubbub's callback."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from django.test import Client

from hubbub.connectors.models import Channel, ChannelStatus
from hubbub.tenancy.models import AuditEvent


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def press(client: Client, network: str, brand_id: int) -> str:
    """Press the network's connect button for the brand; returns where Hubbub sends the browser."""
    answer = client.post(f"/settings/channels/{network}/authorize/", {"brand": brand_id})
    assert answer.status_code == 302, answer.content[:500]
    return str(answer["Location"])


def start_from_the_page(client: Client, network: str, button: str, brand_id: int) -> tuple[str, dict[str, str]]:
    """The admin sees the button on Settings → Channels and presses it: where they are sent, and its query."""
    assert button in client.get("/settings/channels/").content.decode()
    url = press(client, network, brand_id)
    return url, query_of(url)


def query_of(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}


def consent(authorize_url: str) -> str:
    """The brand's owner agrees on the network's page; returns the path and query the network sends them back to."""
    back = httpx.get(authorize_url, follow_redirects=False)
    assert back.status_code == 302, back.text[:300]
    parts = urlsplit(back.headers["location"])
    return f"{parts.path}?{parts.query}"


def come_back(client: Client, callback: str) -> str:
    """Follow the network's redirect into Hubbub; the page the admin ends on."""
    return client.get(callback, follow=True).content.decode()


def with_state(callback: str, state: str) -> str:
    parts = urlsplit(callback)
    params = {**query_of(callback), "state": state}
    return f"{parts.path}?{httpx.QueryParams(params)}"


def shows_reconnect_needed(admin: Any, channel_pk: int) -> Channel:
    """A refused token renewal as the admins meet it: the channel marked (once, audited) and the Channels page
    and the navigation asking them to reconnect it. The channel as stored."""
    channel = Channel.objects.get(pk=channel_pk)
    assert channel.status == ChannelStatus.RECONNECT_NEEDED
    assert "connect the account again" in channel.last_error
    assert AuditEvent.objects.filter(verb="channel.reconnect_needed").count() == 1
    page = signed_in(admin).get("/settings/channels/").content.decode()
    assert "1 channel needs reconnecting" in page and "1 to reconnect" in page
    assert "The access token could not be renewed" in page
    return channel
