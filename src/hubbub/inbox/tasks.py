"""Outbound delivery runs in the task engine so a slow network never blocks an agent."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from hubbub.inbox import services


@db_task(retries=3, retry_delay=5)
def deliver_reply_task(reply_id: int) -> str:
    return services.deliver_reply(reply_id).state
