"""The worker's IDLE watchers: one thread per connected email channel whose server offers IDLE, so a mail is in
the inbox seconds after it arrives instead of at the next poll.

`EmailWatchers` is the supervisor a worker process runs beside its task consumer (`hubbub worker`, the worker
inside `hubbub serve`). Every `RECHECK_SECONDS` it looks at the email channels: a newly connected one gets a
watcher, a disconnected one (or one that needs reconnecting) loses it. Each watcher runs `email_idle.watch`,
which polls the channel through the polling loop (`poll_now`: `ingest.channel_intake.poll_channel_now`) when
mail arrives, with the same cursor as the periodic poll. Nothing depends on a watcher: the periodic poll goes
on for every channel, so a watcher that is slow to start, stopped or dead loses no mail, it only delays it.

Why a lease: several worker processes (a fleet) each run a supervisor, and one IDLE connection per channel is
enough (mail servers limit connections per account). A process watches a channel only while it holds the
channel's `ChannelWatch` row: taken by one conditional UPDATE (or the INSERT of a missing row, which the
primary key lets only one process win), renewed at every recheck, released on a clean stop. A process that
dies stops renewing, and `LEASE_SECONDS` later another one takes the channel over. A process that finds its
lease taken (it was frozen past the expiry) stops its watcher; for the moment both watch, both polls hand the
same mails to ingest, which stores them once.

Why a limit: the first process to look would otherwise take every channel, and with it a thread and a connection
each. A process watches at most `EMAIL_IDLE_MAX_PER_WORKER` channels; the rest go to other processes, and beyond
the fleet's room the periodic poll alone brings their mail.

Why rests: a watcher that ended because the server has no IDLE, or refused the password, is not started again
at the next recheck (that would connect every half minute for nothing, or lock the account): the channel rests
for `REST_SECONDS` while this process keeps its lease, so no other process tries either. Reconnecting the
channel (new credentials) ends the rest at once.

Why the lease says more than who holds it: holding is not watching (a resting channel is held), so the holder
writes when its watcher started, or why it rests, and when it last renewed; Settings → Channels reads them
(`email_watch_status`) to tell an admin whether a mailbox is watched live or only polled.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from hubbub.connectors import email_idle
from hubbub.connectors.email_idle import WatchEnd
from hubbub.connectors.models import Channel, ChannelStatus, ChannelWatch, Network, WatchRest
from hubbub.connectors.polling import PollOutcome

log = logging.getLogger("hubbub.connectors.email_watchers")

RECHECK_SECONDS = 30.0  # new and disconnected channels are noticed this often, and the leases renewed
LEASE_SECONDS = 120  # four rechecks: a busy database may delay a renewal; a dead process is replaced after this
STOP_JOIN_SECONDS = 5.0  # a watcher sees its stop flag within `email_idle.STOP_CHECK_SECONDS`, or after a poll
# After a watcher ended for these reasons the channel is not watched again for this long (unless reconnected).
REST_SECONDS: dict[WatchEnd | None, float] = {
    WatchEnd.NO_IDLE: 3600.0,  # a server may be upgraded; checking hourly costs one login
    WatchEnd.REFUSED: 600.0,  # the periodic poll marks the channel "reconnect needed" meanwhile
    None: 300.0,  # the watcher crashed (a bug, the database away): logged, tried again later
}
# What a rest is called on the lease (for Settings → Channels).
REST_REASONS: dict[WatchEnd | None, WatchRest] = {
    WatchEnd.NO_IDLE: WatchRest.NO_IDLE,
    WatchEnd.REFUSED: WatchRest.REFUSED,
    None: WatchRest.FAILED,
}


def process_owner() -> str:
    """This process's name on its leases: host and pid for whoever reads the table, a random part so a reused
    pid never inherits a dead process's leases."""
    return f"{socket.gethostname()[:80]}/{os.getpid()}/{secrets.token_hex(4)}"


def watchable_channels() -> QuerySet[Channel]:
    """The email channels a watcher should be on: connected and with credentials that work."""
    return Channel.objects.filter(network=Network.EMAIL, is_active=True).exclude(status=ChannelStatus.RECONNECT_NEEDED)


def take_lease(channel_id: int, owner: str, now: datetime, seconds: float = LEASE_SECONDS) -> bool:
    """Take or renew the channel's lease for `owner`: True when it is ours until `now + seconds`. Another
    owner's lease is taken only once it has run out."""
    until = now + timedelta(seconds=seconds)
    ours_or_expired = Q(owner=owner) | Q(lease_until__lte=now)
    taken = ChannelWatch.objects.filter(ours_or_expired, channel_id=channel_id)
    if taken.update(owner=owner, lease_until=until, renewed_at=now):
        return True
    try:
        with transaction.atomic():
            ChannelWatch.objects.create(channel_id=channel_id, owner=owner, lease_until=until, renewed_at=now)
    except IntegrityError:  # another process holds it (or took it a moment ago); or the channel was deleted
        return False
    return True


def record_watch(channel_id: int, owner: str, since: datetime | None, rest: WatchRest | None = None) -> None:
    """Write on `owner`'s lease that its watcher runs since `since`, or (None) that none runs and why."""
    mine = ChannelWatch.objects.filter(channel_id=channel_id, owner=owner)
    mine.update(watching_since=since, rest_reason=rest or "")


