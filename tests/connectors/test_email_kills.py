"""A reply by email is sent exactly once even when the worker sending it is killed after the SMTP server took
the mail but before Hubbub recorded it (and, for contrast, after claiming it but before sending). Real
`hubbub worker` processes on a real data directory (`hubbub.faults` crash points end them with os._exit, as
kill -9 does), sending through the test SMTP server into the customer's Dovecot mailbox, where the mails are
counted as the customer would see them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.connectors.mailboxes import customer_mail, mailbox
from tests.connectors.mailservers import HOST, Dovecot, SmtpServer
from tests.processes import driver as run_driver
from tests.processes import run, worker_dies_at

pytestmark = pytest.mark.slow
CRASH_POINTS = ["deliver.claimed", "deliver.posted"]
PATIENT = {"HUBBUB_REPLY_STUCK_AFTER": "3600"}  # the worker's own reclaim never runs; the driver's `recover` does


def driver(env: dict[str, str], *args: str) -> Any:
    return run_driver("tests.connectors.email_driver", env, *args)


@pytest.fixture
def env(tmp_path: Path, dovecot: Dovecot, smtp_server: SmtpServer, customer: str) -> dict[str, str]:
    support, _ = dovecot.add_user("support", domain="acme-air.test")
    env = {**os.environ, "HUBBUB_DATA_DIR": str(tmp_path), "HUBBUB_OUTBOUND_ALLOW": HOST}
    env.pop("DATABASE_URL", None)
    env.pop("HUBBUB_CRASH_AT", None)
    done = run(env, "-m", "hubbub", "migrate")
    assert done.returncode == 0, done.stderr[-2000:]
    credentials = dovecot.credentials(support, smtp_host=HOST, smtp_port=smtp_server.port)
    driver(env, "setup", json.dumps(credentials))
    dovecot.deliver(customer_mail(customer, support, "Lost bag", "My bag is lost."), support)
    env["SUPPORT"] = support
    return env


def test_a_killed_worker_sends_the_reply_once(env: dict[str, str], dovecot: Dovecot, customer: str) -> None:
    assert driver(env, "poll")["new"] == 1
    for point in CRASH_POINTS:
        assert driver(env, "reply", f"Sorry Ann ({point}), we are on it.")["state"] == "approved"
        worker_dies_at(env, point, PATIENT)
    assert [r["state"] for r in driver(env, "report")] == ["sending", "sending"]
    assert len(mailbox(dovecot, customer)) == 1  # only the second reached the SMTP server

    recovered = driver(env, "recover")
    assert recovered["states"] == ["sent", "sent"]

    received = mailbox(dovecot, customer)
    after = driver(env, "report")
    assert sorted(m.get_content().strip() for m in received) == sorted(r["text"] for r in after)  # once each
    assert [m["Message-ID"] for m in mailbox(dovecot, env["SUPPORT"], "Sent")] == [m["Message-ID"] for m in received]
    for r in after:
        assert (r["state"], r["recorded"], r["attempts"]) == ("sent", 1, 2), r
