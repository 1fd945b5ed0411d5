"""One worker polls many channels at once: each channel's mentions land exactly once, one failing or slow
channel holds back no other, one host gets at most its share, a backlog is read again at once, a 429 shows as
a spent budget, and concurrent polls on SQLite never meet "database is locked"."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hubbub.connectors import polling
from hubbub.connectors.base import ChannelError, OutboundReply, PollResult
from hubbub.connectors.events import InboundEvent
from hubbub.connectors.models import Channel, ChannelStatus
from hubbub.inbox.models import Message
from hubbub.ingest.channel_intake import accept_channel_events
from tests.connectors.doubles import registered

ROOT = Path(__file__).resolve().parents[2]
# Only a guard against a deadlock: a correct loop releases every wait long before it.
DEADLOCK_GUARD_SECONDS = 120


class FakeNetwork:
    """A network of many accounts: each poll returns `events_per_poll` new mentions of the channel polled
    and counts how many polls are in flight, in all and per host. Channels can be made to fail, to wait for
    an event, to report a backlog, or to write to the database while fetching (as Bluesky keeps a session)."""

    network = "other"

    def __init__(self, events_per_poll: int = 2, writes: bool = False) -> None:
        self.events_per_poll, self.writes = events_per_poll, writes
        self.lock = threading.Lock()
        self.in_flight: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.polls: Counter[str] = Counter()
        self.failures: dict[str, Exception] = {}
        self.waits: dict[str, threading.Event] = {}
        self.backlogs: Counter[str] = Counter()  # channel name -> polls still to report a backlog
        self.barrier: threading.Barrier | None = None

    def check(self, channel: Channel) -> str:
        return "fake"

    def poll(self, channel: Channel, cursor: dict[str, Any]) -> PollResult:
        host = polling.host_of(channel)
        with self.lock:
            self.polls[channel.name] += 1
            for key in (host, "*"):
                self.in_flight[key] += 1
                self.peak[key] = max(self.peak[key], self.in_flight[key])
        try:
            return self._answer(channel, cursor)
        finally:
            with self.lock:
                self.in_flight[host] -= 1
                self.in_flight["*"] -= 1

    def _answer(self, channel: Channel, cursor: dict[str, Any]) -> PollResult:
        if self.barrier is not None:
            self.barrier.wait(DEADLOCK_GUARD_SECONDS)
        if channel.name in self.waits:
            assert self.waits[channel.name].wait(DEADLOCK_GUARD_SECONDS), "never released"
        if channel.name in self.failures:
            raise self.failures[channel.name]
        if self.writes:
            credentials = channel.credentials
            credentials["session"] = f"session-{channel.pk}"
            channel.credentials = credentials
            channel.save(update_fields=["credentials_encrypted"])
        seen = int(cursor.get("n", 0))
        events = [_mention(channel.name, seen + k) for k in range(self.events_per_poll)]
        with self.lock:
            backlog = self.backlogs[channel.name] > 0
            self.backlogs[channel.name] -= 1
        return PollResult(events, {"n": seen + self.events_per_poll}, backlog=backlog)

    def send_reply(self, channel: Channel, reply: OutboundReply) -> str:
        raise NotImplementedError

    def find_posted(self, channel: Channel, reply: OutboundReply) -> str | None:
        return None


def _mention(account: str, n: int) -> InboundEvent:
    return InboundEvent(
        network="other",
        external_id=f"{account}-{n}",
        text=f"{account} my bag is lost ({n})",
        created_at=datetime(2026, 3, 2, 11, 0, tzinfo=UTC) + timedelta(seconds=n),
        author_id=f"u-{account}-{n}",
        author_handle=f"carol{n}",
    )


def _channels(acme: dict[str, Any], n: int, hosts: int) -> list[Channel]:
    brand = acme["brands"]["Acme Air"]
    made = []
    for i in range(n):
        channel = Channel(organization=acme["org"], brand=brand, network="other", name=f"@acme{i}")
        channel.credentials = {"base_url": f"https://host{i % hosts}.example"}
        channel.save()
        made.append(channel)
    return made


def test_many_channels_are_polled_at_once_and_each_mention_lands_once(acme: dict[str, Any]) -> None:
    channels = _channels(acme, 12, hosts=12)
    with registered(FakeNetwork()) as network:
        network.barrier = threading.Barrier(4)  # four polls must be in flight together, or none gets past it
        outcomes = polling.poll_due(accept_channel_events, concurrency=4)

    assert sorted(o.channel_id for o in outcomes) == sorted(c.pk for c in channels)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    assert network.peak["*"] >= 4
    stored = list(Message.objects.filter(organization=acme["org"]).values_list("external_id", flat=True))
    assert sorted(stored) == sorted(f"@acme{i}-{k}" for i in range(12) for k in range(2))  # each exactly once
    for channel in channels:
        channel.refresh_from_db()
        assert channel.cursor == {"n": 2} and channel.status == ChannelStatus.CONNECTED
    assert set(network.polls.values()) == {1}


def test_one_host_gets_at_most_its_share_of_the_polls(acme: dict[str, Any], settings: Any) -> None:
    settings.CHANNEL_POLL_PER_HOST = 2
    _channels(acme, 10, hosts=1)
    with registered(FakeNetwork()) as network:
        outcomes = polling.poll_due(accept_channel_events, concurrency=8)

    assert len(outcomes) == 10 and all(o.ok for o in outcomes)
    assert network.peak["host0.example"] <= 2


def test_a_failing_or_slow_channel_holds_back_no_other(acme: dict[str, Any]) -> None:
    channels = _channels(acme, 8, hosts=8)
    slow, broken, buggy = channels[0], channels[1], channels[2]
    others = {c.pk for c in channels[3:]}
    stored_for: set[int] = set()
    release_slow = threading.Event()

    def accept(channel: Channel, events: Any) -> int:
        stored_for.add(channel.pk)
        if others <= stored_for:  # the slow one answers only once every healthy one is stored
            release_slow.set()
        return accept_channel_events(channel, events)

    with registered(FakeNetwork()) as network:
        network.waits[slow.name] = release_slow
        network.failures[broken.name] = ChannelError("The server answered 503.")
        network.failures[buggy.name] = RuntimeError("a bug")
        outcomes = {o.channel_id: o for o in polling.poll_due(accept, concurrency=3)}

    assert all(outcomes[pk].ok for pk in others) and outcomes[slow.pk].ok
    broken.refresh_from_db()
    buggy.refresh_from_db()
    assert (broken.status, broken.last_error) == (ChannelStatus.DEGRADED, "The server answered 503.")
    assert buggy.last_error == "Unexpected error while polling: RuntimeError"
    assert Message.objects.filter(organization=acme["org"]).count() == 2 * 6


def test_a_backlog_is_read_again_at_once_not_a_tick_later(acme: dict[str, Any]) -> None:
    [channel] = _channels(acme, 1, hosts=1)
    started = datetime.now(UTC)
    with registered(FakeNetwork()) as network:
        network.backlogs[channel.name] = 2  # two full polls, then the rest
        outcomes = polling.poll_due(accept_channel_events)

    assert len(outcomes) == 3 and all(o.ok for o in outcomes)
    assert Message.objects.filter(organization=acme["org"]).count() == 6
    channel.refresh_from_db()
    assert channel.cursor == {"n": 6}
    assert channel.next_poll_at is not None and channel.next_poll_at > started  # back on the usual schedule


def test_a_429_records_a_spent_budget_and_when_it_comes_back(acme: dict[str, Any]) -> None:
    [channel] = _channels(acme, 1, hosts=1)
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    with registered(FakeNetwork()) as network:
        network.failures[channel.name] = ChannelError("Rate limit used up.", retry_after=900, rate_limited=True)
        polling.poll_channel(channel, accept_channel_events, now=now)

    channel.refresh_from_db()
    assert channel.rate_limit_remaining == 0
    assert channel.rate_limit_reset_at == now + timedelta(seconds=900)
    assert channel.status == ChannelStatus.DEGRADED
    assert channel.next_poll_at is not None and channel.next_poll_at >= now + timedelta(seconds=900)


def test_two_workers_on_a_sqlite_file_poll_each_channel_once_and_never_meet_a_lock(tmp_path: Path) -> None:
    """On the real SQLite file (WAL): two workers polling at once, each with pool threads writing while its loop
    accepts. The lease gives every channel to one of them; no write fails with "database is locked"."""
    env = {**os.environ, "HUBBUB_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "tests.connectors.polling_driver", "24"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {
        "polled": 24,
        "errors": [],
        "polled_twice": [],
        "stored": 120,
        "distinct": 120,
        "sessions_kept": 24,
    }
