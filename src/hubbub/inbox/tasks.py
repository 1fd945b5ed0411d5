"""Outbound delivery runs in the task engine so a slow network never blocks an agent; replies that
waited for a parent stored by a concurrent ingest batch are re-checked here."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from hubbub.inbox import services
from hubbub.inbox.threading import repair_waiting_replies


@db_task(retries=3, retry_delay=5)
def deliver_reply_task(reply_id: int) -> str:
    return services.deliver_reply(reply_id).state


@db_task(retries=3, retry_delay=5)
def recheck_waiting_replies_task(org_id: int, keys: list[tuple[str, str]]) -> int:
    return repair_waiting_replies(org_id, [(network, external_id) for network, external_id in keys])
