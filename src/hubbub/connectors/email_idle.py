"""IMAP IDLE for the email channel: mail in seconds instead of at the next poll.

Polling stays the baseline (a server without IDLE, a lost connection, a worker without an IDLE thread all
still get the mail at the next poll). `watch` is the loop a worker thread runs per email channel: wait for mail
the cursor has not seen, then poll the channel now through the same loop as the periodic poll, so the cursor,
health and ingest work exactly as they do there. A poll started here and the periodic one may overlap: both
hand the same mails to ingest, which stores them once, and a cursor saved by the slower one at worst makes the
next poll read a mail again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from imapclient import IMAPClient

from hubbub.connectors.base import ChannelError
from hubbub.connectors.email_imap import MailSettings, imap_session
from hubbub.connectors.models import ChannelStatus

if TYPE_CHECKING:
    from hubbub.connectors.models import Channel

IDLE_RENEW_SECONDS = 25 * 60  # servers may drop an IDLE after 30 minutes (RFC 2177): the caller waits again
STOP_CHECK_SECONDS = 1.0  # how often a waiting IDLE looks at its stop flag
RETRY_SECONDS = 60.0  # after a failed IDLE (server down): the periodic poll reports the failure meanwhile


def watch(channel: Channel, poll_now: Callable[[Channel], Any], stop: threading.Event) -> None:
    """Until `stop` is set: wait for new mail, then `poll_now(channel)` (e.g. `ingest.channel_intake.
    poll_channel_now`). Ends by itself when the channel is disconnected or its credentials are refused: that
    needs an admin, and the periodic poll shows it on Settings → Channels."""
    while not stop.is_set():
        channel.refresh_from_db(fields=["cursor", "is_active", "status"])
        if not channel.is_active or channel.status == ChannelStatus.RECONNECT_NEEDED:
            return
        try:
            if wait_for_mail(channel, dict(channel.cursor), IDLE_RENEW_SECONDS, stop):
                poll_now(channel)
        except ChannelError as exc:
            if exc.reconnect_needed:
                return
            stop.wait(exc.retry_after or RETRY_SECONDS)


def wait_for_mail(
    channel: Channel, cursor: dict[str, Any], timeout: float, stop: threading.Event | None = None
) -> bool:
    """Block until the mailbox has mail the cursor has not seen (IMAP IDLE), up to `timeout` seconds; True
    when there is some, so the worker polls now. Mail that arrived before the IDLE began counts too (checked
    on entry), so nothing waits for the next poll because it came a moment early. Servers without IDLE
    answer False at once: the regular poll is the baseline."""
    settings = MailSettings.from_credentials(channel.credentials)
    with imap_session(settings) as client:
        info = client.select_folder(settings.folder, readonly=True)
        if int(info[b"UIDVALIDITY"]) != cursor.get("uidvalidity"):
            return True
        if int(info.get(b"UIDNEXT", 0)) > int(cursor.get("uid", 0)) + 1:
            return True
        if not client.has_capability("IDLE"):
            return False
        return _idle(client, timeout, stop)


def _idle(client: IMAPClient, timeout: float, stop: threading.Event | None) -> bool:
    """IDLE until the server reports new mail (EXISTS), `timeout` (at most `IDLE_RENEW_SECONDS`) passes or
    `stop` is set."""
    deadline = time.monotonic() + min(timeout, IDLE_RENEW_SECONDS)
    client.idle()
    try:
        while (remaining := deadline - time.monotonic()) > 0:
            if stop is not None and stop.is_set():
                return False
            responses = client.idle_check(timeout=min(remaining, STOP_CHECK_SECONDS))
            if any(len(resp) > 1 and resp[1] == b"EXISTS" for resp in responses):
                return True
        return False
    finally:
        try:
            client.idle_done()
        except OSError as exc:
            raise ChannelError(f"The mail server dropped the IDLE connection: {exc}") from exc
