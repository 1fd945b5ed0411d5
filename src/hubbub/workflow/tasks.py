"""Periodic workflow jobs in the task engine (djhuey autodiscovers this module).

SLA cadence: Huey's periodic scheduler has one-minute resolution, so the per-minute
task `sla_minute` enqueues six sweeps at 0, 10, 20 … 50 s. A warning or breach is
therefore raised at most ~10 s (plus queue latency) after it falls due, without a
long-running loop occupying a worker thread and without self-rescheduling chains
that could multiply after a restart. Sweeps are idempotent (each clock warns and
breaches once), so an overlapping or repeated sweep is harmless.
"""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from hubbub.workflow import sla
from hubbub.workflow.issues import send_update
from hubbub.workflow.models import ComposerPresence


@db_task()
def sla_sweep() -> dict[str, int]:
    return sla.sweep()


@db_task(retries=3, retry_delay=5)
def send_issue_update_task(update_id: int) -> dict[str, int]:
    """Send an approved progress update to every linked conversation (idempotent on retry)."""
    return send_update(update_id)


@db_periodic_task(crontab())
def sla_minute() -> None:
    for offset in range(0, 60, sla.TICK_SECONDS):
        if offset == 0:
            sla_sweep()
        else:
            sla_sweep.schedule(delay=offset)


@db_periodic_task(crontab(minute="*/15"))
def forget_stale_composers() -> int:
    """Drop composer presence older than an hour (the warning only looks at the last 45 s)."""
    from datetime import timedelta

    from django.utils import timezone

    deleted, _ = ComposerPresence.objects.filter(seen_at__lt=timezone.now() - timedelta(hours=1)).delete()
    return deleted