def release_lease(channel_id: int, owner: str) -> None:
    """Give the channel up at once (a clean stop), so another process need not wait for the expiry."""
    ChannelWatch.objects.filter(channel_id=channel_id, owner=owner).delete()


@dataclass
class _Watcher:
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    ended: WatchEnd | None = None  # set by the thread when `watch` returned; None while running or if it crashed


@dataclass
class _Rest:
    until: float  # time.monotonic()
    credentials: str  # the encrypted credentials it rests with: a reconnect changes them and ends the rest


class EmailWatchers:
    """The supervisor of one process. `start()` runs `reconcile()` on a thread every `recheck_seconds`;
    tests call `reconcile()` themselves. `close()` stops the watchers and releases the leases."""

    def __init__(
        self,
        poll_now: Callable[[Channel], PollOutcome],
        owner: str | None = None,
        recheck_seconds: float = RECHECK_SECONDS,
        lease_seconds: float = LEASE_SECONDS,
        max_channels: int | None = None,
    ) -> None:
        self.poll_now = poll_now
        self.owner = owner or process_owner()
        self.max_channels = settings.EMAIL_IDLE_MAX_PER_WORKER if max_channels is None else max_channels
        self.recheck_seconds = recheck_seconds
        self.lease_seconds = lease_seconds
        self._held: set[int] = set()  # channels whose lease this process holds
        self._watchers: dict[int, _Watcher] = {}
        self._rests: dict[int, _Rest] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def watching(self) -> set[int]:
        """The channels with a running watcher thread (read from any thread: a copy of the table first)."""
        return {pk for pk, w in list(self._watchers.items()) if w.thread is not None and w.thread.is_alive()}

    @property
    def held(self) -> set[int]:
        return set(self._held)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="hubbub-email-watchers", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the supervisor and every watcher, and release the leases."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        else:
            self._shut_down()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    self.reconcile()
                except Exception:  # the database away for a moment: the leases last `LEASE_SECONDS`
                    log.exception("checking the email watchers failed")
                self._stop.wait(self.recheck_seconds)
        finally:
            self._shut_down()
            connections.close_all()  # this thread's own

    def reconcile(self) -> None:
        """One recheck: renew or take the leases of the watchable channels, start the watchers they need, stop
        the ones of channels gone, disconnected or leased by another process."""
        wanted = dict(watchable_channels().values_list("pk", "credentials_encrypted"))
        for pk in sorted(self._held - wanted.keys()):
            self._drop(pk)
        for pk, credentials in sorted(wanted.items()):
            if pk not in self._held and len(self._held) >= self.max_channels:
                continue  # this process is full: another worker, or the periodic poll alone, takes the channel
            if not take_lease(pk, self.owner, timezone.now(), self.lease_seconds):
                if pk in self._held:
                    log.warning("channel %s: another process took over its IDLE watcher", pk)
                    self._stop_watcher(pk)
                    self._held.discard(pk)
                continue
            self._held.add(pk)
            self._ensure_watcher(pk, credentials)

    def _ensure_watcher(self, pk: int, credentials: str) -> None:
        """Start the channel's watcher unless it runs or the channel rests."""
        watcher = self._watchers.get(pk)
        if watcher is not None and watcher.thread is not None and watcher.thread.is_alive():
            return
        if watcher is not None:  # it ended: rest if its reason asks for one
            del self._watchers[pk]
            rest = REST_SECONDS.get(watcher.ended, 0.0)
            if rest:
                self._rests[pk] = _Rest(time.monotonic() + rest, credentials)
                record_watch(pk, self.owner, None, REST_REASONS[watcher.ended])
        resting = self._rests.get(pk)
        if resting is not None and resting.until > time.monotonic() and resting.credentials == credentials:
            return
        self._rests.pop(pk, None)
        record_watch(pk, self.owner, timezone.now())
        watcher = _Watcher()
        watcher.thread = threading.Thread(target=self._watch, args=(pk, watcher), name=f"hubbub-idle-{pk}", daemon=True)
        self._watchers[pk] = watcher
        watcher.thread.start()

    def _watch(self, pk: int, watcher: _Watcher) -> None:
        """A watcher thread; its database connection is its own, closed when it ends."""
        try:
            watcher.ended = email_idle.watch(Channel.objects.get(pk=pk), self.poll_now, watcher.stop)
        except Channel.DoesNotExist:
            watcher.ended = WatchEnd.DISCONNECTED
        except Exception:
            log.exception("the IDLE watcher of channel %s failed", pk)
        finally:
            connections.close_all()

    def _stop_watcher(self, pk: int) -> None:
        watcher = self._watchers.pop(pk, None)
        if watcher is None:
            return
        watcher.stop.set()
        if watcher.thread is not None:
            watcher.thread.join(STOP_JOIN_SECONDS)

    def _drop(self, pk: int) -> None:
        """The channel is no longer watchable (disconnected, reconnect needed, deleted): stop and release."""
        self._stop_watcher(pk)
        self._rests.pop(pk, None)
        self._held.discard(pk)
        release_lease(pk, self.owner)

    def _shut_down(self) -> None:
        for watcher in self._watchers.values():
            watcher.stop.set()
        for pk in sorted(self._held):
            self._stop_watcher(pk)
            try:
                release_lease(pk, self.owner)
            except Exception:  # the lease runs out by itself
                log.exception("releasing the IDLE lease of channel %s failed", pk)
        self._held.clear()
        self._watchers.clear()
