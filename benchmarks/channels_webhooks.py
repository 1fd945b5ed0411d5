"""The webhook part of `benchmarks/channels.py`: signed deliveries into one web process.

`hubbub serve --no-worker` (one uvicorn process, as deployed) on loopback, on the benchmark's file-backed
SQLite (a PostgreSQL run is not wired yet). A separate process (`webhook_load.py`) posts
`--webhooks` signed X and Meta deliveries, 5 % of them twice, 32 at a time; then the raw event log is counted:
    webhook_rps        deliveries answered per second (every one: 200 or a redelivery's 200)
    webhook_p99_ms     99th percentile of one delivery's time, signature check → commit → answer
    lost_events        deliveries answered 200 but not in the raw event log
    unanswered_events  deliveries without any answer (client timeout, reset) and not kept: a network resends
    duplicate_events   raw events stored more than once for one network id
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
X_SECRET, META_SECRET = "bench-x-consumer-secret", "bench-meta-app-secret"
X_ACCOUNT, PAGE = "9000000001", "101"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _channels() -> None:
    from hubbub.connectors.models import Channel
    from hubbub.tenancy.models import Brand, Organization

    org, _ = Organization.objects.get_or_create(slug="bench-hooks", defaults={"name": "Webhook bench"})
    brand, _ = Brand.objects.get_or_create(organization=org, slug="acme-air", defaults={"name": "Acme Air"})
    for network, account in (("x", X_ACCOUNT), ("facebook", PAGE)):
        Channel.objects.get_or_create(
            organization=org, brand=brand, network=network, name=f"{network}-bench", defaults={"account_id": account}
        )


def _wait_up(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180  # a deadline for a loaded machine, not a measure
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"hubbub serve exited with {proc.returncode}")
        try:
            urllib.request.urlopen(f"{base}/hooks/x/?crc_token=up", timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("hubbub serve did not answer within 180 s")


@contextmanager
def serving(worker: bool = False) -> Iterator[str]:
    """`hubbub serve` (`--no-worker` unless `worker`) on a free loopback port of this benchmark's data
    directory, with the benchmark's webhook secrets; yields its base URL, stops it after."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HUBBUB_X_CONSUMER_SECRET": X_SECRET, "HUBBUB_META_APP_SECRET": META_SECRET}
    cmd = [sys.executable, "-m", "hubbub", "serve", "--port", str(port)] + ([] if worker else ["--no-worker"])
    log = open(Path(os.environ["HUBBUB_DATA_DIR"]) / f"serve-{port}.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_up(base, proc)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()


def measure_webhooks(count: int) -> dict[str, float]:
    from hubbub.ingest.models import RawEvent

    _channels()
    with serving() as base:
        print(f"webhooks: serving on {base}, sending {count} deliveries", flush=True)
        load = [sys.executable, str(HERE / "webhook_load.py"), "--url", base, "--count", str(count)]
        load += ["--x-account", X_ACCOUNT, "--page", PAGE, "--x-secret", X_SECRET, "--meta-secret", META_SECRET]
        out = subprocess.run(load, capture_output=True, check=True, text=True).stdout
    report: dict[str, Any] = json.loads(out)
    ids, acked = report.pop("ids"), set(report.pop("acked"))
    stored = RawEvent.objects.filter(external_id__in=ids)
    rows = stored.count()
    distinct = stored.values("network", "external_id").distinct().count()
    kept = set(stored.values_list("external_id", flat=True))
    print(f"webhooks: {json.dumps(report)}", flush=True)
    return {
        "webhook_rps": report["rps"],
        "webhook_p99_ms": report["p99_ms"],
        "webhook_p50_ms": report["p50_ms"],
        "webhook_non_200": float(report["sent"] - report["statuses"].get("200", 0)),
        "lost_events": float(len(acked - kept)),  # answered 200 but not in the log: the one thing never allowed
        "unanswered_events": float(len(set(ids) - acked - kept)),  # no 2xx, not kept: the network sends it again
        "duplicate_events": float(rows - distinct),
    }
