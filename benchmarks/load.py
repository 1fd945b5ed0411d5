"""Load test of a small fleet on PostgreSQL and Redis: mentions arrive through the ingest API (X webhooks) at a
sustained rate while simulated agents read the inbox, open conversations and reply.

    python benchmarks/load.py [--rate 1500] [--seconds 60] [--per-delivery 50] [--agents 20] [--web 2]
                              [--workers 2] [--drain-seconds 120]

Loopback only, bounded in time and count (`--seconds` of sending, at most `--rate × --seconds` mentions, then
at most `--drain-seconds` for the backlog). It starts, on a fresh database `hubbub_load` and Redis database
`--redis-db` (emptied first; no other database of the server is touched):

* `hubbub serve --no-worker --workers N` (the web processes) and N × `hubbub worker --concurrency 2`;
* a fake X API on loopback that takes the agents' replies (POST /2/tweets) and lists them back (the
  connector's "was it posted?" check), counting every post: a reply posted twice shows there;
* a sender that posts signed X Account Activity deliveries (`--per-delivery` mentions each, as X batches
  them) to `/hooks/x/`, paced to `--rate`;
* `--agents` agents who sign in, then loop: inbox list, open a conversation, reply to one in three.

Measured: the sustained end-to-end rate (mentions answered 200 and stored in the inbox, over the time from
the first delivery to the last stored), ingest-to-inbox latency per mention (sent → its message row is
visible, polled every 0.2 s: figures are up to 0.2 s pessimistic), inbox page latency under load, the task
queue's depth every 0.5 s (plotted to docs/img/load_queue_depth.png), CPU and memory per process; then
lost and duplicated mentions and replies. Writes benchmarks/results/load.json, merging the figures the
ingest and 1M-reports benchmarks measured (their JSON files) under the names the issue gives
(`--merge-only` refreshes just those after a new run of either).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PLOT = ROOT / "docs" / "img" / "load_queue_depth.png"
PG_ADMIN = os.environ.get("HUBBUB_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("HUBBUB_BENCH_REDIS", "redis://127.0.0.1:6379")
HUBBUB = [sys.executable, "-m", "hubbub"]
X_SECRET = "load-x-consumer-secret"
ACCOUNT = "4242"
PASSWORD = "x-load-agent-12345"


class FakeXReplies(ThreadingHTTPServer):
    """Just the X API v2 the reply path calls: POST /2/tweets and GET /2/users/<id>/tweets, on loopback."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _XHandler)
        self.lock = threading.Lock()
        self.tweets: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _XHandler(BaseHTTPRequestHandler):
    server: FakeXReplies
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        pass

    def _answer(self, status: int, data: Any) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        data = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
        with self.server.lock:
            tweet = {
                "id": str(1_990_000_000_000_000_000 + len(self.server.tweets)),
                "text": data.get("text", ""),
                "referenced_tweets": [{"type": "replied_to", "id": data.get("reply", {}).get("in_reply_to_tweet_id")}],
            }
            self.server.tweets.append(tweet)
        self._answer(201, {"data": {"id": tweet["id"], "text": tweet["text"]}})

    def do_GET(self) -> None:  # noqa: N802
        if "/mentions" in self.path:  # the channel's poll: mentions come by webhook here
            self._answer(200, {"data": [], "meta": {"result_count": 0}})
            return
        with self.server.lock:
            recent = list(reversed(self.server.tweets[-100:]))
        self._answer(200, {"data": recent})


def _sql(url: str, statements: list[str]) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _setup(database_url: str, data_dir: str, agents: int, fake_url: str) -> None:
    """Migrate and seed in a child process (Django configured for the fleet's database)."""
    code = f"""
import sys; sys.path.insert(0, {str(ROOT / "benchmarks")!r})
from _common import setup_django
setup_django({data_dir!r}, {database_url!r})
from django.contrib.auth import get_user_model
from hubbub.connectors.models import Channel
from hubbub.tenancy.models import Brand, Membership, Organization
org = Organization.objects.create(slug="load", name="Load")
brand = Brand.objects.create(organization=org, name="Acme Air", slug="acmeair", handles=["acmeair"])
channel = Channel(organization=org, brand=brand, network="x", name="@acmeair")
channel.account_id = {ACCOUNT!r}
channel.credentials = {{"access_token": "t", "user_id": {ACCOUNT!r}, "api_url": {fake_url!r}}}
channel.save()
for i in range({agents}):
    user = get_user_model().objects.create_user(f"agent{{i}}", password={PASSWORD!r})
    Membership.objects.create(user=user, organization=org, role="agent")
"""
    subprocess.run([sys.executable, "-c", code], check=True, env=os.environ.copy())


