"""Outbound delivery runs in the task engine so a slow network never blocks an agent; replies that
waited for a parent stored by a concurrent ingest batch are re-checked here."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task
from huey.exceptions import RetryTask

from hubbub import queueing
from hubbub.connectors.outbound import TransientDeliveryError
from hubbub.inbox.actions import delivery
from hubbub.inbox.out_of_order import repair_waiting_replies

#: While the database is away an attempt is made again this often, this many times; then the reclaim decides.
DATABASE_RETRY_SECONDS = 2.0
DATABASE_RETRIES = 30


@db_task()  # retries are counted on the reply (`attempts`), with a growing delay, not by Huey
def deliver_reply_task(reply_id: int, claims: list[datetime] | None = None) -> str:
    """`claims`: the claim times of this task's attempts that the database interrupted (see do_deliver_reply)."""
    claim_at = timezone.now()
    try:
        return delivery.do_deliver_reply(reply_id, claim_at=claim_at, resume_claims=claims or []).state
    except TransientDeliveryError as exc:
        delay = delivery.retry_delay(reply_id, exc)
        if delay is None:
            return "failed"
        raise RetryTask(delay=delay) from exc
    except delivery.DATABASE_AWAY:
        tried = [*(claims or []), claim_at]
        if len(tried) > DATABASE_RETRIES:
            raise  # left to reclaim_stuck_replies_task
        queueing.enqueue(lambda: deliver_reply_task.schedule((reply_id, tried), delay=DATABASE_RETRY_SECONDS))
        return "database away: tried again shortly"


def enqueue_delivery(reply_id: int) -> None:
    """Queue a reply's delivery as every reply's is queued (held and offered again if the queue refuses it)."""
    queueing.enqueue(deliver_reply_task, reply_id)


@db_periodic_task(crontab(minute="*"))
@lock_task("reclaim-stuck-replies")
def reclaim_stuck_replies_task() -> int:
    return len(delivery.reclaim_stuck_replies(deliver_reply_task))


@db_task(retries=3, retry_delay=5)
def recheck_waiting_replies_task(org_id: int, keys: list[tuple[str, str]]) -> int:
    return repair_waiting_replies(org_id, [(network, external_id) for network, external_id in keys])
