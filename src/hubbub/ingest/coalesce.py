"""Raw events accepted one request at a time, handed to the pipeline in batches.

Why: a webhook delivery carries one event, and queueing one task per delivery costs a commit of the task
store each (SQLite: ~14 ms with its fsync, three quarters of a delivery's time, measured in
`benchmarks/channels.py`). The ids are committed before they are collected here, so a process that dies
before the flush loses no event: `sweep_pending` processes raw events left pending. With tasks run
immediately (tests, `HUBBUB_TASKS_IMMEDIATE`) nothing waits: each add is processed at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from django.conf import settings
from huey.contrib.djhuey import HUEY

from hubbub.ingest import services

log = logging.getLogger("hubbub.ingest")


class Coalescer:
    """Collects raw ids and queues them `delay` seconds after the first one, or at once at a full batch;
    while the task queue still holds work, the ids wait (up to `max_wait`) and the batch grows instead.

    The delay is most of what a mention waits between its webhook's 2xx and the open inbox when the worker
    keeps up: 0.25 s gave a p95 of 1.04 s at 200 mentions/s, 0.1 s gives 0.58 s (`benchmarks/channels.py`,
    part inbox). When it does not (a busy machine), small batches made it fall further behind, each paying a
    batch's fixed cost for a few events: mentions waited 17 s. Waiting while tasks are queued lets the next
    batch take everything that arrived meanwhile, so the batches grow with the backlog."""

    def __init__(self, delay: float = 0.1, max_wait: float = 2.0) -> None:
        self.delay = delay
        self.max_wait = max_wait
        self._lock = threading.Lock()
        self._ids: list[int] = []
        self._timer: threading.Timer | None = None
        self._since = 0.0  # when the oldest id now held arrived

    def add(self, raw_ids: Sequence[int]) -> None:
        if HUEY.immediate:
            services.enqueue_processing(raw_ids)
            return
        with self._lock:
            if not self._ids:
                self._since = time.monotonic()
            self._ids.extend(raw_ids)
            full = len(self._ids) >= settings.INGEST_BATCH_SIZE
            if not full and self._timer is None:
                self._arm()
        if full:
            self.flush()

    def _arm(self) -> None:
        self._timer = threading.Timer(self.delay, self._due)
        self._timer.daemon = True
        self._timer.start()

    def _due(self) -> None:
        """The timer: flush, unless the worker still has queued tasks and the oldest id can wait longer."""
        if time.monotonic() - self._since < self.max_wait and _worker_behind():
            with self._lock:
                if self._ids and self._timer is not None:
                    self._arm()
                    return
        self.flush()

    def flush(self) -> None:
        with self._lock:
            ids, self._ids = self._ids, []
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        if not ids:
            return
        try:
            services.enqueue_processing(ids)
        except Exception:  # the events are committed: the sweeper processes them; never lose the thread
            log.exception("could not queue %d accepted events; sweep_pending will process them", len(ids))


processing = Coalescer()


def _worker_behind() -> bool:
    """Whether tasks wait in the queue (a count on the task store; a store that cannot answer: no)."""
    try:
        return bool(HUEY.pending_count())
    except Exception:  # the flush then goes ahead, as it did before this check
        log.debug("could not count the queued tasks", exc_info=True)
        return False