def _deliveries(rate: float, seconds: float, per: int) -> list[tuple[float, list[str], bytes, dict[str, str]]]:
    """(offset from the start, tweet ids, body, headers) for every delivery, signed before the clock starts."""
    out = []
    count = int(rate * seconds)
    rng = random.Random(16)
    for start in range(0, count, per):
        tweets = []
        for i in range(start, min(start + per, count)):
            tid = str(1_900_000_000_000_000_000 + i)
            user = rng.randrange(20_000)
            tweets.append(
                {
                    "created_at": time.strftime("%a %b %d %H:%M:%S +0000 %Y", time.gmtime()),
                    "id_str": tid,
                    "text": f"@acmeair my bag {i} never arrived, flight AC{i % 900} #{rng.choice(['delay', 'bags'])}",
                    "user": {"id_str": str(5000 + user), "screen_name": f"cust{user}", "name": f"Customer {user}"},
                    "lang": "en",
                }
            )
        body = json.dumps({"for_user_id": ACCOUNT, "tweet_create_events": tweets}).encode()
        sig = "sha256=" + base64.b64encode(hmac.new(X_SECRET.encode(), body, hashlib.sha256).digest()).decode()
        headers = {"content-type": "application/json", "x-twitter-webhooks-signature": sig}
        out.append((start / rate, [t["id_str"] for t in tweets], body, headers))
    return out


async def _send(base: str, plan: list[Any], sent: dict[str, float], acked: set[str], stats: Counter[str]) -> None:
    """Post every delivery at its time (several in flight at once, so one slow answer does not hold the pace)."""
    import httpx

    t0 = time.time()
    limit = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:

        async def one(offset: float, ids: list[str], body: bytes, headers: dict[str, str]) -> None:
            await asyncio.sleep(max(0.0, t0 + offset - time.time()))
            async with limit:
                stamp = time.time()
                for tid in ids:
                    sent[tid] = stamp
                try:
                    res = await client.post("/hooks/x/", content=body, headers=headers)
                    stats[str(res.status_code)] += 1
                    if res.status_code == 200:
                        acked.update(ids)
                except httpx.HTTPError as exc:
                    stats[type(exc).__name__] += 1

        await asyncio.gather(*(one(*d) for d in plan))


class Agent:
    """One simulated agent: signs in, then inbox → a conversation → (one time in three) a reply, with a short
    think time between pages. Inbox timings are kept; every reply's text is unique, to count it later."""

    def __init__(self, base: str, index: int, inbox_ms: list[float], replies: list[str]) -> None:
        self.base, self.index, self.inbox_ms, self.replies = base, index, inbox_ms, replies

    async def login(self) -> None:
        """Sign in before the clock starts (password hashing is start-up cost, not the inbox's)."""
        import httpx

        self.client = httpx.AsyncClient(base_url=self.base, timeout=30, follow_redirects=True)
        page = await self.client.get("/login/")
        res = await self.client.post(
            "/login/",
            data={"username": f"agent{self.index}", "password": PASSWORD, "csrfmiddlewaretoken": _csrf(page.text)},
            headers={"referer": self.base + "/login/"},
        )
        assert res.url.path == "/", f"agent{self.index} could not sign in ({res.status_code} at {res.url.path})"

    async def run(self, until: float) -> None:
        rng = random.Random(self.index)
        client, n = self.client, 0
        while time.time() < until:
            t = time.perf_counter()
            inbox = await client.get("/")
            self.inbox_ms.append((time.perf_counter() - t) * 1000)
            ids = re.findall(r'href="/c/(\d+)/"', inbox.text)
            if ids:
                conv = rng.choice(ids[:25])
                thread = await client.get(f"/c/{conv}/")
                if rng.random() < 1 / 3 and thread.status_code == 200:
                    n += 1
                    text = f"Sorry about that, agent {self.index} reply {n}: DM us your booking reference."
                    form = {"text": text, "csrfmiddlewaretoken": _csrf(thread.text)}
                    form_token = re.search(r'name="form_token" value="([^"]+)"', thread.text)
                    if form_token:
                        form["form_token"] = form_token.group(1)
                    res = await client.post(f"/c/{conv}/reply/", data=form, headers={"referer": self.base + "/"})
                    if res.status_code < 400:
                        self.replies.append(text)
            await asyncio.sleep(rng.uniform(0.5, 1.5))
        await client.aclose()


