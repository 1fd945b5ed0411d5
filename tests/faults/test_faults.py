"""Faults during ingest and agents' replies, on real processes and private servers (tests/faults/fleet.py):
a worker killed with `kill -9` mid-batch, PostgreSQL restarted, Redis stopped for 30 s, the task queue filled
past its limit. After each: 0 mentions lost or duplicated, 0 replies lost or posted twice (counted at the fake
X), the backlog drains, and /metrics (and, for Redis, the inbox's "Live updates paused" banner) showed the
degraded state while it lasted. Each test prints its counts.

Marked slow (the Redis one also browser: Chromium sees the banner come and go): each takes over a minute, so CI
runs them once, in its first (SQLite) pass, which the PostgreSQL pass's "not browser and not slow" leaves them
to; they bring their own PostgreSQL and Redis whatever DATABASE_URL says."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pytest

from tests.browser_server import CHROMIUM, LAUNCH_ARGS, require_browser
from tests.faults.fleet import REPLY_STUCK_AFTER, Fleet, Traffic, drained, http

pytestmark = [pytest.mark.faults, pytest.mark.slow]
#: How long the tests wait for a degraded state to show (or go): a bound for a loaded machine.
SHOWS_WITHIN = 30


def eventually(check: Callable[[], bool], what: str, within: float = SHOWS_WITHIN) -> float:
    """Seconds until `check()` held; fails naming `what` after `within`."""
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < within, f"not within {within} s: {what}"
        time.sleep(0.25)
    return time.monotonic() - start


def under_way(make_fleet: Callable[..., Fleet], name: str, mentions: int = 40, **env: str) -> tuple[Fleet, Traffic]:
    """A web process and a worker; mentions until the inbox has conversations to reply to, then mentions and
    replies continuously."""
    fleet = make_fleet(name, **env)
    fleet.start_web()
    fleet.start_worker()
    traffic = Traffic(fleet)
    traffic.mentions(mentions)
    traffic.wait_conversations(10)
    return fleet, traffic.start()


def finish(fleet: Fleet, traffic: Traffic, fault: str) -> None:
    """Stop sending, wait for the backlog to drain, print the counts, and require them all clean."""
    time.sleep(2)
    traffic.stop()
    counts = drained(fleet, traffic)
    took = time.monotonic() - fleet.started
    print(f"\n[{fault}] {asdict(counts)} retries by the senders: {dict(traffic.retries)}; {took:.0f} s")
    assert counts.mentions_sent > 0 and counts.replies_sent > 0
    assert counts.clean, f"{fault}: {asdict(counts)}\nworker: {fleet.log_tail('worker')}"


def lag_seconds(fleet: Fleet) -> float:
    return max(fleet.metrics().get("hubbub_ingest_lag_seconds", [0.0]), default=0.0)


def banner_shown(fleet: Fleet) -> bool:
    status, html = fleet.page("/")
    assert status == 200, html[-500:]
    tag = re.search(r'<div id="live-paused"[^>]*>', html)
    assert tag, "the inbox has no live-updates banner"
    return "hidden" not in tag.group(0)


def test_a_worker_killed_mid_batch_loses_and_doubles_nothing(make_fleet, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fleet, traffic = under_way(make_fleet, "kill")
    pauses = tmp_path / "pauses"
    pauses.mkdir()
    # The victim's threads stop, holding what they hold, at the first batch written but not committed and the
    # first reply X took but Hubbub did not record; then it gets a real SIGKILL.
    points = {"HUBBUB_PAUSE_AT": "ingest.batch.before_commit,deliver.posted", "HUBBUB_PAUSE_DIR": str(pauses)}
    victim = fleet.start_worker("victim", env=points)
    eventually(lambda: any(pauses.glob("ingest.batch.before_commit.*")), "the victim holding a batch", 120)
    try:
        eventually(lambda: any(pauses.glob("deliver.posted.*")), "the victim holding a posted reply", 15)
    except AssertionError:
        pass  # the other worker took every reply meanwhile: the batch alone is cut
    os.kill(victim.pid, signal.SIGKILL)
    assert fleet.stop("victim") == -signal.SIGKILL
    cut = sorted(p.name.rsplit(".", 1)[0] for p in pauses.iterdir())
    print(f"\n[kill -9] cut at {cut}")
    # while nobody has taken the dead worker's batch over, its events wait and /metrics says how long
    eventually(lambda: lag_seconds(fleet) >= 5, "the ingest lag on /metrics")
    # A supervisor restarts it; at start it sweeps the pending events and reclaims the replies claimed longer
    # than REPLY_STUCK_AFTER ago, which the held reply is by then.
    held_since = min(p.stat().st_mtime for p in pauses.iterdir())
    time.sleep(max(0.0, held_since + REPLY_STUCK_AFTER + 1 - time.time()))
    fleet.start_worker("replacement")
    finish(fleet, traffic, "kill -9 a worker mid-batch")


def test_a_postgresql_restart_loses_and_doubles_nothing(make_fleet, private_servers) -> None:  # type: ignore[no-untyped-def]
    pg, _ = private_servers
    fleet, traffic = under_way(make_fleet, "pgrestart")
    time.sleep(3)
    pg.stop()
    try:
        eventually(lambda: fleet.metrics().get("hubbub_database_up") == [0.0], "hubbub_database_up 0")
        status, body = http(fleet.base + "/readyz")
        assert status == 503 and json.loads(body)["checks"]["database"]["status"] == "fail", body[:500]
        status, page = fleet.page("/")
        assert status == 503 and "cannot reach its database" in page, page[:500]
        time.sleep(3)
    finally:
        pg.start()
    eventually(lambda: fleet.metrics().get("hubbub_database_up") == [1.0], "hubbub_database_up 1")
    finish(fleet, traffic, "restart PostgreSQL")
    assert traffic.retries, "nothing noticed the restart: the senders never had to retry"


class Stream:
    """The agent's live stream (SSE), read in a thread: the `live` events it sends, in order."""

    def __init__(self, fleet: Fleet) -> None:
        cookie = f"sessionid={fleet.setup['sessions']['agent']}"
        self.request = urllib.request.Request(fleet.base + "/live/", headers={"Cookie": cookie})
        self.states: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        with urllib.request.urlopen(self.request, timeout=120) as answer:
            event = ""
            for raw in answer:
                line = raw.decode().strip()
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event == "live":
                    self.states.append(re.sub(r'.*"state": "(\w+)".*', r"\1", line))


