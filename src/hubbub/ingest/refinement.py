"""Background refinement: the accurate tier relabels stored mentions after ingest, under a CPU budget.

Ingest labels every mention with the fast tier (~12,000 texts/s); the accurate tier (multilingual encoder,
~40 texts/s on one core) cannot keep up with a spike, so it works behind ingest and takes first the mentions
where it matters most (`priority`):
- mentions of a brand with an open incident (the war room reads them),
- mentions in open or pending conversations (an agent reads them),
- mentions the fast tier is unsure of (its sentiment or intent confidence below `UNSURE`),
- mentions not in English (the fast tier reads English words only).
Then everything else, newest first. A refined mention gets the accurate labels through the same code as
`hubbub analysis reanalyze` (`inbox.reanalysis.relabel`): agents' corrections stay on top, the conversation
summary follows, and `Message.model_version` / `refined_at` record what labelled it.

It keeps out of ingest's way three times: a run stops when its thread has used `REFINE_CPU_SECONDS` of CPU, it
does nothing while raw events wait to be processed, and it runs on its own thread at nice 19
(`refine_in_background`), so a busy machine gives the cores to ingest first.
It lives in ingest because it reads the inbox (messages, conversations) and listening (incidents).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest

from hubbub import live
from hubbub.analysis.services import get_accurate_analyzer
from hubbub.inbox.models import Direction, Message, Status
from hubbub.inbox.reanalysis import relabel
from hubbub.ingest.models import RawEvent
from hubbub.listening.models import Grain, Incident, MentionRollup, QueryRollup
from hubbub.listening.services import compiled_queries

UNSURE = 0.6  # below this confidence (sentiment or intent) the fast tier's label is "unsure"
# unrefined messages looked at per batch, the newest ones, ranked by `priority`. Small: loading them is Python
# work that holds the GIL against the ingest thread (2,000 cost ingest ~25 % in benchmarks/refinement.py)
WINDOW = 300
BATCH = 32


@dataclass
class RefineResult:
    messages: int = 0
    cpu_seconds: float = 0.0
    stopped: str = ""  # why the run ended: "budget", "done", "ingest busy", "no accurate tier"
    by_reason: dict[str, int] = field(default_factory=dict)


def reasons(m: Message, incident_brands: set[int]) -> list[str]:
    """Why this message should be refined early (empty: no hurry)."""
    out = []
    if m.brand_id in incident_brands:
        out.append("incident")
    if m.conversation.status in (Status.OPEN, Status.PENDING):
        out.append("open conversation")
    conf = (m.analysis or {}).get("confidence", {})
    if min(conf.get("sentiment", 1.0), conf.get("intent", 1.0)) < UNSURE:
        out.append("unsure")
    if m.lang and m.lang.split("-")[0].lower() != "en":
        out.append("not English")
    return out


def priority(m: Message, incident_brands: set[int]) -> tuple[int, int]:
    """Sort key, smaller first: the number of reasons (more first), then newest first."""
    return (-len(reasons(m, incident_brands)), -m.pk)


def next_batch(organization_id: int | None = None, size: int = BATCH) -> list[Message]:
    """The `size` unrefined inbound messages to refine next."""
    qs = Message.objects.filter(direction=Direction.IN, refined_at__isnull=True)
    if organization_id is not None:
        qs = qs.filter(organization_id=organization_id)
    window = list(
        qs.select_related("conversation", "author", "brand")
        .only(
            "id",
            "organization_id",
            "created_at",
            "text",
            "retweets",
            "likes",
            "network",
            "lang",
            "sentiment",
            "analysis",
            "brand_id",
            "brand__slug",
            "conversation_id",
            "conversation__status",
            "author__followers",
        )
        .order_by("-id")[:WINDOW]
    )
    incidents = set(
        Incident.objects.filter(status=Incident.Status.OPEN, brand_id__in={m.brand_id for m in window}).values_list(
            "brand_id", flat=True
        )
    )
    window.sort(key=lambda m: priority(m, incidents))
    return window[:size]


def ingest_busy() -> bool:
    return RawEvent.objects.filter(state=RawEvent.State.PENDING).exists()


def refine(cpu_budget: float | None = None, organization_id: int | None = None) -> RefineResult:
    """Refine mentions until the budget (CPU seconds of this thread) is spent or none are left."""
    budget = settings.REFINE_CPU_SECONDS if cpu_budget is None else cpu_budget
    result = RefineResult()
    analyzer = get_accurate_analyzer()
    if analyzer is None:
        result.stopped = "no accurate tier"
        return result
    start = time.thread_time()
    while True:
        if time.thread_time() - start >= budget:
            result.stopped = "budget"
            break
        if ingest_busy():
            result.stopped = "ingest busy"
            break
        batch = next_batch(organization_id)
        if not batch:
            result.stopped = "done"
            break
        incidents = set(Incident.objects.filter(status=Incident.Status.OPEN).values_list("brand_id", flat=True))
        for m in batch:
            for r in reasons(m, incidents) or ["backlog"]:
                result.by_reason[r] = result.by_reason.get(r, 0) + 1
        before = {m.pk: m.sentiment for m in batch}
        result.messages += relabel(analyzer, batch)
        move_rollups([(m, before[m.pk]) for m in batch if m.sentiment != before[m.pk]])
        announce(batch)
    result.cpu_seconds = time.thread_time() - start
    return result


_running = threading.Lock()


def lowest_priority() -> None:
    """Put the calling thread at the lowest CPU priority (nice 19; Linux sets it per thread). On a busy machine
    the ingest threads then get the cores first and refinement only what is left: measured on this 2-core
    machine, a refinement thread at normal priority cost ingest ~28 %, since a process's threads share one
    scheduling group there."""
    if hasattr(os, "setpriority"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except OSError:
            pass  # not permitted: refinement still keeps its CPU budget and its turn after ingest


def refine_in_background(cpu_budget: float | None = None) -> bool:
    """Start one refinement run on its own thread at the lowest priority (False if one is still running).
    The periodic task calls this: a Huey worker thread must not be niced, its next task may be ingest."""
    if not _running.acquire(blocking=False):
        return False

    def run() -> None:
        try:
            lowest_priority()
            refine(cpu_budget)
        finally:
            connection.close()
            _running.release()

    threading.Thread(target=run, name="hubbub-refine", daemon=True).start()
    return True


def unrefined_count(organization_id: int | None = None) -> int:
    qs = Message.objects.filter(Q(direction=Direction.IN) & Q(refined_at__isnull=True))
    if organization_id is not None:
        qs = qs.filter(organization_id=organization_id)
    return qs.count()


def announce(batch: list[Message]) -> None:
    """Tell open inbox pages and war rooms that these conversations' labels changed (no new messages: count 0),
    as ingest does for new ones, so a refined label shows without a reload."""
    by_org: dict[int, set[int]] = {}
    for m in batch:
        by_org.setdefault(m.organization_id, set()).add(m.conversation_id)
    for org_id, conversations in by_org.items():
        ids = sorted(conversations)[: live.MAX_EVENT_IDS]
        live.publish("messages", org_id, count=0, conversation_ids=ids, refined=True)


def move_rollups(changed: list[tuple[Message, str]]) -> None:
    """Move refined mentions from their old sentiment's count to the new one in the listening rollups (brand
    and query, every grain), so the war room's charts say what the inbox says. `changed`: (message, old)."""
    sentiments = ("negative", "neutral", "positive")
    with transaction.atomic():  # one commit for the batch: ingest's writers wait for SQLite's lock once
        _move(changed, sentiments)


def _move(changed: list[tuple[Message, str]], sentiments: tuple[str, ...]) -> None:
    for m, old in changed:
        if old not in sentiments or m.sentiment not in sentiments:
            continue
        minute = m.created_at.replace(second=0, microsecond=0)
        buckets = {
            Grain.MINUTE: minute,
            Grain.HOUR: minute.replace(minute=0),
            Grain.DAY: minute.replace(minute=0, hour=0),
        }
        move = {old: Greatest(F(old) - 1, 0), m.sentiment: F(m.sentiment) + 1}
        queries = [
            q.id
            for q in compiled_queries(m.organization_id)
            if q.query._pred(m.text.lower(), (m.lang or "").lower(), m.network.lower())
        ]
        for grain, bucket in buckets.items():
            MentionRollup.objects.filter(brand_id=m.brand_id, grain=grain, bucket=bucket).update(**move)
            if queries:
                QueryRollup.objects.filter(query_id__in=queries, grain=grain, bucket=bucket).update(**move)