def _csrf(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    return found.group(1) if found else ""


class Watch(threading.Thread):
    """Samples while the load runs: new inbound messages (when each mention became visible in the inbox), the
    task queue's depth, and CPU and memory of every process of the fleet."""

    def __init__(self, database_url: str, redis_url: str, procs: dict[str, Any]) -> None:
        super().__init__(daemon=True)
        import psutil
        import redis

        self.database_url, self.procs = database_url, procs
        self.redis = redis.Redis.from_url(redis_url)
        self.seen: dict[str, float] = {}
        self.depth: list[tuple[float, int]] = []
        self.usage: dict[str, list[tuple[float, float]]] = {}  # role → (cpu %, rss MB) samples
        self.stop = threading.Event()
        self._ps = {role: psutil.Process(p.pid) for role, p in procs.items()}
        self._cpu_seen: dict[int, Any] = {}

    def run(self) -> None:
        import psycopg

        last_id, tick = 0, 0
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            while not self.stop.is_set():
                rows = conn.execute(
                    "SELECT id, external_id FROM inbox_message WHERE id > %s AND direction = 'in' ORDER BY id",
                    [last_id],
                ).fetchall()
                now = time.time()
                for pk, ext in rows:
                    self.seen.setdefault(ext, now)
                    last_id = max(last_id, pk)
                tick += 1
                if tick % 5 == 0:
                    self._sample(now)
                if tick % 10 == 0:
                    self._sample_processes()
                self.stop.wait(0.1)

    def _sample(self, now: float) -> None:
        self.depth.append((now, int(self.redis.llen("huey.redis.hubbub"))))

    def _sample_processes(self) -> None:
        import psutil

        groups: dict[str, list[Any]] = {role: [p, *p.children(recursive=True)] for role, p in self._ps.items()}
        groups["postgresql"] = [p for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]
        groups["redis"] = [p for p in psutil.process_iter(["name"]) if (p.info["name"] or "").startswith("redis")]
        for role, members in groups.items():
            cpu = rss = 0.0
            for p in members:
                try:
                    cached = self._cpu_seen.setdefault(p.pid, p)
                    cpu += cached.cpu_percent(None)
                    rss += p.memory_info().rss / 2**20
                except psutil.Error:
                    continue
            self.usage.setdefault(role, []).append((cpu, rss))


def _start(args: argparse.Namespace, env: dict[str, str], port: int) -> dict[str, Any]:
    """The fleet: the web processes (one supervisor, N children) and N workers, each logging to a file."""
    logs = Path(env["HUBBUB_DATA_DIR"])
    procs: dict[str, Any] = {}
    web = [*HUBBUB, "serve", "--no-worker", "--workers", str(args.web), "--port", str(port)]
    procs["web"] = subprocess.Popen(web, env=env, stdout=open(logs / "web.log", "w"), stderr=subprocess.STDOUT)
    for i in range(args.workers):
        cmd = [*HUBBUB, "worker", "--concurrency", "2"]
        log = open(logs / f"worker{i}.log", "w")
        procs[f"worker{i}"] = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    import httpx

    deadline = time.time() + 600  # a loaded machine takes minutes to migrate and import everything
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            if time.time() > deadline or procs["web"].poll() is not None:
                _stop(procs)
                raise SystemExit(f"the web processes did not answer; see {logs / 'web.log'}") from None
            time.sleep(1)
    time.sleep(10)  # the workers load the model (warm_up_worker) before they take tasks
    return procs


def _stop(procs: dict[str, Any]) -> None:
    for proc in procs.values():
        proc.terminate()
    for proc in procs.values():
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered))) - 1))]