@pytest.mark.browser
def test_redis_stopped_for_30_s_pauses_live_updates_and_loses_nothing(make_fleet, private_servers) -> None:  # type: ignore[no-untyped-def]
    """Also in Chromium: an agent's open inbox shows the banner without a reload, and hides it when Redis is back."""
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    _, redis = private_servers
    fleet, traffic = under_way(make_fleet, "redis")
    stream = Stream(fleet)
    assert not banner_shown(fleet)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            context = browser.new_context()
            cookie = {"name": "sessionid", "value": fleet.setup["sessions"]["agent"], "url": fleet.base}
            context.add_cookies([cookie])  # type: ignore[list-item]
            page = context.new_page()
            page.goto(fleet.base + "/")
            shown = page.locator("#live-paused")
            expect(shown).to_be_hidden()
            redis.stop()
            stopped = time.monotonic()
            try:
                eventually(lambda: fleet.metrics().get("hubbub_redis_up") == [0.0], "hubbub_redis_up 0")
                eventually(lambda: "paused" in stream.states, "the stream saying live updates are paused")
                eventually(lambda: banner_shown(fleet), "the inbox's 'Live updates paused' banner")
                expect(shown).to_be_visible()  # the open page, told by its stream
                expect(shown).to_contain_text("Live updates paused")
                time.sleep(max(0.0, 30 - (time.monotonic() - stopped)))
            finally:
                redis.start()
            expect(shown).to_be_hidden()
        finally:
            browser.close()
    eventually(lambda: stream.states[-1:] == ["live"], "the stream saying live updates are back")
    eventually(lambda: not banner_shown(fleet), "the banner gone")
    eventually(lambda: fleet.metrics().get("hubbub_redis_up") == [1.0], "hubbub_redis_up 1")
    finish(fleet, traffic, "stop Redis for 30 s")


def test_a_task_queue_filled_past_its_limit_drains_without_loss(make_fleet) -> None:  # type: ignore[no-untyped-def]
    limit = 15
    fleet, traffic = under_way(make_fleet, "queue", HUBBUB_TASK_QUEUE_LIMIT=str(limit), HUBBUB_INGEST_BATCH="10")
    fleet.stop("worker")  # the workers are gone (a deploy gone wrong): the queue only grows
    depth = lambda: max(fleet.metrics().get("hubbub_task_queue_depth", [0.0]))  # noqa: E731
    eventually(lambda: depth() >= limit, f"the queue reaching its limit of {limit}", 60)
    at_limit = len(traffic.sent_tweets)
    eventually(lambda: len(traffic.sent_tweets) >= at_limit + 50, "50 more mentions accepted over the limit", 60)
    series = fleet.metrics()
    # Mentions over the limit add one drain task, not one task per batch: the queue holds the limit, the
    # replies (never held back) and that one task.
    assert series["hubbub_task_queue_limit"] == [float(limit)]
    assert max(series["hubbub_task_queue_depth"]) <= limit + 1 + len(traffic.reply_texts)
    status, page = fleet.page("/settings/system/", role="admin")
    assert status == 200 and "over the limit of 15" in page, page[-2000:]
    fleet.start_worker()
    finish(fleet, traffic, "fill the task queue past its limit")
    eventually(lambda: depth() == 0, "the queue drained", 60)
