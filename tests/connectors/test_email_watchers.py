"""The worker's IMAP IDLE watchers against real Dovecot: mail reaches the inbox through a watcher without
waiting for the periodic poll, one process of a fleet watches a channel, a dead holder's lease is taken over,
a server without IDLE is left to polling after one connection, a broken server is not hammered, and a
disconnected channel loses its watcher.

Each `EmailWatchers` is one worker process (its own lease owner); the tests call `reconcile()`, the supervisor's
periodic recheck, themselves. The watcher threads use their own database connections, hence transactional
test databases. No Huey consumer runs in the tests, so no periodic poll either.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from hubbub.connectors import email_idle
from hubbub.connectors.channel_admin import disconnect_channel
from hubbub.connectors.email_idle import WatchEnd
from hubbub.connectors.email_watchers import EmailWatchers
from hubbub.connectors.models import Channel, ChannelStatus, ChannelWatch, WatchRest
from hubbub.connectors.polling import PollOutcome
from hubbub.inbox.models import Message
from hubbub.ingest.channel_intake import poll_channel_now
from hubbub.tenancy.scoping import scope_for
from tests.connectors.mailboxes import customer_mail, poll
from tests.connectors.mailservers import HOST, Dovecot, running_dovecot

pytestmark = pytest.mark.django_db(transaction=True)  # the watcher threads have their own connections

DEADLINE_SECONDS = 120.0  # generous: a loaded 2-core machine; the assertions never depend on how fast


def eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


class CountingProxy:
    """A TCP relay in front of a mail server that counts the connections made to it; without an upstream it
    hangs up at once, as a broken server does."""

    def __init__(self, upstream_port: int | None) -> None:
        self.upstream_port = upstream_port
        self.connections = 0
        self._listener = socket.create_server((HOST, 0))
        self.port = int(self._listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            if self.upstream_port is None:
                client.close()
                continue
            upstream = socket.create_connection((HOST, self.upstream_port))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._listener.close()


class Polls:
    """`poll_now` for the watchers: the real `poll_channel_now`, remembered so a test can wait for it."""

    def __init__(self) -> None:
        self.outcomes: list[PollOutcome] = []
        self.done = threading.Event()

    def __call__(self, channel: Channel) -> PollOutcome:
        outcome = poll_channel_now(channel)
        self.outcomes.append(outcome)
        self.done.set()
        return outcome


@pytest.fixture(autouse=True)
def _watchers_ended() -> Iterator[None]:
    """After each test, every watcher thread has ended: none reads the next test's database (in memory, where
    a read beside a write is refused at once rather than waited for)."""
    yield
    eventually(
        lambda: not any(t.name.startswith("hubbub-idle-") for t in threading.enumerate()), "a watcher outlived its test"
    )


@pytest.fixture
def fleet() -> Iterator[Callable[..., EmailWatchers]]:
    """Worker processes' supervisors (one per owner name), closed after the test."""
    made: list[EmailWatchers] = []

    def make(owner: str, max_channels: int | None = None) -> EmailWatchers:
        made.append(EmailWatchers(poll_channel_now, owner=owner, max_channels=max_channels))
        return made[-1]

    yield make
    for watchers in made:
        watchers.close()


@pytest.fixture
def quiet(support: Channel) -> Channel:
    """The support mailbox polled once (its cursor at the end), its next periodic poll a day away."""
    poll(support)
    Channel.objects.filter(pk=support.pk).update(next_poll_at=timezone.now() + timedelta(days=1))
    return Channel.objects.get(pk=support.pk)


def test_a_mail_reaches_the_inbox_through_the_watcher_without_a_poll(quiet, customer, mail):
    server, _ = mail
    polls = Polls()
    watchers = EmailWatchers(polls, owner="worker-a")
    watchers.start()  # the supervisor's own thread: its first check starts the watcher at once
    try:
        eventually(lambda: quiet.pk in watchers.watching, "the supervisor did not start a watcher")
        server.deliver(customer_mail(customer, quiet.name, "Gate", "Which gate for AC9?"), quiet.name)
        assert polls.done.wait(DEADLINE_SECONDS), "the mail did not wake the watcher"
    finally:
        watchers.close()
    assert Message.objects.get(network="email").text == "Gate\n\nWhich gate for AC9?"
    assert Channel.objects.get(pk=quiet.pk).next_poll_at > timezone.now()  # no periodic poll was due
    assert not ChannelWatch.objects.exists()  # a clean stop hands the channel over at once


def test_two_processes_never_watch_one_channel(quiet, fleet):
    first, second = fleet("worker-a"), fleet("worker-b")
    first.reconcile()
    second.reconcile()
    assert (first.watching, second.watching) == ({quiet.pk}, set())
    lease = ChannelWatch.objects.get(channel=quiet)
    assert lease.owner == "worker-a" and lease.watching_since is not None and lease.rest_reason == ""
    first.reconcile()  # renews
    second.reconcile()
    assert (first.watching, second.watching) == ({quiet.pk}, set())
    renewed = ChannelWatch.objects.get(channel=quiet)
    assert renewed.renewed_at is not None and lease.renewed_at is not None and renewed.renewed_at >= lease.renewed_at
    assert renewed.watching_since == lease.watching_since  # Settings → Channels: watched live since then


