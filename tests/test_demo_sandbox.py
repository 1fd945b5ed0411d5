"""`hubbub demo`'s Mastodon sandbox: a post written on the sandbox page reaches the inbox through the connector,
and the agent's reply shows on the page, threaded under the post."""

from __future__ import annotations

import os
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from hubbub import demo_sandbox
from hubbub.connectors.models import Channel
from hubbub.inbox.actions import delivery
from hubbub.inbox.actions.replies import do_create_reply
from hubbub.inbox.models import Conversation, Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[demo_sandbox.MastodonSandbox]:
    monkeypatch.setenv("HUBBUB_OUTBOUND_ALLOW", "")
    started = demo_sandbox.start_server()
    # `hubbub demo` starts the server before Django reads its settings; here they are read already.
    settings.OUTBOUND_ALLOW = os.environ["HUBBUB_OUTBOUND_ALLOW"].split(",")
    yield started
    started.fake.stop()


def post_on_page(sandbox: demo_sandbox.MastodonSandbox, **form: str) -> None:
    body = urllib.parse.urlencode(form).encode()
    urllib.request.urlopen(urllib.request.Request(f"{sandbox.fake.url}/sandbox/post", data=body), timeout=10)


def page(sandbox: demo_sandbox.MastodonSandbox) -> str:
    with urllib.request.urlopen(sandbox.fake.url + "/", timeout=10) as answer:
        return str(answer.read().decode())


@pytest.mark.django_db(transaction=True)  # the demo's polling thread has a database connection of its own
def test_a_post_on_the_sandbox_reaches_the_inbox_and_the_reply_comes_back(acme, scope_of, sandbox):  # type: ignore[no-untyped-def]
    demo_sandbox.connect_brand(sandbox, acme["org"].pk)
    channel = Channel.objects.get(network="mastodon")
    assert channel.name == f"@{sandbox.handle} (sandbox)" and sandbox.handle == "AcmeAir"
    post_on_page(sandbox, username="dana", text="my flight was cancelled, what now?")  # the brand is mentioned

    stop = threading.Event()
    poller = threading.Thread(target=demo_sandbox.keep_polling, args=(sandbox, stop, 0.05), daemon=True)
    poller.start()
    deadline = time.monotonic() + 60
    while not Message.objects.filter(organization=acme["org"]).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    poller.join(timeout=30)

    conv = Conversation.objects.get(organization=acme["org"])
    assert conv.messages.get().text == "@AcmeAir my flight was cancelled, what now?"
    reply = do_create_reply(scope_of(acme["users"]["agent"], acme["org"]), conv, "So sorry Dana, rebooking you now.")
    delivery.do_deliver_reply(reply.pk)

    shown = page(sandbox)
    assert shown.index("my flight was cancelled") < shown.index("@dana So sorry Dana, rebooking you now.")
    assert 'class="post brand"' in shown


def test_connecting_again_on_a_new_run_keeps_one_channel(acme, sandbox):  # type: ignore[no-untyped-def]
    demo_sandbox.connect_brand(sandbox, acme["org"].pk)
    Channel.objects.update(cursor={"since_id": "999999999999999999999"})  # a cursor from an earlier run

    again = demo_sandbox.connect_brand(sandbox, acme["org"].pk)

    channel = Channel.objects.get()
    assert channel.pk == again.channel_id and channel.cursor == {}
    assert channel.credentials["base_url"] == sandbox.fake.url


def test_the_cli_can_import_the_sandbox_before_django_is_set_up() -> None:
    """`hubbub demo` starts the sandbox before Django (its address joins the outbound allow-list first), so the
    module must import no model at the top: a model import there broke the demo at its first line."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-c", "from hubbub import demo_sandbox; print(demo_sandbox.POLL_SECONDS)"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
