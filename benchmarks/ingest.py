"""Foundation benchmark: ingest throughput (SQLite, PostgreSQL), inbox list latency, demo start-up and memory.

    python benchmarks/ingest.py [--mentions 50000] [--inbox-mentions 200000] [--skip-demo] [--skip-inbox]
                                [--pg-workers 1 2]

Self-contained: every measurement runs in a child process with its own temporary
HUBBUB_DATA_DIR (and, for PostgreSQL, its own database), using the real airline
tweets packaged for the demo, replicated with fresh ids to reach the volume asked.
On PostgreSQL it also runs 1 and 2 worker processes at once on the same pending events (`--pg-workers`) and
reports, besides the rate, the CPU each mention costs the worker and its database backend: on a shared
machine the wall-clock rate says more about the neighbours than about the code.
Prints the figures and writes benchmarks/results/ingest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "ingest.json"

from _common import replicated_airline_events as _events  # noqa: E402
from _common import seed_airline_org  # noqa: E402
from _common import setup_django as _setup_django  # noqa: E402

PG_ADMIN = os.environ.get("HUBBUB_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")


def child_ingest(n: int, database_url: str | None) -> dict[str, float]:
    data_dir = tempfile.mkdtemp(prefix="hubbub-bench-")
    _setup_django(data_dir, database_url)
    from django.conf import settings

    from hubbub.ingest.services import accept, process_batch
    from hubbub.runtime import warm_up_worker

    org, _ = seed_airline_org()
    warm_up_worker()  # as the worker starts: model load is start-up cost, not throughput
    events = _events(n)
    t0 = time.perf_counter()
    raw_ids: list[int] = []
    for i in range(0, len(events), 2000):
        raw_ids += accept(org.pk, events[i : i + 2000], "bench").raw_ids
    t_accept = time.perf_counter() - t0
    t1 = time.perf_counter()
    cpu1 = time.process_time()
    for i in range(0, len(raw_ids), settings.INGEST_BATCH_SIZE):
        process_batch(raw_ids[i : i + settings.INGEST_BATCH_SIZE])
    t_worker = time.perf_counter() - t1
    cpu_worker = time.process_time() - cpu1
    total = time.perf_counter() - t0
    from hubbub.inbox.models import Message

    stored = Message.objects.count()
    shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "mentions": n,
        "stored": stored,
        "seconds": total,
        "accept_seconds": t_accept,
        "worker_seconds": t_worker,
        # the worker's road: committed raw event → analysed, threaded, routed, stored, rolled up
        "mentions_per_s": n / t_worker,
        "worker_cpu_mentions_per_s": n / cpu_worker,
        # the same plus committing the raw events first, in the same process (importer + worker in one)
        "end_to_end_mentions_per_s": n / total,
    }


def child_prepare(n: int, database_url: str) -> dict[str, float]:
    """PostgreSQL: migrate, seed and commit n raw events (accept), so the workers measured next only process."""
    data_dir = tempfile.mkdtemp(prefix="hubbub-bench-")
    _setup_django(data_dir, database_url)
    from hubbub.ingest.services import accept

    org, _ = seed_airline_org()
    events = _events(n)
    accepted = 0
    for i in range(0, len(events), 2000):
        accepted += accept(org.pk, events[i : i + 2000], "bench").accepted
    shutil.rmtree(data_dir, ignore_errors=True)
    return {"accepted": accepted}


def _backend_cpu_seconds() -> float:
    """CPU time of this connection's PostgreSQL backend process (the server runs on this machine): the
    database's share of a batch, which wall time on a shared machine hides."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_work(database_url: str, index: int, workers: int, threads: int) -> dict[str, float]:
    """One worker of `workers`: takes every `workers`-th batch of the pending raw events, as Huey's workers
    would take tasks, after a start signal on stdin so all workers start together, warm. `threads` consumer
    threads share them, as `hubbub worker --concurrency` runs them: while one waits for the database, the
    other analyses its batch (the GIL is released during the wait)."""
    data_dir = tempfile.mkdtemp(prefix="hubbub-bench-")
    _setup_django(data_dir, database_url)
    from concurrent.futures import ThreadPoolExecutor

    from django.conf import settings
    from django.db import connection

    from hubbub.ingest.models import RawEvent
    from hubbub.ingest.services import process_batch
    from hubbub.runtime import warm_up_worker

    warm_up_worker()
    ids = list(RawEvent.objects.filter(state=RawEvent.State.PENDING).order_by("id").values_list("id", flat=True))
    connection.close()
    size = settings.INGEST_BATCH_SIZE
    mine = [ids[i : i + size] for i in range(0, len(ids), size)][index::workers]
    start = threading.Event()

    def consume(batches: list[list[int]]) -> tuple[int, float, int]:
        from django.db import OperationalError

        server0 = _backend_cpu_seconds()
        start.wait()
        done = retries = 0
        for batch in batches:
            for _ in range(5):  # as the task engine retries a batch the database refused (a deadlock)
                try:
                    done += process_batch(batch).processed
                    break
                except OperationalError:
                    retries += 1
        server = _backend_cpu_seconds() - server0
        connection.close()
        return done, server, retries

    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(consume, mine[t::threads]) for t in range(threads)]
        time.sleep(1)  # every thread has its connection
        print("ready", flush=True)
        sys.stdin.readline()
        t0, cpu0 = time.perf_counter(), time.process_time()
        start.set()
        outs = [f.result() for f in futures]
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "processed": sum(o[0] for o in outs),
        "seconds": wall,
        "cpu_seconds": cpu,
        "server_cpu_seconds": sum(o[1] for o in outs),
        "retries": sum(o[2] for o in outs),
    }


