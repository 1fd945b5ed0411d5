"""The webhook writer's group commit: many waiting requests, one transaction, and no answer before it."""

from __future__ import annotations

import asyncio
import threading

import pytest

from hubbub.ingest.group_commit import GroupCommit

WAIT = 60.0  # a deadline for a loaded machine, not a measure


class Recorder:
    """A run_batch that records its batches and can hold the first one open, like a slow commit."""

    def __init__(self, fail_on: str = "") -> None:
        self.batches: list[list[str]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.fail_on = fail_on

    def __call__(self, jobs: list[str]) -> list[str]:
        self.entered.set()
        assert self.release.wait(WAIT)
        if self.fail_on in jobs:
            raise RuntimeError(f"the database refused {self.fail_on}")
        self.batches.append(list(jobs))
        return [f"kept {job}" for job in jobs]


def test_jobs_queued_during_a_commit_share_the_next_one_and_wait_for_it() -> None:
    recorder = Recorder()
    writer: GroupCommit[str, str] = GroupCommit(recorder)

    async def scenario() -> tuple[list[bool], list[str]]:
        first = asyncio.ensure_future(writer.submit("a"))
        await asyncio.to_thread(recorder.entered.wait, WAIT)  # "a" is being committed
        rest = [asyncio.ensure_future(writer.submit(job)) for job in "bcde"]
        await asyncio.sleep(0.2)
        answered_early = [f.done() for f in (first, *rest)]
        recorder.release.set()
        return answered_early, list(await asyncio.wait_for(asyncio.gather(first, *rest), WAIT))

    answered_early, results = asyncio.run(scenario())

    assert answered_early == [False] * 5  # nobody is answered while the commit holding them is open
    assert results == [f"kept {job}" for job in "abcde"]
    assert recorder.batches == [["a"], ["b", "c", "d", "e"]]
    assert (writer.batches, writer.jobs) == (2, 5)


def test_a_failing_batch_is_committed_job_by_job_and_only_the_bad_job_fails() -> None:
    recorder = Recorder(fail_on="poison")
    writer: GroupCommit[str, str] = GroupCommit(recorder)

    async def scenario() -> list[str | BaseException]:
        first = asyncio.ensure_future(writer.submit("a"))
        await asyncio.to_thread(recorder.entered.wait, WAIT)
        rest = [asyncio.ensure_future(writer.submit(job)) for job in ("b", "poison", "c")]
        await asyncio.sleep(0.2)
        recorder.release.set()
        return list(await asyncio.wait_for(asyncio.gather(first, *rest, return_exceptions=True), WAIT))

    a, b, poison, c = asyncio.run(scenario())

    assert (a, b, c) == ("kept a", "kept b", "kept c")
    assert isinstance(poison, RuntimeError) and "refused poison" in str(poison)
    assert recorder.batches == [["a"], ["b"], ["c"]]  # the batch [b, poison, c] failed and was split


def test_calls_run_on_the_writer_thread_and_raise_to_their_caller() -> None:
    writer: GroupCommit[str, str] = GroupCommit(lambda jobs: jobs)

    def boom() -> str:
        raise ValueError("no audit table")

    async def scenario() -> tuple[str, None]:
        name = await writer.call(lambda: threading.current_thread().name)
        with pytest.raises(ValueError, match="no audit table"):
            await writer.call(boom)
        return name, None

    name, _ = asyncio.run(scenario())
    assert name == writer.name
