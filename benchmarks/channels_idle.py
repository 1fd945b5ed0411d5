"""The email IDLE part of `benchmarks/channels.py`: from a mail delivered to a support mailbox to the message
stored in Hubbub, through a real `hubbub worker` (its IMAP IDLE watcher, then its task consumer).

A Dovecot of its own (`tests/connectors/mailservers.py`) holds the mailbox; the benchmark's SQLite holds an
organisation whose brand has it connected. The worker runs with the periodic poll an hour apart, so every mail
comes in through the watcher. Each mail is delivered over LMTP, as a mail server would; its latency runs from
just before the delivery to its message row appearing (read every 20 ms). Mails go one after another:
    email_idle_latency_s       the median of `--idle-mails`
    email_idle_latency_max_s   the slowest of them
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

WAIT_S = 300.0  # a deadline, not a measure: the worker loads its models before it starts the watchers


def _connect(server: Any) -> Any:
    from tests.connectors.mailservers import HOST

    from hubbub.connectors.models import Channel
    from hubbub.tenancy.models import Brand, Organization

    address, _ = server.add_user("support", domain="acme-air.test")
    org = Organization.objects.create(slug="bench-idle", name="IDLE bench")
    brand = Brand.objects.create(organization=org, name="Acme Mail", slug="acme-mail", handles=["acmemail"])
    credentials = server.credentials(address, smtp_host=HOST, smtp_port=1)
    return Channel.objects.create(organization=org, brand=brand, network="email", name=address, credentials=credentials)


def _until(condition: Any, what: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.perf_counter() + WAIT_S
    while not condition():
        if proc.poll() is not None or time.perf_counter() > deadline:
            raise RuntimeError(f"{what} (worker exit {proc.poll()})")
        time.sleep(0.02)


def _deliver(server: Any, mailbox: str, customer: str, i: int, proc: subprocess.Popen[bytes]) -> float:
    """Deliver one mail; seconds until its message is stored."""
    from tests.connectors.mailboxes import customer_mail

    from hubbub.inbox.models import Message

    message_id = f"idle-bench-{i}-{time.time_ns()}@example.test"
    mail = customer_mail(customer, mailbox, f"Gate {i}", "Which gate?", message_id=f"<{message_id}>")
    sent = time.perf_counter()
    server.deliver(mail, mailbox)
    stored = Message.objects.filter(network="email", external_id=message_id)
    _until(stored.exists, f"mail {i} never reached the inbox", proc)
    return time.perf_counter() - sent


def measure_idle(mails: int) -> dict[str, float]:
    from tests.connectors.mailservers import running_dovecot

    from hubbub.connectors.models import ChannelWatch

    with running_dovecot() as server:
        channel = _connect(server)
        customer, _ = server.add_user("ann", domain="example.test")
        env = {**os.environ, "HUBBUB_CHANNEL_POLL_SECONDS": "3600"}  # every mail through the watcher
        log = open(Path(os.environ["HUBBUB_DATA_DIR"]) / "idle-worker.log", "wb")  # noqa: SIM115 - closed below
        proc = subprocess.Popen([sys.executable, "-m", "hubbub", "worker"], env=env, stdout=log, stderr=log)
        try:
            _until(lambda: ChannelWatch.objects.filter(channel=channel).exists(), "no watcher started", proc)
            latencies = [_deliver(server, channel.name, customer, i, proc) for i in range(mails)]
        finally:
            proc.terminate()
            proc.wait(timeout=60)
            log.close()
    print(f"idle: {', '.join(f'{s:.2f}' for s in latencies)} s", flush=True)
    return {
        "email_idle_latency_s": round(statistics.median(latencies), 3),
        "email_idle_latency_max_s": round(max(latencies), 3),
    }
