"""The inbox part of `benchmarks/channels.py`: from a post on a fake network to an open inbox's live stream.

`hubbub serve` with its worker (one process, embedded mode: the in-process live bus) on the benchmark's
SQLite. An agent's browser tab is played by an SSE client on `/live/` with the agent's session. The network is
the X fake (`tests/fakes/x.py`): each mention is a new tweet by a new customer, delivered as Account Activity
does (signed, to `/hooks/x/`), `--inbox-rate` a second for `--inbox-seconds`. A mention's latency runs from
just before its delivery is sent to the first live event naming its conversation (`messages`, which makes an
open inbox reload). Measured after a warm-up (the worker loads its models beside the server):
    inbox_latency_p95_s, inbox_latency_p50_s   mentions not seen within the wait count as the wait itself
    inbox_unseen                               mentions whose conversation no live event named
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import urlsplit

from channels_webhooks import X_SECRET, serving
from webhook_load import Connection, request_bytes

WAIT_AFTER_S = 60.0  # how long the stream may lag behind the last mention (a deadline, not a measure)
QUIET_S = 10.0  # nothing new for this long after the last mention: the stream has said all it will


class LiveStream:
    """The SSE stream of one signed-in tab: every `messages` event's conversation ids, with the time read."""

    def __init__(self, host: str, port: int, cookie: str) -> None:
        self.host, self.port, self.cookie = host, port, cookie
        self.seen: list[tuple[float, list[int]]] = []
        self.last_event = 0.0

    async def read(self) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        head = f"GET /live/ HTTP/1.1\r\nhost: {self.host}:{self.port}\r\ncookie: sessionid={self.cookie}\r\n"
        writer.write((head + "accept: text/event-stream\r\n\r\n").encode())
        status = (await reader.readuntil(b"\r\n\r\n")).split(b" ", 2)[1]
        if status != b"200":
            raise RuntimeError(f"/live/ answered {status.decode()}")
        event = ""
        try:
            while raw := await reader.readline():  # chunk-size lines of the chunked body are skipped too
                line = raw.decode().strip()
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event == "messages":
                    now = time.perf_counter()
                    ids = json.loads(line[5:]).get("conversation_ids", [])
                    self.seen.append((now, [i for i in ids if isinstance(i, int)]))
                    self.last_event = now
        finally:
            writer.close()


def _setup() -> tuple[Any, Any, str]:
    """An organisation with an X channel for the brand's account on the fake, and an agent signed in."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from tests.fakes.x import FakeX, XWebhook

    from hubbub.connectors.models import Channel
    from hubbub.tenancy.models import Brand, Membership, Organization

    x = FakeX()  # its users and tweets; deliveries go to Hubbub from here, as X's would
    brand_user = x.add_user("acmeinbox", "Acme Inbox")
    org = Organization.objects.create(slug="bench-inbox", name="Inbox bench")
    brand = Brand.objects.create(organization=org, name="Acme Inbox", slug="acme-inbox", handles=["acmeinbox"])
    Channel.objects.create(organization=org, brand=brand, network="x", name="@acmeinbox", account_id=brand_user.id)
    agent = get_user_model().objects.create_user(username="bench-agent", password="bench-agent-pw-1")
    Membership.objects.create(user=agent, organization=org, role="agent")
    client = Client()
    client.force_login(agent)
    return x, XWebhook(X_SECRET, brand_user), client.cookies["sessionid"].value


async def _post_mentions(base: str, x: Any, hook: Any, rate: float, seconds: float, tag: str) -> dict[str, float]:
    """Post `rate` mentions a second for `seconds`, each as its own delivery; tweet id -> time it was sent."""
    url = urlsplit(base)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(16):
        pool.put_nowait(Connection(host, port))
    sent: dict[str, float] = {}
    statuses: list[int] = []

    async def deliver(request: bytes) -> None:
        connection = await pool.get()
        try:
            statuses.append(await connection.post(request))
        finally:
            pool.put_nowait(connection)

    tasks = []
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
        customer = x.add_user(f"{tag}{i}", f"Customer {tag}{i}")
        tweet = x.tweet(customer, f"@acmeinbox my bag {tag}{i} is lost, please help", mentions=(hook.for_user,))
        body, headers = hook.tweets(tweet)
        sent[tweet.id] = time.perf_counter()
        tasks.append(asyncio.ensure_future(deliver(request_bytes(f"{host}:{port}", "x", body, headers))))
    await asyncio.gather(*tasks)
    refused = [s for s in statuses if s != 200]
    if refused:
        raise RuntimeError(f"{len(refused)} deliveries not answered 200: {refused[:5]}")
    return sent


async def _wait_for(stream: LiveStream, expected: int, sent_until: float, reader: asyncio.Task[None]) -> None:
    """Until the stream named `expected` conversations, went quiet, or the deadline passed."""
    while time.perf_counter() < sent_until + WAIT_AFTER_S and not reader.done():
        named = {cid for _, ids in stream.seen for cid in ids}
        quiet = time.perf_counter() - max(stream.last_event, sent_until) > QUIET_S
        if len(named) >= expected or quiet:
            return
        await asyncio.sleep(0.2)


def _latencies(sent: dict[str, float], stream: LiveStream) -> tuple[list[float], int]:
    from hubbub.inbox.models import Message

    conversation = dict(
        Message.objects.filter(external_id__in=list(sent)).values_list("external_id", "conversation_id")
    )
    first_named: dict[int, float] = {}
    for at, ids in stream.seen:
        for cid in ids:
            first_named.setdefault(cid, at)
    latencies, unseen = [], 0
    for tweet_id, at in sent.items():
        named = first_named.get(conversation.get(tweet_id, -1))
        if named is None or named < at:
            unseen += 1
            latencies.append(WAIT_AFTER_S)
        else:
            latencies.append(named - at)
    return sorted(latencies), unseen


async def _run(base: str, rate: float, seconds: float) -> dict[str, float]:
    x, hook, cookie = await asyncio.to_thread(_setup)
    url = urlsplit(base)
    stream = LiveStream(url.hostname or "127.0.0.1", url.port or 80, cookie)
    reader = asyncio.ensure_future(stream.read())
    # Warm-up: one mention a second until the stream names one (the worker has loaded its models), then 5 s.
    deadline = time.perf_counter() + 300
    while not stream.seen:
        if reader.done() or time.perf_counter() > deadline:
            reader.result()  # the stream's own error, if it failed
            raise RuntimeError("no live event within 300 s of warm-up")
        await _post_mentions(base, x, hook, 1, 1, "warm")
    await _post_mentions(base, x, hook, 1, 5, "warm2-")
    stream.seen.clear()
    sent = await _post_mentions(base, x, hook, rate, seconds, "m")
    await _wait_for(stream, len(sent), time.perf_counter(), reader)
    reader.cancel()
    latencies, unseen = await asyncio.to_thread(_latencies, sent, stream)
    return {
        "inbox_latency_p95_s": round(latencies[int(len(latencies) * 0.95)], 3),
        "inbox_latency_p50_s": round(latencies[len(latencies) // 2], 3),
        "inbox_unseen": float(unseen),
        "inbox_mentions": float(len(sent)),
    }


def measure_inbox(rate: float, seconds: float) -> dict[str, float]:
    with serving(worker=True) as base:
        print(f"inbox: serving on {base} with its worker; {rate:g} mentions/s for {seconds:g} s", flush=True)
        figures = asyncio.run(_run(base, rate, seconds))
    print(f"inbox: {json.dumps(figures)}", flush=True)
    return figures
