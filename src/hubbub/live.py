"""Live fan-out of small events (new message, conversation changed) to SSE streams.

Embedded mode publishes in-process (web and worker share one process under
`hubbub serve`); with `REDIS_URL` set, events go through Redis pub/sub so any
number of web processes on any machine receive them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

from django.conf import settings

log = logging.getLogger("hubbub.live")
CHANNEL = "hubbub:live"
# An event names at most this many conversations (ids of a big batch would only bloat every stream;
# the inbox list is refreshed anyway).
MAX_EVENT_IDS = 200
#: Stream status events (no organisation, no data: every subscriber may see them). The inbox shows
#: "Live updates paused" on the first and hides it on the second.
PAUSED: dict[str, Any] = {"kind": "live", "state": "paused"}
RESUMED: dict[str, Any] = {"kind": "live", "state": "live"}
RECONNECT_SECONDS = 3.0
PAUSED_CACHE_SECONDS = 3.0


class InProcessBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]] = []

    def publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, event)
            except RuntimeError:  # loop closed: the client went away
                self._remove(loop, queue)

    def _remove(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[dict[str, Any]]) -> None:
        with self._lock:
            self._subscribers = [s for s in self._subscribers if s[1] is not queue]

    async def subscribe(self, idle: float = 15) -> AsyncIterator[dict[str, Any] | None]:
        """Yield events; yields None after `idle` quiet seconds so callers can send keep-alives."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        with self._lock:
            self._subscribers.append((loop, queue))
        try:
            while True:
                try:
                    yield await asyncio.wait_for(queue.get(), timeout=idle)
                except TimeoutError:
                    yield None
        finally:
            self._remove(loop, queue)


class RedisBus:
    """Redis pub/sub. Redis going away is a state the streams report, not an error: `subscribe` yields
    `PAUSED` once, keeps yielding None (so the stream polls the database for new messages meanwhile) while
    it reconnects every `RECONNECT_SECONDS`, and `RESUMED` when it is subscribed again. Pages rendered
    meanwhile ask `paused()` (one PING, cached a few seconds) and show the same banner."""

    def __init__(self, url: str) -> None:
        import redis

        self._url = url
        # A stopped Redis refuses at once; these bound a Redis that does not answer at all.
        self._redis = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        self._checked: tuple[float, bool] = (0.0, False)

    def publish(self, event: dict[str, Any]) -> None:
        try:
            self._redis.publish(CHANNEL, json.dumps(event))
        except Exception:  # live updates are best effort; the data is already committed
            log.warning("live publish failed", exc_info=True)

    def paused(self) -> bool:
        now = time.monotonic()
        if now - self._checked[0] < PAUSED_CACHE_SECONDS:
            return self._checked[1]
        try:
            self._redis.ping()
            down = False
        except Exception:  # noqa: BLE001 - any failure means the streams cannot relay events
            down = True
        self._checked = (now, down)
        return down

    async def subscribe(self, idle: float = 15) -> AsyncIterator[dict[str, Any] | None]:
        import redis
        import redis.asyncio as aioredis

        paused = False
        loop = asyncio.get_running_loop()
        while True:
            client = aioredis.Redis.from_url(self._url, socket_connect_timeout=2)
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(CHANNEL)
                if paused:
                    paused = False
                    yield dict(RESUMED)
                quiet_since = loop.time()
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=idle)
                    if message is not None:
                        quiet_since = loop.time()
                        yield json.loads(message["data"])
                    elif loop.time() - quiet_since >= idle:  # a real quiet period, not a subscribe confirmation
                        quiet_since = loop.time()
                        yield None
            except (redis.RedisError, OSError) as exc:
                if not paused:
                    log.warning("live updates paused: %s; reconnecting", type(exc).__name__)
                yield None if paused else dict(PAUSED)
                paused = True
            finally:
                await _close(pubsub, client)
            await asyncio.sleep(min(idle, RECONNECT_SECONDS))


async def _close(pubsub: Any, client: Any) -> None:
    """Close a subscription whose connection may already be gone."""
    with contextlib.suppress(Exception):
        await pubsub.aclose()
    with contextlib.suppress(Exception):
        await client.aclose()


_bus: InProcessBus | RedisBus | None = None


def get_bus() -> InProcessBus | RedisBus:
    global _bus
    if _bus is None:
        _bus = RedisBus(settings.REDIS_URL) if settings.REDIS_URL else InProcessBus()
    return _bus


def paused() -> bool:
    """Live updates cannot be relayed right now (Redis unreachable); never true in embedded mode."""
    bus = get_bus()
    return isinstance(bus, RedisBus) and bus.paused()


def publish(kind: str, organization_id: int, **data: Any) -> None:
    get_bus().publish({"kind": kind, "organization_id": organization_id, **data})


def publish_on_commit(kind: str, organization_id: int, **data: Any) -> None:
    """Publish once the current transaction has committed (at once outside one). A page that reloads on the
    event must find the change in the database, and a change that is rolled back is never announced."""
    from django.db import transaction

    transaction.on_commit(lambda: publish(kind, organization_id, **data))
