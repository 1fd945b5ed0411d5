"""`hubbub demo`'s live channel: the Mastodon sandbox on loopback, with one airline brand's account connected.

Why: the rest of the demo replays a file; this shows the real road end to end. A person posts as a customer on
the sandbox page, the mention reaches the inbox through the Mastodon connector and the polling loop, and the
agent's reply goes back through the connector and appears threaded under the post on the page.

The sandbox is started before Django is set up, so its loopback address can be opened to the outbound client
the same way an operator opens a private host (`HUBBUB_OUTBOUND_ALLOW`). The channel is polled every few
seconds by a thread of the demo (the periodic task's one minute is long when someone is watching).
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from dataclasses import dataclass

from hubbub.connectors.sandbox.mastodon_fake import MastodonFake

log = logging.getLogger("hubbub.demo")
POLL_SECONDS = 3.0
PREFERRED_BRAND = "united"


@dataclass
class MastodonSandbox:
    fake: MastodonFake
    token: str
    channel_id: int = 0
    handle: str = ""


def start_server(port: int = 0) -> MastodonSandbox:
    """Start the server and open its address to the outbound client (call before Django is set up)."""
    fake = MastodonFake(port=port).start()
    address = f"127.0.0.1:{fake.httpd.server_address[1]}"
    allowed = [a for a in os.environ.get("HUBBUB_OUTBOUND_ALLOW", "").split(",") if a.strip()]
    os.environ["HUBBUB_OUTBOUND_ALLOW"] = ",".join([*allowed, address])
    return MastodonSandbox(fake, token=secrets.token_urlsafe(24))


def connect_brand(sandbox: MastodonSandbox, organization_id: int) -> MastodonSandbox:
    """Give one of the organisation's brands an account on the sandbox and connect it as a channel. The
    channel is the same row on every run (its name is stable); its address, token and cursor are this run's."""
    # Models are imported here, not at the top: `hubbub demo` imports this module before Django is set up
    # (the sandbox's address must join the outbound allow-list first; see `start_server`).
    from hubbub.connectors.models import Channel, ChannelStatus
    from hubbub.tenancy.models import Brand

    brands = Brand.objects.filter(organization_id=organization_id)
    brand = brands.filter(slug=PREFERRED_BRAND).first() or brands.order_by("slug").first()
    if brand is None:
        raise RuntimeError("The demo organisation has no brand to connect.")
    handle = "".join(c for c in (brand.handles or [brand.slug])[0] if c.isalnum() or c == "_") or "brand"
    sandbox.fake.brand_username = handle
    sandbox.fake.state.add_account(handle, brand.name, token=sandbox.token)
    channel, _ = Channel.objects.get_or_create(
        organization_id=organization_id, network="mastodon", name=f"@{handle} (sandbox)", defaults={"brand": brand}
    )
    channel.brand = brand
    channel.credentials = {"base_url": sandbox.fake.url, "access_token": sandbox.token}
    channel.cursor = {}
    channel.is_active, channel.status, channel.last_error = True, ChannelStatus.CONNECTED, ""
    channel.next_poll_at, channel.consecutive_failures = None, 0
    channel.save()
    sandbox.channel_id, sandbox.handle = channel.pk, handle
    return sandbox


def keep_polling(sandbox: MastodonSandbox, stop: threading.Event, every: float = POLL_SECONDS) -> None:
    """Poll the sandbox channel until `stop` is set; a failed poll is logged and shown on Settings → Channels."""
    from django.db import close_old_connections, connection

    from hubbub.connectors.models import Channel  # after Django's set-up (see connect_brand)
    from hubbub.ingest.channel_intake import poll_channel_now

    try:
        while not stop.wait(every):
            try:
                poll_channel_now(Channel.objects.get(pk=sandbox.channel_id))
            except Exception:  # the demo goes on; the channel's health says what happened
                log.exception("polling the Mastodon sandbox failed")
            finally:
                close_old_connections()
    finally:
        connection.close()  # this thread's own connection, which nothing else would close