def measure_pg_workers(n: int, workers: int, threads: int) -> dict[str, float] | None:
    """n mentions processed by `workers` worker processes (of `threads` consumer threads) at once on a fresh
    PostgreSQL database."""
    database = _pg_database()
    if database is None:
        return None
    _run_child(["--child", "prepare", "--mentions", str(n), "--database-url", database])
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--child", "work", "--database-url", database, "--index", str(i)]
            + ["--workers", str(workers), "--threads", str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(workers)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    t0 = time.perf_counter()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outs = [json.loads(proc.communicate(timeout=1800)[0].strip().splitlines()[-1]) for proc in procs]
    wall = time.perf_counter() - t0
    processed = sum(o["processed"] for o in outs)
    return {
        "workers": workers,
        "threads": threads,
        "processed": processed,
        "seconds": wall,
        "mentions_per_s": processed / wall,
        # per mention, whatever the machine's other load: the worker's own CPU and its database backend's
        "worker_cpu_us": 1e6 * sum(o["cpu_seconds"] for o in outs) / processed,
        "server_cpu_us": 1e6 * sum(o["server_cpu_seconds"] for o in outs) / processed,
        "retries": sum(o["retries"] for o in outs),
    }


def child_inbox(n: int) -> dict[str, float]:
    data_dir = tempfile.mkdtemp(prefix="hubbub-bench-")
    _setup_django(data_dir)
    from django.test import Client

    from hubbub.inbox.models import Conversation
    from hubbub.ingest.services import accept, process_batch
    from hubbub.tenancy.models import Brand

    org, user = seed_airline_org()
    events = _events(n)
    for i in range(0, len(events), 5000):
        ids = accept(org.pk, events[i : i + 5000], "bench").raw_ids
        for j in range(0, len(ids), 1000):
            process_batch(ids[j : j + 1000])
    client = Client()
    client.force_login(user)
    brand = Brand.objects.filter(organization=org, slug="united").first()
    urls = [
        "/",
        "/?sort=urgent",
        "/?sentiment=negative",
        f"/?brand={brand.pk}",
        "/?status=",
        "/?assignee=none",
        f"/?brand={brand.pk}&sentiment=negative&sort=urgent",
        "/?sort=sla",
    ]
    # a deep page: follow the cursor 20 pages in
    import re

    url = "/"
    for _ in range(20):
        body = client.get(url).content.decode()
        m = re.search(r'class="more" href="([^"]+)"', body)
        url = "/" + m.group(1).replace("&amp;", "&")
    urls.append(url)
    timings: list[float] = []
    for _ in range(8):
        for u in urls:
            t = time.perf_counter()
            r = client.get(u)
            timings.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, (u, r.status_code)
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    stored = Conversation.objects.count()
    shutil.rmtree(data_dir, ignore_errors=True)
    return {"mentions": n, "conversations": stored, "p95_ms": p95, "median_ms": statistics.median(timings)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure_demo() -> dict[str, float]:
    import psutil

    hubbub = [sys.executable, "-m", "hubbub"]
    data_dir = tempfile.mkdtemp(prefix="hubbub-demo-")
    env = {**os.environ, "HUBBUB_DATA_DIR": data_dir}
    env.pop("DATABASE_URL", None)
    t0 = time.perf_counter()
    out = subprocess.run([*hubbub, "demo", "--no-serve"], env=env, capture_output=True, text=True, check=True)
    ready = time.perf_counter() - t0
    reported = json.loads(out.stdout.strip().splitlines()[-1])
    # serve the (already loaded) demo with live replay and watch its memory while it works
    port = _free_port()
    proc = subprocess.Popen(
        [*hubbub, "demo", "--port", str(port), "--speed", "3600"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ps = psutil.Process(proc.pid)
    peak = 0.0
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    up = False
    while time.time() < deadline:
        try:
            rss = ps.memory_info().rss + sum(c.memory_info().rss for c in ps.children(recursive=True))
            peak = max(peak, rss / 2**20)
        except psutil.Error:
            break
        if not up:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                up = True
                deadline = time.time() + 45  # replay runs; keep sampling
            except OSError:
                pass
        else:
            for path in ("/login/", "/api/openapi.json"):
                try:
                    urllib.request.urlopen(base + path, timeout=5).read()
                except OSError:
                    pass
        time.sleep(0.5)
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "demo_ready_s": ready,
        "demo_ready_reported_s": reported["demo_ready_s"],
        "demo_peak_rss_mb": peak,
        "served": float(up),
    }


def _pg_database() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute("DROP DATABASE IF EXISTS hubbub_bench")
            conn.execute("CREATE DATABASE hubbub_bench")
        return PG_ADMIN.rsplit("/", 1)[0] + "/hubbub_bench"
    except Exception as exc:  # noqa: BLE001
        print(f"PostgreSQL not available ({exc}); skipping the PostgreSQL figure", file=sys.stderr)
        return None


def _run_child(args: list[str]) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mentions", type=int, default=50_000)
    parser.add_argument("--inbox-mentions", type=int, default=200_000)
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--pg-workers", type=int, nargs="*", default=[1, 2], help="worker processes at once")
    parser.add_argument("--skip-inbox", action="store_true")
    parser.add_argument("--child", choices=["ingest", "inbox", "prepare", "work"])
    parser.add_argument("--database-url")
    parser.add_argument("--index", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2, help="consumer threads per worker (hubbub worker's default)")
    args = parser.parse_args()
    if args.child == "prepare":
        print(json.dumps(child_prepare(args.mentions, args.database_url)))
        return
    if args.child == "work":
        print(json.dumps(child_work(args.database_url, args.index, args.workers, args.threads)))
        return
    if args.child == "ingest":
        print(json.dumps(child_ingest(args.mentions, args.database_url)))
        return
    if args.child == "inbox":
        print(json.dumps(child_inbox(args.inbox_mentions)))
        return

    results: dict[str, float] = {}
    print(f"ingest on SQLite: {args.mentions:,} mentions…", flush=True)
    sqlite = _run_child(["--child", "ingest", "--mentions", str(args.mentions)])
    results["ingest_mentions_per_s_sqlite"] = round(sqlite["mentions_per_s"], 1)
    results["ingest_end_to_end_mentions_per_s_sqlite"] = round(sqlite["end_to_end_mentions_per_s"], 1)
    results["ingest_worker_cpu_mentions_per_s_sqlite"] = round(sqlite["worker_cpu_mentions_per_s"], 1)
    print(
        f"  worker {sqlite['mentions_per_s']:,.0f} mentions/s ({sqlite['worker_seconds']:.1f} s; "
        f"{sqlite['worker_cpu_mentions_per_s']:,.0f}/s of CPU); with the raw commit in the same process "
        f"{sqlite['end_to_end_mentions_per_s']:,.0f}/s (raw commit {sqlite['accept_seconds']:.1f} s)"
    )
    pg = _pg_database()
    if pg:
        print(f"ingest on PostgreSQL: {args.mentions:,} mentions…", flush=True)
        post = _run_child(["--child", "ingest", "--mentions", str(args.mentions), "--database-url", pg])
        results["ingest_mentions_per_s_postgres"] = round(post["mentions_per_s"], 1)
        results["ingest_end_to_end_mentions_per_s_postgres"] = round(post["end_to_end_mentions_per_s"], 1)
        print(
            f"  worker {post['mentions_per_s']:,.0f} mentions/s ({post['worker_seconds']:.1f} s); with the raw "
            f"commit {post['end_to_end_mentions_per_s']:,.0f}/s"
        )
        for workers in args.pg_workers:
            fleet = measure_pg_workers(args.mentions, workers, args.threads)
            if fleet is None:
                break
            name = f"ingest_postgres_{workers}_workers"
            results[f"{name}_mentions_per_s"] = round(fleet["mentions_per_s"], 1)
            results[f"{name}_worker_cpu_us"] = round(fleet["worker_cpu_us"], 1)
            results[f"{name}_server_cpu_us"] = round(fleet["server_cpu_us"], 1)
            results[f"{name}_batch_retries"] = fleet["retries"]
            print(
                f"  {workers} worker process(es) × {args.threads} threads at once: {fleet['mentions_per_s']:,.0f} "
                f"mentions/s; per mention {fleet['worker_cpu_us']:.0f} µs worker CPU + "
                f"{fleet['server_cpu_us']:.0f} µs PostgreSQL CPU; {fleet['retries']} batches retried"
            )
    if not args.skip_inbox:
        print(f"inbox list with {args.inbox_mentions:,} stored mentions…", flush=True)
        inbox = _run_child(["--child", "inbox", "--inbox-mentions", str(args.inbox_mentions)])
        results["inbox_p95_ms"] = round(inbox["p95_ms"], 1)
        print(
            f"  p95 {inbox['p95_ms']:.1f} ms, median {inbox['median_ms']:.1f} ms over "
            f"{inbox['conversations']:,} conversations"
        )
    if not args.skip_demo:
        print("demo --no-serve from an empty directory, then served with live replay…", flush=True)
        demo = measure_demo()
        results["demo_ready_s"] = round(demo["demo_ready_s"], 1)
        results["demo_peak_rss_mb"] = round(demo["demo_peak_rss_mb"], 1)
        print(f"  ready in {demo['demo_ready_s']:.1f} s; peak RSS while serving {demo['demo_peak_rss_mb']:.0f} MB")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")  # this run's figures only, never an older run's
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
