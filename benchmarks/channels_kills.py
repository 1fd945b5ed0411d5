"""The kill part of `benchmarks/channels.py`: replies posted twice after a worker was killed mid-send.

The moment that matters: the network accepted the post, and the worker dies before Hubbub recorded it. The
same machinery as `tests/connectors/test_mastodon_kills.py`, counted instead of asserted: a data directory of
its own, the Mastodon sandbox server on loopback, real `hubbub worker` processes that the `hubbub.faults`
crash point `deliver.posted` ends with os._exit(137) (as kill -9 does) right after the server answered.
`--kills` replies are each sent by a worker killed there; then a healthy worker and the reclaim of stuck
replies take them up again, and the posts on the sandbox are counted:
    duplicate_posts_after_kill   posts on the sandbox beyond one per reply
    kill_replies_missing         replies not on the sandbox at all, or not recorded as sent in Hubbub
    kill_posts_before_retry      posts on the sandbox when the workers had died (= --kills: each kill came
                                 after the network accepted the post, the moment under test)
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.processes import driver, healthy_worker, run, worker_dies_at

TOKEN = "bench-brand-token-0123456789"
PATIENT = {"HUBBUB_REPLY_STUCK_AFTER": "3600"}  # only the reclaim below decides a claim belongs to the dead
SETTLE_S = 240.0  # a deadline for the healthy worker on a loaded machine, not a measure


def _report(env: dict[str, str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = driver("tests.connectors.mastodon_driver", env, "report")
    return rows


def measure_kills(kills: int) -> dict[str, float]:
    from hubbub.connectors.sandbox.mastodon_fake import MastodonFake

    data_dir = Path(os.environ["HUBBUB_DATA_DIR"]) / "kills"
    data_dir.mkdir()
    with MastodonFake(brand_username="AcmeAir") as sandbox:
        sandbox.state.add_account("AcmeAir", "Acme Air", token=TOKEN)
        env = {**os.environ, "HUBBUB_DATA_DIR": str(data_dir), "HUBBUB_REPLY_STUCK_AFTER": "1"}
        env["HUBBUB_OUTBOUND_ALLOW"] = f"127.0.0.1:{sandbox.httpd.server_address[1]}"
        for name in ("DATABASE_URL", "HUBBUB_CRASH_AT", "HUBBUB_TASKS_IMMEDIATE"):
            env.pop(name, None)
        migrated = run(env, "-m", "hubbub", "migrate", timeout=600)
        if migrated.returncode:
            raise RuntimeError(migrated.stderr[-2000:])
        driver("tests.connectors.mastodon_driver", env, "setup", sandbox.url, TOKEN)
        post = sandbox.state.post_as("ann", "@AcmeAir my bag is lost")
        driver("tests.connectors.mastodon_driver", env, "poll")
        for i in range(kills):
            driver("tests.connectors.mastodon_driver", env, "reply", f"Sorry Ann, we are on it ({i}).")
            worker_dies_at(env, "deliver.posted", PATIENT)  # raises unless the worker died there
        before_retry = len(sandbox.state.replies_to(post))  # each reached the network before its worker died
        print(f"kills: {kills} workers killed, {before_retry} posts on the sandbox before the retry", flush=True)
        report = _settle(env)
        posts = Counter(s.text for s in sandbox.state.replies_to(post))
    expected = {f"@ann {r['text']}" for r in report}
    unsent = [r for r in report if (r["state"], r["recorded"]) != ("sent", 1)]
    return {
        "duplicate_posts_after_kill": float(sum(n - 1 for n in posts.values() if n > 1)),
        "kill_replies_missing": float(len(expected - set(posts)) + len(unsent)),
        "kill_replies": float(len(report)),
        "kill_posts_before_retry": float(before_retry),
    }


def _settle(env: dict[str, str]) -> list[dict[str, Any]]:
    """A healthy worker, the reclaim of the dead workers' claims, and the replies' states once all are sent."""
    with healthy_worker({**env, **PATIENT}):
        time.sleep(1.5)  # older than HUBBUB_REPLY_STUCK_AFTER: the claims belong to dead workers
        driver("tests.connectors.mastodon_driver", env, "reclaim")
        deadline = time.monotonic() + SETTLE_S
        report = _report(env)
        while any(r["state"] != "sent" for r in report) and time.monotonic() < deadline:
            time.sleep(1)
            report = _report(env)
        return report
