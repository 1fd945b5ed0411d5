"""Periodic jobs of operations: retention of the raw event log."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from hubbub.ops import retention


@db_periodic_task(crontab(minute="23", hour="3"))
@lock_task("ops-retention")
def prune_raw_events() -> int:
    """Nightly, in small batches (ops.retention); the lock keeps two workers' schedulers from doubling the work."""
    return sum(p.raw_events for p in retention.prune_all().values())
