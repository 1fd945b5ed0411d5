"""Task-engine entry points of the pipeline (Huey): retried, idempotent."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from hubbub import queueing
from hubbub.ingest import channel_intake, refinement, services


# Retried every 2 s for a minute: only the database being away (a restart, a fail-over) gets a batch this far,
# since rows at fault are quarantined inside it; after that the sweep takes the events.
@db_task(retries=30, retry_delay=2)
def process_batch_task(raw_ids: list[int]) -> int:
    return services.process_batch(raw_ids).processed


@db_task(retries=30, retry_delay=2)
def drain_pending_task() -> int:
    """Everything pending, organisations taking turns: queued once instead of a task per batch while the task
    queue is over its limit (`services.enqueue_processing`)."""
    queueing.started(services.DRAIN_KEY)
    return services.process_pending().processed


@db_periodic_task(crontab(minute="*"))
def sweep_pending() -> int:
    """Recover raw events whose task was lost (a worker killed mid-batch, a queue that lost its tasks). Also
    run when a worker starts (Huey runs periodic tasks at once), so a restarted worker picks them up."""
    older_than = timezone.now() - timedelta(seconds=settings.SWEEP_AFTER_SECONDS)
    return services.process_pending(older_than=older_than).processed


@db_periodic_task(crontab(minute="*"))
def poll_due_channels() -> int:
    """Poll the connected channels whose next poll has come (each keeps its own schedule and back-off)."""
    return len(channel_intake.poll_due_channels())


@db_periodic_task(crontab(minute="*"))
def refine_mentions() -> bool:
    """Relabel stored mentions with the accurate tier, most useful first, within the CPU budget
    (`settings.REFINE_CPU_SECONDS` a minute), on a thread of its own at the lowest priority; nothing while
    ingest has work waiting. True when a run started."""
    if settings.REFINE_CPU_SECONDS <= 0:
        return False
    return refinement.refine_in_background()
