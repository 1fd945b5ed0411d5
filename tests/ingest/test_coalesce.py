"""Webhook-accepted raw events are queued for the pipeline in batches, not one task per delivery."""

from __future__ import annotations

from typing import Any

import pytest
from huey.contrib.djhuey import HUEY

from hubbub.ingest import coalesce


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    calls: list[list[int]] = []
    monkeypatch.setattr(HUEY, "immediate", False)
    monkeypatch.setattr(coalesce.services, "enqueue_processing", lambda ids: calls.append(list(ids)))
    return calls


def test_deliveries_are_queued_together_as_one_task(queued: list[list[int]]) -> None:
    batcher = coalesce.Coalescer(delay=3600)  # the flush below comes first: no waiting in a test

    batcher.add([1])
    batcher.add([2, 3])
    assert queued == []
    batcher.flush()
    batcher.flush()

    assert queued == [[1, 2, 3]]


def test_a_full_batch_is_queued_at_once(queued: list[list[int]], settings: Any) -> None:
    settings.INGEST_BATCH_SIZE = 3
    batcher = coalesce.Coalescer(delay=3600)

    batcher.add([1, 2])
    batcher.add([3])

    assert queued == [[1, 2, 3]]


def test_a_failed_enqueue_keeps_the_batcher_working(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(HUEY, "immediate", False)
    calls: list[list[int]] = []

    def flaky(ids: list[int]) -> None:
        calls.append(list(ids))
        if len(calls) == 1:
            raise ConnectionError("task store away")

    monkeypatch.setattr(coalesce.services, "enqueue_processing", flaky)
    batcher = coalesce.Coalescer(delay=3600)
    batcher.add([1])
    batcher.flush()  # logged; the committed event is left to sweep_pending
    batcher.add([2])
    batcher.flush()

    assert calls == [[1], [2]]


def test_ids_wait_while_the_worker_has_queued_tasks_then_go_as_one_batch(
    queued: list[list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    behind = [True]
    monkeypatch.setattr(coalesce, "_worker_behind", lambda: behind[0])
    batcher = coalesce.Coalescer(delay=3600, max_wait=3600)

    batcher.add([1])
    batcher._due()  # the timer fires while the worker is behind: the batch keeps growing
    batcher.add([2, 3])
    batcher._due()
    assert queued == []
    behind[0] = False
    batcher._due()

    assert queued == [[1, 2, 3]]


def test_ids_wait_for_a_busy_worker_no_longer_than_max_wait(
    queued: list[list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(coalesce, "_worker_behind", lambda: True)
    batcher = coalesce.Coalescer(delay=3600, max_wait=0)

    batcher.add([1])
    batcher._due()

    assert queued == [[1]]