async def _drive(args: argparse.Namespace, base: str) -> dict[str, Any]:
    plan = _deliveries(args.rate, args.seconds, args.per_delivery)
    sent: dict[str, float] = {}
    acked: set[str] = set()
    stats: Counter[str] = Counter()
    inbox_ms: list[float] = []
    replies: list[str] = []
    agents = [Agent(base, i, inbox_ms, replies) for i in range(args.agents)]
    for agent in agents:  # one at a time: 20 password hashes at once would be a load test of their own
        await agent.login()
    t0 = time.time()
    until = t0 + args.seconds
    await asyncio.gather(_send(base, plan, sent, acked, stats), *(agent.run(until) for agent in agents))
    return {"sent": sent, "acked": acked, "stats": stats, "inbox_ms": inbox_ms, "replies": replies, "t0": t0}


def _drain(watch: Watch, acked: set[str], seconds: float) -> float:
    """Wait (at most `seconds`) until every acknowledged mention is in the inbox; the time it was reached."""
    deadline = time.time() + seconds
    while time.time() < deadline and not acked <= watch.seen.keys():
        time.sleep(0.5)
    return max(watch.seen.values(), default=time.time())


def _replies_outcome(database_url: str, fake: FakeXReplies, replies: list[str], seconds: float) -> dict[str, int]:
    """Replies the agents submitted: each stored once, sent, and posted to the network exactly once."""
    import psycopg

    deadline = time.time() + seconds
    with psycopg.connect(database_url, autocommit=True) as conn:
        while time.time() < deadline:
            waiting = conn.execute("SELECT count(*) FROM inbox_reply WHERE state IN ('approved', 'sending')")
            if waiting.fetchone()[0] == 0:  # type: ignore[index]
                break
            time.sleep(1)
        rows = conn.execute("SELECT text, state FROM inbox_reply").fetchall()
    stored = Counter(text for text, _ in rows)
    sent = {text for text, state in rows if state == "sent"}
    posted = Counter(t["text"] for t in fake.tweets)
    return {
        "replies_submitted": len(replies),
        "replies_sent": len(sent),
        "duplicate_replies": sum(n - 1 for n in posted.values() if n > 1)
        + sum(n - 1 for n in stored.values() if n > 1),
        "lost_replies": sum(1 for text in replies if text not in sent or posted[text] == 0),
    }


