"""A reply to a Mastodon mention is posted exactly once even when the worker sending it is killed after the
server took the post but before Hubbub recorded it (and, for contrast, before it was sent at all). Real
`hubbub worker` processes on a real data directory (`hubbub.faults` crash points end them with os._exit, as
kill -9 does), talking to the Mastodon sandbox server over loopback; counted on the server and in Hubbub."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hubbub.connectors.sandbox.mastodon_fake import MastodonFake
from tests.processes import driver as run_driver
from tests.processes import healthy_worker, run

pytestmark = pytest.mark.slow
TOKEN = "brand-token-0123456789"
CRASH_POINTS = ["deliver.claimed", "deliver.posted"]
PATIENT = {"HUBBUB_REPLY_STUCK_AFTER": "3600"}  # only the driver's reclaim decides a claim belongs to the dead


def driver(env: dict[str, str], *args: str) -> Any:
    return run_driver("tests.connectors.mastodon_driver", env, *args)


@pytest.fixture
def sandbox() -> Iterator[MastodonFake]:
    with MastodonFake(brand_username="AcmeAir") as fake:
        fake.state.add_account("AcmeAir", "Acme Air", token=TOKEN)
        yield fake


@pytest.fixture
def env(tmp_path: Path, sandbox: MastodonFake) -> dict[str, str]:
    env = {
        **os.environ,
        "HUBBUB_DATA_DIR": str(tmp_path),
        "HUBBUB_REPLY_STUCK_AFTER": "1",
        "HUBBUB_OUTBOUND_ALLOW": f"127.0.0.1:{sandbox.httpd.server_address[1]}",
    }
    env.pop("DATABASE_URL", None)
    env.pop("HUBBUB_CRASH_AT", None)
    done = run(env, "-m", "hubbub", "migrate")
    assert done.returncode == 0, done.stderr[-2000:]
    driver(env, "setup", sandbox.url, TOKEN)
    return env


def test_a_killed_worker_posts_the_reply_once(env: dict[str, str], sandbox: MastodonFake) -> None:
    post = sandbox.state.post_as("ann", "@AcmeAir my bag is lost")
    assert driver(env, "poll")["new"] == 1
    for point in CRASH_POINTS:
        assert driver(env, "reply", f"Sorry Ann ({point}), we are on it.")["state"] == "approved"
        died = run({**env, "HUBBUB_CRASH_AT": point, **PATIENT}, "-m", "hubbub", "worker", "--workers", "1")
        assert died.returncode == 137, f"the worker did not die at {point}: {died.stderr[-1500:]}"
    assert [r["state"] for r in driver(env, "report")] == ["sending", "sending"]
    assert len(sandbox.state.replies_to(post)) == 1  # only the second reached the server

    with healthy_worker({**env, **PATIENT}):
        time.sleep(1.5)  # older than HUBBUB_REPLY_STUCK_AFTER: the claims belong to dead workers
        assert len(driver(env, "reclaim")["queued"]) == 2
        for _ in range(240):
            after = driver(env, "report")
            if all(r["state"] == "sent" for r in after):
                break
            time.sleep(0.5)

    on_server = sorted(s.text for s in sandbox.state.replies_to(post))
    assert on_server == sorted(f"@ann {r['text']}" for r in after)  # each reply once, none twice
    for r in after:
        assert (r["state"], r["recorded"], r["attempts"]) == ("sent", 1, 2), r
