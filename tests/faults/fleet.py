"""A Hubbub fleet for the fault tests: `hubbub serve --no-worker` and `hubbub worker` processes on a private
PostgreSQL database and Redis queue, fed by a fake X (signed webhooks in, replies posted back to it), with
agents replying through the REST API. What was sent is counted against what Hubbub holds and what X got.

The senders behave as the real ones do: X redelivers a webhook that was not answered 200, and an API client
retries a reply with the same `Idempotency-Key` until it gets its 201. So "0 lost" means every acknowledged
or retried mention is in the inbox once, and every reply is posted to X once and recorded once.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.browser_server import free_port
from tests.fakes.x import FakeX, Tweet, User, XWebhook
from tests.faults.servers import PrivatePostgres, PrivateRedis
from tests.processes import ROOT, run

X_SECRET = "faults-x-consumer-secret"
METRICS_TOKEN = "faults-metrics-token"
#: Bounds for a loaded two-core machine (start-up, a drain); a passing run never waits them out.
START_DEADLINE = 180
DRAIN_DEADLINE = 150
REPLY_STUCK_AFTER = 30


def http(
    url: str, data: bytes | None = None, headers: dict[str, str] | None = None, timeout: float = 10
) -> tuple[int, bytes]:
    """(status, body); 0 when there was no answer at all (refused, reset, timed out)."""
    request = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


@dataclass
class Fleet:
    """The processes of one test, on its own database, queue name and data directory."""

    name: str
    pg: PrivatePostgres
    redis: PrivateRedis
    tmp: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.started = time.monotonic()
        self.pg.execute(f"CREATE DATABASE {self.name} TEMPLATE hubbub_template")
        self.x = FakeX().start()
        self.brand = self.x.add_user("AcmeAir", "Acme Air")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = fleet_env(self.tmp, self.pg.url(self.name), self.redis.url, self.name) | {
            "HUBBUB_OUTBOUND_ALLOW": f"127.0.0.1:{self.x.port}",
            **self.extra_env,
        }
        done = run(self.env, "-m", "tests.faults.fleet_driver", "setup", self.brand.id, self.x.url, self.x.token)
        assert done.returncode == 0, done.stderr[-2000:]
        self.setup = json.loads(done.stdout.strip().splitlines()[-1])

    def start(self, role: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start `hubbub ARGS` as process `role`, its output in a log file of the data directory."""
        log = open(self.tmp / f"{role}.log", "ab")  # noqa: SIM115 - the process keeps it
        proc = subprocess.Popen(
            [sys.executable, "-m", "hubbub", *args], env={**self.env, **(env or {})}, cwd=ROOT, stdout=log, stderr=log
        )
        self.procs[role] = proc
        return proc

    def start_web(self) -> None:
        self.start("web", "serve", "--no-worker", "--port", str(self.port))
        deadline = time.monotonic() + START_DEADLINE
        while http(self.base + "/healthz", timeout=2)[0] != 200:
            assert self.procs["web"].poll() is None, self.log_tail("web")
            assert time.monotonic() < deadline, "the web process did not answer"
            time.sleep(0.3)

    def start_worker(self, role: str = "worker", env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        return self.start(role, "worker", "--concurrency", "2", env=env)

    def stop(self, role: str, sig: int = signal.SIGTERM) -> int:
        proc = self.procs.pop(role)
        if proc.poll() is None:
            proc.send_signal(sig)
        try:
            return proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait(timeout=30)

    def log_tail(self, role: str) -> str:
        path = self.tmp / f"{role}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def close(self) -> None:
        for role in list(self.procs):
            self.stop(role)
        self.x.stop()
        try:
            self.pg.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        except Exception:  # noqa: BLE001 - the server may be the thing a failed test left stopped
            pass

    # what an operator and an agent see
    def metrics(self) -> dict[str, list[float]]:
        """/metrics as {series name: [value of each label set]}."""
        status, body = http(self.base + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert status == 200, (status, body[:300])
        series: dict[str, list[float]] = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                series.setdefault(name.split("{")[0], []).append(float(value))
        return series

    def page(self, path: str, role: str = "agent") -> tuple[int, str]:
        cookie = f"sessionid={self.setup['sessions'][role]}"
        status, body = http(self.base + path, headers={"Cookie": cookie})
        return status, body.decode(errors="replace")

    def report(self) -> dict[str, Any]:
        """What Hubbub holds, read straight from its database (a query, not a Django process, every 2 s)."""
        import psycopg

        with psycopg.connect(self.pg.url(self.name), autocommit=True) as conn:
            inbound = dict(
                conn.execute(
                    "SELECT external_id, count(*) FROM inbox_message WHERE direction = 'in' GROUP BY external_id"
                ).fetchall()
            )
            outbound = dict(
                conn.execute(
                    "SELECT external_id, count(*) FROM inbox_message WHERE direction = 'out' GROUP BY external_id"
                ).fetchall()
            )
            raw = dict(conn.execute("SELECT state, count(*) FROM ingest_rawevent GROUP BY state").fetchall())
            rows = conn.execute("SELECT client_key, state, attempts, external_id FROM inbox_reply ORDER BY id")
            replies = [dict(zip(("key", "state", "attempts", "external_id"), row, strict=True)) for row in rows]
        return {"inbound": inbound, "outbound": outbound, "raw": raw, "replies": replies}


def fleet_env(data_dir: Path, database_url: str, redis_url: str, queue: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUBBUB_", "PROMETHEUS_"))}
    return env | {
        "HUBBUB_DATA_DIR": str(data_dir),
        "HUBBUB_SECRET_KEY": "faults-secret",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "HUBBUB_QUEUE_NAME": queue,
        "HUBBUB_X_CONSUMER_SECRET": X_SECRET,
        "HUBBUB_METRICS_TOKEN": METRICS_TOKEN,
        # what a dead worker left is taken over sooner than by default (60 s and 300 s). The reclaim's delay stays
        # far above a live attempt's time even on a starved machine: at 5 s, a slow attempt was reclaimed while
        # it was still posting, and the reply went out twice (what the delay's rule in delivery.py forbids).
        "HUBBUB_SWEEP_AFTER_SECONDS": "5",
        "HUBBUB_REPLY_STUCK_AFTER": str(REPLY_STUCK_AFTER),
        "HUBBUB_LOG_FORMAT": "plain",
    }


class Traffic:
    """Mentions (signed X webhooks, a few tweets each) and agents' replies (the REST API) sent continuously
    from threads until `stop`, each retried until Hubbub acknowledges it, as X and an API client do."""

    def __init__(self, fleet: Fleet, tweets_per_delivery: int = 5, delivery_gap: float = 0.1) -> None:
        self.fleet = fleet
        self.hook = XWebhook(X_SECRET, fleet.brand)
        self.per_delivery = tweets_per_delivery
        self.gap = delivery_gap
        self.sent_tweets: list[str] = []
        self.reply_texts: dict[str, str] = {}  # idempotency key -> text
        self.retries = Counter[str]()
        self.conversations: list[int] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._customers = itertools.cycle([fleet.x.add_user(f"cust{i}") for i in range(40)])

    def mentions(self, n: int) -> None:
        """Send `n` tweets now (in deliveries), each until answered 200."""
        while n > 0:
            batch = [self._tweet() for _ in range(min(n, self.per_delivery))]
            self._deliver(batch)
            n -= len(batch)

    def _tweet(self) -> Tweet:
        customer: User = next(self._customers)
        tweet = self.fleet.x.tweet(
            customer, f"@AcmeAir my flight is late again ({customer.username})", mentions=(self.fleet.brand,)
        )
        return tweet

    def _deliver(self, tweets: list[Tweet]) -> None:
        body, headers = self.hook.tweets(*tweets)
        while http(self.fleet.base + "/hooks/x/", body, headers)[0] != 200:
            self.retries["mentions"] += 1
            time.sleep(0.5)
        self.sent_tweets.extend(t.id for t in tweets)

    def wait_conversations(self, at_least: int) -> None:
        deadline = time.monotonic() + START_DEADLINE
        while time.monotonic() < deadline:
            status, body = http(self.fleet.base + "/api/v1/conversations?limit=100", headers=self._auth())
            if status == 200:
                self.conversations = [c["id"] for c in json.loads(body)["items"]]
                if len(self.conversations) >= at_least:
                    return
            time.sleep(0.5)
        raise AssertionError(f"only {len(self.conversations)} conversations after {START_DEADLINE} s")

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.fleet.setup['token']}"}

    def reply(self, n: int) -> None:
        key = f"faults-{len(self.reply_texts)}"
        conversation = self.conversations[n % len(self.conversations)]
        text = f"Sorry about that, we are looking into it (ref {key})."
        body = json.dumps({"text": text}).encode()
        headers = self._auth() | {"Content-Type": "application/json", "Idempotency-Key": key}
        url = f"{self.fleet.base}/api/v1/conversations/{conversation}/replies"
        while http(url, body, headers)[0] != 201:
            self.retries["replies"] += 1
            time.sleep(0.5)
        self.reply_texts[key] = text

    def start(self, reply_gap: float = 0.5) -> Traffic:
        def mentions() -> None:
            while not self._stop.is_set():
                self.mentions(self.per_delivery)
                time.sleep(self.gap)

        def replies() -> None:
            for n in itertools.count():
                if self._stop.is_set():
                    return
                self.reply(n)
                time.sleep(reply_gap)

        self._threads = [threading.Thread(target=mentions, daemon=True), threading.Thread(target=replies, daemon=True)]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop sending; what was in flight is retried until acknowledged first."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=DRAIN_DEADLINE)


@dataclass
class Counts:
    mentions_sent: int
    mentions_lost: int
    mentions_duplicated: int
    replies_sent: int
    replies_lost: int
    replies_posted_twice: int
    replies_recorded_twice: int
    pending: int

    @property
    def clean(self) -> bool:
        return not (
            self.mentions_lost
            or self.mentions_duplicated
            or self.replies_lost
            or self.replies_posted_twice
            or self.replies_recorded_twice
            or self.pending
        )


def count(fleet: Fleet, traffic: Traffic) -> Counts:
    """What was sent against what Hubbub holds and what X received."""
    held = fleet.report()
    inbound: dict[str, int] = held["inbound"]
    posted = Counter(t.text for t in list(fleet.x.tweets) if t.author.id == fleet.brand.id)
    replies = {r["key"]: r for r in held["replies"]}  # the API stores the Idempotency-Key as "api:<key>"
    sent_replies = [r for r in held["replies"] if r["state"] == "sent"]
    return Counts(
        mentions_sent=len(traffic.sent_tweets),
        mentions_lost=sum(1 for t in traffic.sent_tweets if t not in inbound),
        mentions_duplicated=sum(n - 1 for n in inbound.values() if n > 1),
        replies_sent=len(traffic.reply_texts),
        replies_lost=sum(
            1
            for key, text in traffic.reply_texts.items()
            if replies.get(f"api:{key}", {}).get("state") != "sent" or posted[text] == 0
        ),
        replies_posted_twice=sum(1 for text in traffic.reply_texts.values() if posted[text] > 1),
        replies_recorded_twice=sum(1 for r in sent_replies if held["outbound"].get(r["external_id"], 0) > 1),
        pending=int(held["raw"].get("pending", 0)),
    )


def drained(fleet: Fleet, traffic: Traffic, deadline: float = DRAIN_DEADLINE) -> Counts:
    """Wait until the backlog is gone (nothing pending, every reply sent) or the deadline; the counts then."""
    end = time.monotonic() + deadline
    while True:
        counts = count(fleet, traffic)
        if counts.clean or time.monotonic() > end:
            return counts
        time.sleep(2)