def _plot(depth: list[tuple[float, int]], seen: dict[str, float], t0: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.plot([t - t0 for t, _ in depth], [d for _, d in depth], label="task queue depth (tasks)")
    per_second = Counter(int(t - t0) for t in seen.values())
    xs = sorted(per_second)
    ax2 = ax.twinx()
    ax2.plot(xs, [per_second[x] for x in xs], color="tab:orange", alpha=0.7, label="mentions into the inbox /s")
    ax.set_xlabel("seconds since the first delivery")
    ax.set_ylabel("tasks waiting")
    ax2.set_ylabel("mentions/s stored")
    fig.legend(loc="upper right")
    fig.tight_layout()
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(PLOT, dpi=100)


def _process_table(usage: dict[str, list[tuple[float, float]]]) -> dict[str, dict[str, float]]:
    """Mean CPU (% of one core) and peak RSS (MB) per role over the run."""
    return {
        role: {
            "cpu_pct_mean": round(sum(c for c, _ in samples) / len(samples), 1),
            "rss_mb_peak": round(max(r for _, r in samples), 1),
        }
        for role, samples in usage.items()
        if samples
    }


def _earlier(name: str) -> dict[str, Any]:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _measured_elsewhere() -> dict[str, Any]:
    """The figures of the issue that `benchmarks/ingest.py` and `benchmarks/reports_1m.py` measure."""
    ingest, reports = _earlier("ingest"), _earlier("reports_1m")
    return {
        "pg_worker_mentions_per_s": ingest.get("ingest_postgres_1_workers_mentions_per_s"),
        "throughput_by_workers": {
            str(n): ingest[f"ingest_postgres_{n}_workers_mentions_per_s"]
            for n in (1, 2, 4, 8)
            if f"ingest_postgres_{n}_workers_mentions_per_s" in ingest
        },
        "report_p95_ms_1m": reports.get("report_p95_ms_1m"),
        "export_peak_rss_mb": reports.get("export_peak_rss_mb"),
    }


def _summary(args: argparse.Namespace, run: dict[str, Any], watch: Watch, last: float) -> dict[str, Any]:
    sent, acked, seen = run["sent"], run["acked"], watch.seen
    stored = [tid for tid in acked if tid in seen]
    latencies = [seen[tid] - sent[tid] for tid in stored]
    return {
        "target_mentions_per_s": args.rate,
        "send_seconds": args.seconds,
        "mentions_sent": len(sent),
        "mentions_acked": len(acked),
        "delivery_statuses": dict(run["stats"]),
        "sustained_mentions_per_s": round(len(stored) / max(1e-9, last - run["t0"]), 1),
        "ingest_to_inbox_p50_s": _round(_percentile(latencies, 0.50), 2),
        "ingest_to_inbox_p95_s": _round(_percentile(latencies, 0.95), 2),
        "ingest_to_inbox_p99_s": _round(_percentile(latencies, 0.99), 2),
        "inbox_requests": len(run["inbox_ms"]),
        "inbox_p50_ms_under_load": _round(_percentile(run["inbox_ms"], 0.50), 1),
        "inbox_p95_ms_under_load": _round(_percentile(run["inbox_ms"], 0.95), 1),
        "queue_depth_max": max((d for _, d in watch.depth), default=0),
        **_measured_elsewhere(),
        "processes": _process_table(watch.usage),
    }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1500, help="mentions per second sent")
    parser.add_argument("--seconds", type=float, default=60, help="how long mentions are sent")
    parser.add_argument("--per-delivery", type=int, default=50, help="mentions per webhook delivery")
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--web", type=int, default=2, help="web processes")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--drain-seconds", type=float, default=120)
    parser.add_argument("--redis-db", type=int, default=13, help="a Redis database of its own (emptied)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--merge-only",
        action="store_true",
        help="refresh only the figures taken from ingest.json, reports_1m.json",
    )
    args = parser.parse_args()
    if args.merge_only:
        path = RESULTS / "load.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), **_measured_elsewhere()}, indent=2) + "\n")
        print(path.read_text())
        return

    import redis

    database = PG_ADMIN.rsplit("/", 1)[0] + "/hubbub_load"
    _sql(PG_ADMIN, ["DROP DATABASE IF EXISTS hubbub_load", "CREATE DATABASE hubbub_load"])
    redis_url = f"{REDIS}/{args.redis_db}"
    redis.Redis.from_url(redis_url).flushdb()
    data_dir = tempfile.mkdtemp(prefix="hubbub-load-")
    fake = FakeXReplies()
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "REDIS_URL": redis_url,
        "HUBBUB_DATA_DIR": data_dir,
        "HUBBUB_SECRET_KEY": os.environ.get("HUBBUB_SECRET_KEY", "load-test-secret-key"),
        "HUBBUB_X_CONSUMER_SECRET": X_SECRET,
        "HUBBUB_OUTBOUND_ALLOW": "127.0.0.1",
    }
    env.pop("HUBBUB_TASKS_IMMEDIATE", None)
    os.environ.update({k: env[k] for k in ("HUBBUB_SECRET_KEY", "HUBBUB_X_CONSUMER_SECRET")})
    _setup(database, data_dir, args.agents, fake.url)
    procs = _start(args, env, args.port)
    watch = Watch(database, redis_url, procs)
    watch.start()
    try:
        run = asyncio.run(_drive(args, f"http://127.0.0.1:{args.port}"))
        last = _drain(watch, run["acked"], args.drain_seconds)
        outcome = _replies_outcome(database, fake, run["replies"], 60)
    finally:
        watch.stop.set()
        watch.join(timeout=5)
        _stop(procs)
    import psycopg

    with psycopg.connect(database) as conn:
        dupes = conn.execute("SELECT count(*) - count(DISTINCT (network, external_id)) FROM inbox_message").fetchone()
        raw = {r[0] for r in conn.execute("SELECT external_id FROM ingest_rawevent WHERE network = 'x'")}
    results = {**_summary(args, run, watch, last), "duplicate_events": int(dupes[0]) if dupes else 0, **outcome}
    # Lost: answered 200 but neither in the raw log nor in the inbox. Not yet in the inbox when the drain
    # time ran out is a backlog, counted apart (the raw log keeps it for the workers).
    results["lost_events"] = sum(1 for tid in run["acked"] if tid not in raw and tid not in watch.seen)
    results["backlog_after_drain"] = sum(1 for tid in run["acked"] if tid not in watch.seen)
    _plot(watch.depth, watch.seen, run["t0"])
    (RESULTS / "load.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    for log in Path(data_dir).glob("*.log"):  # the processes' logs outlive the run, for a look afterwards
        shutil.copy(log, Path(tempfile.gettempdir()) / f"hubbub-load-{log.name}")
    shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
