"""Putting work on the task queue without turning a queue outage into lost work, an error page or a flood.

The task queue (Redis when scaled out, a SQLite file embedded) is a hint that work is waiting, never the
only record of it: raw events and replies are committed to the database first. So:

- `enqueue` never raises. When the queue cannot take a task (Redis stopped, restarting, out of memory), the
  task is held in this process and offered again every few seconds until the queue takes it, so a Redis
  restart delays work by seconds instead of leaving it to the periodic sweeps (and an agent's reply is
  not answered with an error page after it was saved, which would invite a second submission). At most
  `MAX_HELD` tasks are held; beyond that the oldest is dropped with a warning, and the database-backed
  sweeps (`ingest.sweep_pending`, `inbox.reclaim_stuck_replies_task`) find its work.
- `over_limit` tells a producer that the queue holds `settings.TASK_QUEUE_LIMIT` tasks or more: a burst of
  mentions then stops adding one task per batch and asks for one drain task instead (`enqueue_once`), so a
  flood cannot grow the queue (Redis memory) without bound while the workers catch up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from django.conf import settings
from huey.contrib.djhuey import HUEY

log = logging.getLogger("hubbub.queueing")

MAX_HELD = 10_000
RETRY_SECONDS = (1.0, 2.0, 5.0)  # the wait before each new offer; the last one repeats
DEPTH_CACHE_SECONDS = 1.0
#: An `enqueue_once` key outlives its task at most this long (a queue that lost the task but kept the key).
ONCE_TTL_SECONDS = 600

Task = Callable[..., Any]


class Outbox:
    """Tasks the queue refused, offered again in order by one daemon thread."""

    def __init__(self) -> None:
        self._held: deque[tuple[Task, tuple[Any, ...]]] = deque()
        self._lock = threading.Lock()
        self._offering = threading.Lock()  # one offer at a time: a task is never queued twice
        self._thread: threading.Thread | None = None

    def __len__(self) -> int:
        return len(self._held)

    def hold(self, task: Task, args: tuple[Any, ...]) -> None:
        with self._lock:
            if len(self._held) >= MAX_HELD:
                dropped, _ = self._held.popleft()
                log.warning(
                    "task queue unreachable and %d tasks held: dropped a %s (the sweeps recover its work)",
                    MAX_HELD,
                    getattr(dropped, "name", dropped),
                )
            self._held.append((task, args))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._offer_loop, name="hubbub-outbox", daemon=True)
                self._thread.start()

    def _offer_loop(self) -> None:
        failures = 0
        while True:
            time.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
            with self._lock:
                if not self._held:
                    self._thread = None
                    return
            if self.offer_all():
                log.warning("task queue reachable again: held tasks queued")
                failures = 0
            else:
                failures += 1

    def offer_all(self) -> bool:
        """Queue the held tasks in order; False (the rest kept) at the first refusal."""
        with self._offering:
            return self._offer_in_order()

    def _offer_in_order(self) -> bool:
        while True:
            with self._lock:
                if not self._held:
                    return True
                task, args = self._held[0]
            try:
                task(*args)
            except Exception:  # noqa: BLE001 - still unreachable: keep it, try later
                return False
            with self._lock:
                if self._held and self._held[0] == (task, args):
                    self._held.popleft()


outbox = Outbox()


def enqueue(task: Task, *args: Any) -> bool:
    """Queue `task(*args)`; True when queued now, False when held for a later offer (never raises)."""
    if HUEY.immediate:  # tests and HUBBUB_TASKS_IMMEDIATE: the task runs here and now
        task(*args)
        return True
    try:
        task(*args)
    except Exception as exc:  # noqa: BLE001 - any storage failure: the work is committed, keep the hint
        log.warning(
            "task queue refused %s (%s: %s); held and offered again",
            getattr(task, "name", task),
            type(exc).__name__,
            str(exc)[:160],
        )
        outbox.hold(task, args)
        return False
    return True


def enqueue_once(key: str, task: Task, *args: Any) -> None:
    """Queue `task` unless one queued under `key` has not started yet (the task calls `started(key)` first)."""
    if HUEY.immediate:
        task(*args)
        return
    try:
        fresh = _put_once(f"hubbub:once:{key}")
    except Exception:  # noqa: BLE001 - cannot tell: queue it; a second drain only finds nothing to do
        fresh = True
    if fresh:
        enqueue(task, *args)


def _put_once(key: str) -> bool:
    try:
        return bool(HUEY.put_if_empty(key, 1, ttl=ONCE_TTL_SECONDS))
    except NotImplementedError:  # the SQLite queue keeps no expiry: the key lasts until the task starts
        return bool(HUEY.put_if_empty(key, 1))


def started(key: str) -> None:
    """Called first by a task queued with `enqueue_once`: work arriving from now on queues a new one."""
    try:
        HUEY.delete(f"hubbub:once:{key}")
    except Exception:  # noqa: BLE001 - the key stays; the next `enqueue_once` is skipped until it is gone
        log.warning("could not clear the enqueue_once key %s", key, exc_info=True)


_depth: tuple[float, int | None] = (0.0, None)


def depth() -> int | None:
    """Tasks waiting in the queue, read at most once a second per process; None when it cannot be read."""
    global _depth
    now = time.monotonic()
    if now - _depth[0] < DEPTH_CACHE_SECONDS:
        return _depth[1]
    try:
        value: int | None = int(HUEY.pending_count())
    except Exception:  # noqa: BLE001 - unknown, not zero
        value = None
    _depth = (now, value)
    return value


def over_limit() -> bool:
    """The queue holds `TASK_QUEUE_LIMIT` tasks or more (0: no limit)."""
    limit: int = settings.TASK_QUEUE_LIMIT
    current = depth() if limit else None
    return current is not None and current >= limit
