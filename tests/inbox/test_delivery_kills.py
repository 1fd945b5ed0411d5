"""A reply is posted exactly once even when the worker sending it is killed: before the network call, during
it, and after the network took the post but before Hubbub recorded it. Real processes on a real data directory:
`hubbub worker` with a crash point set (`hubbub.faults`: the process ends with os._exit, as with kill -9), then
a healthy worker and the periodic reclaim. Counted at the network (the sink keeps a second post of the same
reply beside the first) and in Hubbub's records: 0 lost, 0 doubled, none left in `sending`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DATA
from tests.processes import ROOT, run
from tests.processes import driver as run_driver

pytestmark = pytest.mark.slow
CRASH_POINTS = ["deliver.claimed", "sink.before_accept", "deliver.posted"]
# Workers never reclaim on their own here (their periodic reclaim would race the test's): only the driver's
# `reclaim`, with a 1 s limit, decides that a claim belongs to a dead worker.
PATIENT = {"HUBBUB_REPLY_STUCK_AFTER": "3600"}


def driver(env: dict[str, str], *args: str) -> Any:
    return run_driver("tests.inbox.delivery_driver", env, *args)


def worker_until_it_dies(env: dict[str, str], point: str) -> None:
    """A worker with the crash point set takes the queued delivery and dies there."""
    env = {**env, "HUBBUB_CRASH_AT": point, **PATIENT}
    done = run(env, "-m", "hubbub", "worker", "--workers", "1", timeout=90)
    assert done.returncode == 137, f"the worker did not die at {point}: {done.returncode} {done.stderr[-1500:]}"


@pytest.fixture
def data_dir(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "HUBBUB_DATA_DIR": str(tmp_path), "HUBBUB_REPLY_STUCK_AFTER": "1"}
    env.pop("DATABASE_URL", None)
    env.pop("HUBBUB_CRASH_AT", None)
    for args in (
        ["import", "airline", str(DATA / "airline_sample.csv"), "--org", "kills"],
        ["user", "add", "agent1", "--role", "agent", "--org", "kills", "--password", "pw-kills-12345"],
    ):
        done = run(env, "-m", "hubbub", *args)
        assert done.returncode == 0, done.stderr[-2000:]
    return env


def test_a_worker_killed_at_any_step_posts_each_reply_exactly_once(data_dir):  # type: ignore[no-untyped-def]
    env = data_dir
    for n, point in enumerate(CRASH_POINTS):
        assert driver(env, "reply", str(n), f"Sorry about that ({point}), we are on it.")["state"] == "approved"
        worker_until_it_dies(env, point)
    before = {r["id"]: r for r in driver(env, "report")}
    assert [r["state"] for r in before.values()] == ["sending"] * 3  # each left half-done by a dead worker
    assert [len(r["posts"]) for r in before.values()] == [0, 0, 1]  # only the last reached the network

    healthy = subprocess.Popen(
        [sys.executable, "-m", "hubbub", "worker", "--workers", "1"],
        env={**env, **PATIENT},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.5)  # older than HUBBUB_REPLY_STUCK_AFTER: the claims belong to dead workers
        assert sorted(driver(env, "reclaim")["queued"]) == sorted(before)
        for _ in range(120):
            after = driver(env, "report")
            if all(r["state"] == "sent" for r in after):
                break
            time.sleep(0.5)
    finally:
        healthy.terminate()
        healthy.wait(timeout=30)
    for r in after:
        assert r["state"] == "sent", r
        assert len(r["posts"]) == 1, f"reply {r['id']} was posted {len(r['posts'])} times: {r['posts']}"
        assert r["recorded"] == 1, r
        assert r["attempts"] == 2, r  # the killed attempt and the one after the reclaim