def test_a_full_process_leaves_the_next_mailbox_to_another(quiet, fleet, mail):
    server, _ = mail
    address, _ = server.add_user("sales", domain="acme-air.test")
    sales = Channel.objects.create(
        organization=quiet.organization,
        brand=quiet.brand,
        network="email",
        name=address,
        credentials=server.credentials(address),
    )
    poll(sales)  # its cursor at the end, as `quiet`'s: the watchers only wait
    first, second = fleet("worker-a", max_channels=1), fleet("worker-b", max_channels=1)
    first.reconcile()
    second.reconcile()
    assert first.watching | second.watching == {quiet.pk, sales.pk}
    assert len(first.watching) == len(second.watching) == 1


def test_a_dead_processs_channel_is_taken_over_when_its_lease_runs_out(quiet, fleet):
    dead, alive = fleet("worker-dead"), fleet("worker-alive")
    dead.reconcile()
    alive.reconcile()
    assert not alive.watching
    # worker-dead stops renewing (killed, or frozen): time passes beyond its lease
    ChannelWatch.objects.filter(channel=quiet).update(lease_until=timezone.now() - timedelta(seconds=1))
    alive.reconcile()
    assert alive.watching == {quiet.pk}
    assert ChannelWatch.objects.get(channel=quiet).owner == "worker-alive"
    dead.reconcile()  # a frozen process wakes up: it finds its channel taken and lets its watcher go
    eventually(lambda: not dead.watching, "the process that lost its lease still watches")
    assert ChannelWatch.objects.get(channel=quiet).owner == "worker-alive"


@pytest.mark.parametrize("how", ["disconnected", "reconnect needed"])
def test_a_disconnected_channel_loses_its_watcher(quiet, fleet, acme, how):
    proxy = CountingProxy(quiet.credentials["imap_port"])
    quiet.credentials = dict(quiet.credentials, imap_port=proxy.port)
    quiet.save()
    watchers = fleet("worker-a")
    watchers.reconcile()
    assert watchers.watching == {quiet.pk}
    # connected: the watcher has read the channel and waits on the server (no read beside the writes below)
    eventually(lambda: proxy.connections == 1, "the watcher did not connect")
    if how == "disconnected":
        disconnect_channel(scope_for(acme["users"]["admin"], acme["org"].pk), quiet)
    else:
        Channel.objects.filter(pk=quiet.pk).update(status=ChannelStatus.RECONNECT_NEEDED)
    watchers.reconcile()
    eventually(lambda: not watchers.watching, "the watcher of a disconnected channel still runs")
    assert not ChannelWatch.objects.exists()
    proxy.close()


@pytest.fixture(scope="module")
def dovecot_without_idle() -> Iterator[Dovecot]:
    """A second Dovecot that does not offer IDLE (as some providers' servers do not)."""
    with running_dovecot("imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+ UIDPLUS\n") as srv:
        yield srv


def test_a_server_without_idle_is_left_to_polling_after_one_connection(
    support, customer, mail, dovecot_without_idle, fleet
):
    address, _ = dovecot_without_idle.add_user("support", domain="acme-air.test")
    proxy = CountingProxy(dovecot_without_idle.imap_port)
    try:
        support.name = address
        support.credentials = dict(dovecot_without_idle.credentials(address), imap_port=proxy.port)
        support.save()
        watchers, other = fleet("worker-a"), fleet("worker-b")
        watchers.reconcile()
        eventually(lambda: not watchers.watching, "a watcher runs on a server without IDLE")
        for _ in range(3):  # rechecks of both processes
            watchers.reconcile()
            other.reconcile()
        assert (watchers.watching, other.watching) == (set(), set())
        assert watchers.held == {support.pk}  # the first keeps the channel, so the others do not look again
        lease = ChannelWatch.objects.get(channel=support)  # and says why it does not watch (Settings → Channels)
        assert lease.rest_reason == WatchRest.NO_IDLE and lease.watching_since is None
        assert proxy.connections == 1  # one look at the capabilities, and no process tries again
        dovecot_without_idle.deliver(customer_mail(customer, address, "Seat", "Window seat please."), address)
        assert poll(Channel.objects.get(pk=support.pk)).new == 1  # the periodic poll brings the mail
        assert proxy.connections == 2
    finally:
        proxy.close()


def test_a_broken_server_is_retried_ever_later_never_in_a_loop(support, monkeypatch):
    proxy = CountingProxy(upstream_port=None)  # accepts and hangs up: no IMAP greeting
    support.credentials = dict(support.credentials, imap_port=proxy.port)
    support.save()
    stop = threading.Event()
    waits: list[float] = []
    real_backoff = email_idle.backoff_seconds

    def backoff(failures: int, retry_after: float | None = None) -> float:
        """Records the wait the watcher chose, then lets it go on at once (three times)."""
        waits.append(real_backoff(failures, retry_after))
        if len(waits) == 3:
            stop.set()
        return 0.0

    monkeypatch.setattr(email_idle, "backoff_seconds", backoff)
    try:
        ended = email_idle.watch(Channel.objects.get(pk=support.pk), poll_channel_now, stop)
    finally:
        proxy.close()
    assert ended == WatchEnd.STOPPED
    assert proxy.connections == 3  # one connection per wait: never a retry without one
    assert waits[0] >= 30 and waits[1] > waits[0] and waits[2] > waits[1]  # each wait longer than the last
