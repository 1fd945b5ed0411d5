"""Task-engine entry points of the pipeline (Huey): retried, idempotent."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from hubbub.ingest import channel_intake, services


@db_task(retries=3, retry_delay=2)
def process_batch_task(raw_ids: list[int]) -> int:
    return services.process_batch(raw_ids).processed


@db_periodic_task(crontab(minute="*"))
def sweep_pending() -> int:
    """Recover raw events whose task was lost (crash between commit and enqueue)."""
    return services.process_pending(older_than=timezone.now() - timedelta(seconds=60)).processed


@db_periodic_task(crontab(minute="*"))
def poll_due_channels() -> int:
    """Poll the connected channels whose next poll has come (each keeps its own schedule and back-off)."""
    return len(channel_intake.poll_due_channels())
