"""IMAP IDLE for the email channel: mail in seconds instead of at the next poll.

Polling stays the baseline (a server without IDLE, a lost connection, a worker without an IDLE thread all
still get the mail at the next poll). `watch` is the loop a worker thread runs per email channel
(`email_watchers` starts and stops them): wait for mail the cursor has not seen, then poll the channel now
through the same loop as the periodic poll, so the cursor, health and ingest work exactly as they do there. A
poll started here and the periodic one may overlap: both hand the same mails to ingest, which stores them once,
and a cursor saved by the slower one at worst makes the next poll read a mail again.

A watcher must never hammer a server: a server without IDLE ends the watch after one connection (polling
covers it), a refused login ends it (an admin must reconnect), and failures (the server down, a poll that
failed) back off exponentially with jitter, so the watchers of many channels on one broken server do not
retry in step.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from imapclient import IMAPClient

from hubbub.connectors.base import ChannelError
from hubbub.connectors.email_imap import MailSettings, imap_session
from hubbub.connectors.models import ChannelStatus
from hubbub.connectors.polling import backoff_seconds

if TYPE_CHECKING:
    from hubbub.connectors.models import Channel
    from hubbub.connectors.polling import PollOutcome

log = logging.getLogger("hubbub.connectors.email_idle")

IDLE_RENEW_SECONDS = 25 * 60  # servers may drop an IDLE after 30 minutes (RFC 2177): the caller waits again
STOP_CHECK_SECONDS = 1.0  # how often a waiting IDLE looks at its stop flag


class IdleUnsupported(ChannelError):
    """The server does not offer IDLE: there is nothing to wait on, the periodic poll covers the channel."""


class WatchEnd(StrEnum):
    """Why `watch` returned, so the supervisor knows whether (and when) to start it again."""

    STOPPED = "stopped"  # asked to (shut-down, lease lost, channel no longer watched)
    DISCONNECTED = "disconnected"  # the channel was disconnected or needs reconnecting
    REFUSED = "refused"  # the server refused the credentials: an admin must connect the channel again
    NO_IDLE = "no_idle"  # the server has no IDLE


def watch(channel: Channel, poll_now: Callable[[Channel], PollOutcome], stop: threading.Event) -> WatchEnd:
    """Until `stop` is set: wait for new mail, then `poll_now(channel)` (`ingest.channel_intake.
    poll_channel_now`). Ends by itself when the channel is disconnected, its credentials are refused (that
    needs an admin; the periodic poll shows it on Settings → Channels) or its server has no IDLE."""
    failures = 0
    while not stop.is_set():
        channel.refresh_from_db()  # the cursor, health and credentials the periodic poll may have changed
        if not channel.is_active or channel.status == ChannelStatus.RECONNECT_NEEDED:
            return WatchEnd.DISCONNECTED
        try:
            woke = wait_for_mail(channel, dict(channel.cursor), IDLE_RENEW_SECONDS, stop)
            failed = woke and not poll_now(channel).ok
        except IdleUnsupported:
            return WatchEnd.NO_IDLE
        except ChannelError as exc:
            if exc.reconnect_needed:
                return WatchEnd.REFUSED
            log.warning("IDLE on channel %s failed: %s", channel.pk, exc.reason)
            failed, retry_after = True, exc.retry_after
        else:
            retry_after = None
        failures = failures + 1 if failed else 0
        if failed:  # a failed poll leaves the cursor behind, which would wake the next wait at once
            stop.wait(backoff_seconds(failures, retry_after))  # as polling's: meanwhile it polls
    return WatchEnd.STOPPED


def wait_for_mail(
    channel: Channel, cursor: dict[str, Any], timeout: float, stop: threading.Event | None = None
) -> bool:
    """Block until the mailbox has mail the cursor has not seen (IMAP IDLE), up to `timeout` seconds; True
    when there is some, so the worker polls now. Mail that arrived before the IDLE began counts too (checked
    on entry), so nothing waits for the next poll because it came a moment early. A server without IDLE
    raises `IdleUnsupported` before anything else: one connection tells, and the regular poll is the
    baseline."""
    settings = MailSettings.from_credentials(channel.credentials)
    with imap_session(settings) as client:
        if not client.has_capability("IDLE"):
            raise IdleUnsupported(f"The mail server {settings.imap_host} does not offer IMAP IDLE.")
        info = client.select_folder(settings.folder, readonly=True)
        if int(info[b"UIDVALIDITY"]) != cursor.get("uidvalidity"):
            return True
        if int(info.get(b"UIDNEXT", 0)) > int(cursor.get("uid", 0)) + 1:
            return True
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
