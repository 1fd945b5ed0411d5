"""Load generator for the webhook part of `benchmarks/channels.py`, run as its own process so that its CPU is
not the server's: signed X and Meta deliveries posted to `/hooks/<network>/` as fast as the server answers.

    python benchmarks/webhook_load.py --url http://127.0.0.1:PORT --count 20000 --x-account ID --page ID

Half the deliveries are X mentions (Account Activity, v1.1 tweets), half Facebook Page comments; `--repeat`
of them (5 %) are sent a second time on purpose, later in the run, as a network's redelivery. All bodies are
built and signed before the clock starts. Prints one JSON object: sent, statuses, elapsed_s, rps, p50_ms,
p99_ms, errors (unanswered requests by exception), the external ids sent (`ids`) and those answered 200
(`acked`), which the benchmark counts in the database.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import random
import sys
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit


def _x_delivery(i: int, account: str, secret: bytes) -> tuple[str, str, bytes, dict[str, str]]:
    tweet_id = str(1_900_000_000_000_000_000 + i)
    tweet = {
        "created_at": time.strftime("%a %b %d %H:%M:%S +0000 %Y", time.gmtime()),
        "id": int(tweet_id),
        "id_str": tweet_id,
        "text": f"@acmeair my bag {i} never arrived, flight AC{i % 900}",
        "user": {"id_str": str(5000 + i % 997), "screen_name": f"cust{i % 997}", "name": f"Customer {i % 997}"},
        "lang": "en",
    }
    body = json.dumps({"for_user_id": account, "tweet_create_events": [tweet]}).encode()
    sig = "sha256=" + base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()
    return "x", tweet_id, body, {"content-type": "application/json", "x-twitter-webhooks-signature": sig}


def _meta_delivery(i: int, page: str, secret: bytes) -> tuple[str, str, bytes, dict[str, str]]:
    comment_id = f"{page}_{700_000 + i}"
    value = {
        "from": {"id": str(8000 + i % 991), "name": f"Fan {i % 991}"},
        "message": f"Where is my refund {i}?",
        "post_id": f"{page}_1",
        "comment_id": comment_id,
        "created_time": int(time.time()),
        "item": "comment",
        "parent_id": f"{page}_1",
        "verb": "add",
    }
    data = {
        "object": "page",
        "entry": [{"id": page, "time": int(time.time()), "changes": [{"field": "feed", "value": value}]}],
    }
    body = json.dumps(data).encode()
    sig = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return "meta", comment_id, body, {"content-type": "application/json", "x-hub-signature-256": sig}


def build(args: argparse.Namespace) -> list[tuple[str, str, bytes, dict[str, str]]]:
    x_secret, meta_secret = args.x_secret.encode(), args.meta_secret.encode()
    unique = [
        _x_delivery(i, args.x_account, x_secret) if i % 2 == 0 else _meta_delivery(i, args.page, meta_secret)
        for i in range(args.count)
    ]
    rng = random.Random(7)
    repeats = rng.sample(range(args.count), int(args.count * args.repeat))
    plan = list(unique)
    for i in repeats:  # each repeat goes somewhere after its first delivery
        plan.insert(rng.randint(i + 1, len(plan)), unique[i])
    return plan


class Connection:
    """One keep-alive HTTP/1.1 connection speaking just enough of the protocol for this load: a request
    written as prepared bytes, an answer read by its Content-Length. Why not httpx: at ~3 ms of CPU a
    request it was the slowest part of the measure on a 2-core machine, not the server under test."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, request: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        try:
            self.writer.write(request)
            head = await self.reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await self.reader.readexactly(length)
            return status
        except (OSError, asyncio.IncompleteReadError, ValueError):
            self.writer.close()
            self.writer = None
            raise


def request_bytes(host: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST /hooks/{path}/ HTTP/1.1", f"host: {host}", f"content-length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def run(args: argparse.Namespace, plan: list[tuple[str, str, bytes, dict[str, str]]]) -> dict[str, Any]:
    url = urlsplit(args.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    acked: set[str] = set()
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    for path, external_id, body, headers in plan:
        queue.put_nowait((external_id, request_bytes(f"{host}:{port}", path, body, headers)))

    async def worker() -> None:
        connection = Connection(host, port)
        while not queue.empty():
            external_id, request = queue.get_nowait()
            started = time.perf_counter()
            try:
                status = await asyncio.wait_for(connection.post(request), 60)
                statuses[status] += 1
                if status == 200:
                    acked.add(external_id)
            except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError) as exc:
                statuses[0] += 1  # unanswered: the network would deliver it again
                errors[type(exc).__name__] += 1
            latencies.append(time.perf_counter() - started)
        if connection.writer is not None:
            connection.writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "sent": len(plan),
        "statuses": {str(k): v for k, v in statuses.items()},
        "errors": dict(errors),
        "acked": sorted(acked),
        "elapsed_s": round(elapsed, 2),
        "rps": round(len(plan) / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--repeat", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--x-account", required=True)
    parser.add_argument("--page", required=True)
    parser.add_argument("--x-secret", required=True)
    parser.add_argument("--meta-secret", required=True)
    args = parser.parse_args()
    plan = build(args)
    result = asyncio.run(run(args, plan))
    result["ids"] = sorted({external_id for _, external_id, _, _ in plan})
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
