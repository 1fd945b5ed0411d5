"""`hubbub.queueing`: a queue that refuses a task never loses it or raises into the caller (the work is
committed; the task is held and offered again), and a queue over its limit gets one drain task, not one more
task per batch. Real Huey storage: a SqliteHuey in a temporary file, and a closed port for an unreachable Redis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from huey import RedisHuey, SqliteHuey

from hubbub import queueing
from tests.browser_server import free_port


@pytest.fixture
def huey(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> SqliteHuey:
    queue = SqliteHuey("queueing-test", filename=str(tmp_path / "tasks.sqlite3"))
    monkeypatch.setattr(queueing, "HUEY", queue)
    monkeypatch.setattr(queueing, "_depth", (0.0, None))
    return queue


def test_a_refused_task_is_held_and_queued_once_the_queue_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    down = RedisHuey("queueing-down", url=f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setattr(queueing, "HUEY", down)
    queued: list[tuple[Any, ...]] = []
    reachable = False

    def task(*args: Any) -> None:
        if not reachable:
            down.pending_count()  # what enqueueing into a stopped Redis does: ConnectionError
        queued.append(args)

    outbox = queueing.Outbox()
    monkeypatch.setattr(queueing, "outbox", outbox)
    assert queueing.enqueue(task, 1) is False  # no exception for the caller
    assert queueing.enqueue(task, 2) is False
    assert len(outbox) == 2 and not outbox.offer_all()
    reachable = True
    assert outbox.offer_all() and queued == [(1,), (2,)] and len(outbox) == 0  # in order, once each


def test_over_the_limit_one_drain_task_is_queued_until_it_starts(huey: SqliteHuey, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TASK_QUEUE_LIMIT = 3

    @huey.task()
    def work(n: int) -> None:
        pass

    @huey.task()
    def drain() -> None:
        pass

    for n in range(3):
        work(n)
    queueing._depth = (0.0, None)
    assert queueing.over_limit() and queueing.depth() == 3
    for _ in range(5):
        queueing.enqueue_once("drain", drain)
    assert huey.pending_count() == 4  # the limit's tasks and one drain task
    queueing.started("drain")
    queueing.enqueue_once("drain", drain)
    assert huey.pending_count() == 5  # once it started, new arrivals get a new one
    settings.TASK_QUEUE_LIMIT = 0
    assert not queueing.over_limit()
