"""`hubbub channels list|check|poll` against the Mastodon sandbox: the operator sees each channel's health,
tests its credentials, and polls it now; a failure exits 1 with the reason."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from hubbub.cli import app
from hubbub.connectors.models import Channel
from hubbub.connectors.sandbox.mastodon_fake import MastodonFake
from hubbub.inbox.models import Message
from tests.connectors import mastodon_sandbox
from tests.connectors.mastodon_sandbox import TOKEN

pytestmark = pytest.mark.django_db
# The sandbox fixtures, shared with the other tests that talk to it.
fake = mastodon_sandbox.fake
channel = mastodon_sandbox.channel


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, ["channels", *args])


def test_poll_stores_the_mentions_and_list_shows_the_health(channel: Channel, fake: MastodonFake) -> None:
    fake.state.post_as("ann", "@AcmeAir my bag is lost")

    polled = cli("poll", str(channel.pk))
    assert polled.exit_code == 0, polled.output
    assert f"channel {channel.pk}: 1 fetched, 1 new" in polled.output
    assert Message.objects.get().text == "@AcmeAir my bag is lost"

    listed = cli("list", "--json")
    [row] = [json.loads(line) for line in listed.output.splitlines()]
    assert (row["network"], row["status"], row["brand"]) == ("mastodon", "connected", "acme-air")
    assert row["last_event_at"] is not None and row["rate_limit_remaining"] is not None


def test_check_says_whether_the_credentials_work(channel: Channel, fake: MastodonFake) -> None:
    works = cli("check", str(channel.pk))
    assert works.exit_code == 0 and "works (@AcmeAir on" in works.output

    fake.state.revoke(TOKEN)
    refused = cli("check", str(channel.pk))
    assert refused.exit_code == 1
    assert "refused the access token (401)" in refused.output


def test_a_failed_poll_exits_1_with_the_reason(channel: Channel, fake: MastodonFake) -> None:
    fake.state.revoke(TOKEN)
    failed = cli("poll", str(channel.pk))
    assert failed.exit_code == 1 and "Connect the account again" in failed.output


def test_with_no_channels_list_says_how_to_connect_one(db: Any) -> None:
    empty = cli("list")
    assert empty.exit_code == 0 and "Settings → Channels" in empty.output
