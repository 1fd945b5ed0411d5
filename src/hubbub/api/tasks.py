"""Huey tasks of the integrator webhooks. The schedule is in the database: the periodic task sends whatever is
due, so a delivery whose task was lost (restart, crash) still goes out."""

from __future__ import annotations

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from hubbub.api import webhook_delivery
from hubbub.queueing import enqueue


@db_task()
def deliver_webhook_task(delivery_id: int) -> None:
    webhook_delivery.deliver(delivery_id)


@db_periodic_task(crontab(minute="*"))
def send_due_webhooks() -> int:
    """Queue every due attempt (first tries whose task was lost, retries whose back-off is over)."""
    ids = webhook_delivery.due_delivery_ids(timezone.now())
    for pk in ids:
        enqueue(deliver_webhook_task, pk)
    return len(ids)


@db_periodic_task(crontab(minute="17", hour="3"))
def prune_webhook_log() -> int:
    """Finished deliveries are kept `webhook_delivery.KEEP_FINISHED` (30 days) for the log, then deleted."""
    return webhook_delivery.prune_finished(timezone.now())
