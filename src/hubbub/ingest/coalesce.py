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
from collections.abc import Sequence

from django.conf import settings
from huey.contrib.djhuey import HUEY

from hubbub.ingest import services

log = logging.getLogger("hubbub.ingest")


class Coalescer:
    """Collects raw ids and queues them `delay` seconds after the first one, or at once at a full batch."""

    def __init__(self, delay: float = 0.25) -> None:
        self.delay = delay
        self._lock = threading.Lock()
        self._ids: list[int] = []
        self._timer: threading.Timer | None = None

    def add(self, raw_ids: Sequence[int]) -> None:
        if HUEY.immediate:
            services.enqueue_processing(raw_ids)
            return
        with self._lock:
            self._ids.extend(raw_ids)
            full = len(self._ids) >= settings.INGEST_BATCH_SIZE
            if not full and self._timer is None:
                self._timer = threading.Timer(self.delay, self.flush)
                self._timer.daemon = True
                self._timer.start()
        if full:
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
