"""Group commit: one writer thread per process commits what many requests hand it, a batch per transaction.

Why: a webhook may be answered 2xx only after its raw event is committed, and a commit (with its fsync on
PostgreSQL, its write lock on SQLite) costs more than everything else a delivery needs. One transaction a
delivery caps one web process at a few hundred deliveries a second; one transaction for all that arrived
while the previous one was committing costs the same commit for dozens. Nobody waits for a batch to fill:
the writer takes what is queued the moment it is free, so a lone delivery is committed at once and batches
grow only under load (`linger` adds a short wait for company, off by default).

The promise, kept here: a job's future is resolved only after the transaction holding it committed. A batch
that fails is not answered as a whole: each of its jobs is then committed alone, so one job whose rows the
database refuses fails only itself, and every job whose own commit failed gets the exception (its request
answers non-2xx, and the network delivers it again).

`run_batch(jobs)` does the work of a list of jobs, its own transaction included, and returns one result per
job; it runs only on the writer thread, so it owns that thread's database connection. `call(fn)` runs any
other function there (an audit entry for a refused delivery), outside the batches.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connection

log = logging.getLogger("hubbub.ingest.group_commit")

J = TypeVar("J")
R = TypeVar("R")
T = TypeVar("T")


@dataclass(slots=True)
class _Ticket:
    """One waiting request: its job (or a call), and how to wake it on its own event loop."""

    job: Any
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    call: Callable[[], Any] | None = None

    def settle(self, result: Any = None, error: BaseException | None = None) -> None:
        try:
            self.loop.call_soon_threadsafe(_settle, self.future, result, error)
        except RuntimeError:  # the loop is closed (the server stopped): nobody is waiting any more
            log.debug("a result for a closed event loop was dropped")


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the request was cancelled (client gone): its job still committed, nobody to tell
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class GroupCommit(Generic[J, R]):
    """A writer thread that commits the jobs queued while it was busy in one `run_batch` call."""

    def __init__(
        self, run_batch: Callable[[list[J]], Sequence[R]], max_batch: int = 500, linger: float = 0.0, name: str = ""
    ) -> None:
        self.run_batch = run_batch
        self.max_batch = max_batch
        self.linger = linger
        self.name = name or "hubbub-group-commit"
        self._queue: queue.SimpleQueue[_Ticket] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        #: Batches committed and jobs in them, for the benchmark and the tests (never reset).
        self.batches = 0
        self.jobs = 0

    async def submit(self, job: J) -> R:
        """The job's result, once the transaction holding it committed; its exception if that failed."""
        result: R = await self._enqueue(_Ticket(job, *self._waiter()))
        return result

    async def call(self, fn: Callable[[], T]) -> T:
        """`fn()` run on the writer thread (which owns the database connection), between batches."""
        result: T = await self._enqueue(_Ticket(None, *self._waiter(), call=fn))
        return result

    def _waiter(self) -> tuple[asyncio.AbstractEventLoop, asyncio.Future[Any]]:
        loop = asyncio.get_running_loop()
        return loop, loop.create_future()

    def _enqueue(self, ticket: _Ticket) -> asyncio.Future[Any]:
        self._ensure_thread()
        self._queue.put(ticket)
        return ticket.future

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            tickets = self._take()
            calls = [t for t in tickets if t.call is not None]
            jobs = [t for t in tickets if t.call is None]
            for ticket in calls:
                self._run_call(ticket)
            if jobs:
                self._commit(jobs)

    def _take(self) -> list[_Ticket]:
        """Block for one ticket, then take whatever else is queued (after `linger`), up to `max_batch`."""
        tickets = [self._queue.get()]
        if self.linger:
            time.sleep(self.linger)
        while len(tickets) < self.max_batch:
            try:
                tickets.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return tickets

    def _run_call(self, ticket: _Ticket) -> None:
        assert ticket.call is not None
        try:
            ticket.settle(ticket.call())
        except Exception as exc:
            log.exception("call on the writer thread failed")
            ticket.settle(error=exc)
            _drop_broken_connection()

    def _commit(self, tickets: list[_Ticket]) -> None:
        try:
            results = self.run_batch([t.job for t in tickets])
        except Exception as exc:
            _drop_broken_connection()
            if len(tickets) == 1:
                log.warning("a job's commit failed, its request is not acknowledged: %s: %s", type(exc).__name__, exc)
                tickets[0].settle(error=exc)
                return
            log.warning("a batch of %d failed (%s: %s); committing its jobs one by one", len(tickets), type(exc), exc)
            for ticket in tickets:
                self._commit([ticket])
            return
        self.batches += 1
        self.jobs += len(tickets)
        for ticket, result in zip(tickets, results, strict=True):
            ticket.settle(result)


def _drop_broken_connection() -> None:
    """After an error the connection may be dead (a restarted database): let the next use open a new one."""
    if connection.in_atomic_block:
        return
    try:
        connection.close_if_unusable_or_obsolete()
    except Exception:  # closing a dead connection may raise too: it is gone either way
        log.debug("closing the writer's connection failed", exc_info=True)
