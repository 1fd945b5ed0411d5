"""The SLA clocks when the inbox merges conversations (a reply that arrived before its parent) or recomputes
their summaries: the inbox announces it (`inbox.signals`), these follow (connected in `WorkflowConfig.ready`).
Each runs inside the merge's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from hubbub.db import chunked
from hubbub.workflow import sla
from hubbub.workflow.models import Metric, SLAClock


def keep_one_clock_per_survivor(groups: dict[int, list[int]], now: datetime) -> None:
    """Before the rows move: per survivor and metric, the live clock started first stays; the others (of the
    survivor or the absorbed conversations) are cancelled."""
    survivor_of = {cid: s for s, absorbed in groups.items() for cid in (s, *absorbed)}
    live_clocks: list[tuple[int, str, datetime, int]] = []
    for chunk in chunked(list(survivor_of)):
        live_clocks += SLAClock.objects.filter(
            conversation_id__in=chunk, state__in=[SLAClock.State.RUNNING, SLAClock.State.PAUSED]
        ).values_list("conversation_id", "metric", "started_at", "id")
    kept: dict[tuple[int, str], int] = {}  # (survivor, metric) → the conversation whose clock stays
    for conv_id, metric, _started, _id in sorted(live_clocks, key=lambda c: (c[2], c[3])):
        kept.setdefault((survivor_of[conv_id], metric), conv_id)
    cancel: dict[str, set[int]] = {}
    for conv_id, metric, _started, _id in live_clocks:
        if kept[(survivor_of[conv_id], metric)] != conv_id:
            cancel.setdefault(metric, set()).add(conv_id)
    for metric, conv_ids in cancel.items():
        sla.stop(sorted(conv_ids), [metric], now, cancel=True)


def resume_merged(resume: Sequence[int], now: datetime) -> None:
    """Survivors that are open again after absorbing a conversation that waited on the customer."""
    if resume:
        sla.resume(list(resume), now)


def follow_refold(conversation_ids: Sequence[int], answered: dict[int, datetime], now: datetime) -> None:
    """Stop the first-response clocks of conversations that turn out answered, and re-mirror the due times."""
    if answered:
        sla.stop(list(answered), [Metric.FIRST_RESPONSE], now, at=answered)
    sla.sync_due(list(conversation_ids))
