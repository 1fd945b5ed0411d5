"""Which days of the report rollups a change touches, told by the inbox's and workflow's signals.

Each receiver only marks days (`rollups.mark`, written after the change commits); the periodic task builds
them again and, until it has, the Reports derive those days from the rows. Days a conversation counts on:
its cohort day (the day of its first message: counts, durations, clocks) and, when its team changes or
conversations merge, every day of its messages (Volume and replies sent are split by the conversation's
team). A reply also counts on the day it was sent; a relabelled message on the day it was written.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date
from typing import Any

from django.utils import timezone

from hubbub.inbox.models import Conversation
from hubbub.inbox.signals import (
    conversation_assigned,
    conversations_merged,
    conversations_merging,
    conversations_refolded,
    messages_ingested,
    messages_relabelled,
    reply_sent,
    status_changed,
)
from hubbub.insights.rollups import cohort_days, mark, span
from hubbub.workflow.signals import conversations_rerouted


def _cohort_day(conversation: Conversation) -> date:
    return conversation.first_message_at.astimezone(UTC).date()


def _marked(ids: list[int], whole_span: bool, also: set[date] | None = None, org_id: int | None = None) -> None:
    days = cohort_days(ids, whole_span)
    if org_id is not None and also:
        days[org_id] |= also
    for org, touched in days.items():
        mark(org, touched)


def on_status_changed(sender: Any, conversation: Conversation, **kwargs: Any) -> None:
    """Resolved, reopened, spam: the cohort day's counts, durations and clocks."""
    mark(conversation.organization_id, [_cohort_day(conversation)])


def on_reply_sent(sender: Any, conversation: Conversation, **kwargs: Any) -> None:
    """A first response and a stopped clock on the cohort day; a reply sent today."""
    mark(conversation.organization_id, [_cohort_day(conversation), timezone.now().astimezone(UTC).date()])


def on_assigned(sender: Any, conversation: Conversation, **kwargs: Any) -> None:
    """The assignee moves the cohort row; the team also moves every message of the conversation."""
    mark(conversation.organization_id, span(conversation.first_message_at, conversation.last_message_at))


def on_merging(sender: Any, groups: dict[int, list[int]], **kwargs: Any) -> None:
    """Before the merge: the absorbed conversations' days, while their rows still say where they were."""
    _marked([i for survivor, absorbed in groups.items() for i in (survivor, *absorbed)], whole_span=True)


def on_merged(sender: Any, into: dict[int, int], **kwargs: Any) -> None:
    _marked(sorted(set(into.values())), whole_span=True)


def on_refolded(sender: Any, conversation_ids: list[int], **kwargs: Any) -> None:
    _marked(list(conversation_ids), whole_span=False)


def on_ingested(sender: Any, organization_id: int, conversation_ids: list[int], days: Any = (), **kw: Any) -> None:
    """A batch stored messages (on the `days` given) and created or grew these conversations."""
    _marked(list(conversation_ids), whole_span=False, also=set(days), org_id=organization_id)


def on_rerouted(sender: Any, conversation_ids: list[int], fields: Any, **kwargs: Any) -> None:
    """Workflow rewrote stored conversations in bulk (routing rules applied again, an agent away): their
    cohort day (assignee, spam, resolution, the SLA clocks routing starts) and, when the team may have moved,
    every day of their messages (the message rollups are split by the conversation's team)."""
    _marked(list(conversation_ids), whole_span="team_id" in fields)


def on_relabelled(sender: Any, organization_id: int, days: Any, labels: Any, **kwargs: Any) -> None:
    """Volume & sentiment counts inbound messages per sentiment label on the day they were written."""
    if "sentiment" in labels:
        mark(organization_id, set(days))


def connect() -> None:
    """Subscribe the receivers (from `InsightsConfig.ready`)."""
    pairs: list[tuple[Any, Callable[..., None]]] = [
        (status_changed, on_status_changed),
        (reply_sent, on_reply_sent),
        (conversation_assigned, on_assigned),
        (conversations_merging, on_merging),
        (conversations_merged, on_merged),
        (conversations_refolded, on_refolded),
        (messages_ingested, on_ingested),
        (messages_relabelled, on_relabelled),
        (conversations_rerouted, on_rerouted),
    ]
    for signal, receiver in pairs:
        signal.connect(receiver, weak=False, dispatch_uid=f"insights.rollups.{receiver.__name__}")
