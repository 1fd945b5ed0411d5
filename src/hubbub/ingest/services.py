"""The main road: accept raw events durably, then process them in batches.

    accept()          commit raw events (idempotent on network + external id)
    process_batch()   resolve authors → analyse → thread → route → store → roll up → publish

Every source (demo replay, CLI importers, webhooks, API) goes through here, and
every step works on whole batches so a batch of 500 costs a handful of queries.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from hubbub import live, metrics, queueing
from hubbub.analysis.brand_topics import topic_contexts
from hubbub.analysis.services import analyze_batch
from hubbub.analysis.types import Analysis, AnalysisContext
from hubbub.connectors.events import InboundEvent
from hubbub.crm.authors import AuthorRow, ProfileKey, customer_values, resolve_authors
from hubbub.db import (
    chunked,
    fast_insert_dicts,
    in_list,
    loads_json,
    relax_commit_wait,
    reserve_ids,
    rows_by_external_id,
    storable_text,
    stored_ids,
)
from hubbub.faults import crash_point
from hubbub.inbox.models import Conversation, Status
from hubbub.inbox.signals import messages_ingested
from hubbub.inbox.threading import plan_threads, write_threads
from hubbub.ingest.models import QuarantinedEvent, RawEvent
from hubbub.ingest.normalise import normalise
from hubbub.ingest.quarantine import quarantine_failed_event
from hubbub.ingest.webhook_mentions import announce_mentions
from hubbub.listening.services import record_mentions
from hubbub.sqlite_wal import ensure_checkpointer
from hubbub.tenancy.models import Brand
from hubbub.workflow.services.routing import route_planned
from hubbub.workflow.services.sla_hooks import on_brand_answers, on_customer_messages

log = logging.getLogger("hubbub.ingest")


@dataclass
class AcceptResult:
    accepted: int = 0
    duplicates: int = 0
    raw_ids: list[int] = field(default_factory=list)
    #: Duplicates of events stored earlier that are still pending (their processing was lost or failed):
    #: a re-run import hands them on again, so re-running is how an operator gets them processed.
    pending_ids: list[int] = field(default_factory=list)


@dataclass
class BatchResult:
    processed: int = 0
    quarantined: int = 0
    conversations_created: int = 0
    messages_stored: int = 0
    conversation_ids: list[int] = field(default_factory=list)
    #: Batches the sweeper left pending because they failed even row by row (the database was unavailable).
    failed_batches: int = 0

    def add(self, other: BatchResult) -> None:
        self.processed += other.processed
        self.quarantined += other.quarantined
        self.conversations_created += other.conversations_created
        self.messages_stored += other.messages_stored
        self.conversation_ids.extend(other.conversation_ids)
        self.failed_batches += other.failed_batches


#: `queueing.enqueue_once` key of the drain task queued when the task queue is over its limit.
DRAIN_KEY = "ingest-drain"
#: Errors that say nothing about the rows (a lock timeout, a lost connection): the batch is retried whole.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


def quarantine(organization_id: int, source: str, reason: str, raw: str = "", location: str = "") -> None:
    """Keep what we could not accept, with why; visible in Settings → Quarantine."""
    QuarantinedEvent.objects.create(
        organization_id=organization_id,
        source=source,
        location=storable_text(location)[:200],
        reason=storable_text(reason)[:500],
        raw=storable_text(raw)[:20000],
    )
    log.warning("quarantined %s %s: %s", source, location, reason)


def accept(organization_id: int, events: Sequence[InboundEvent], source: str) -> AcceptResult:
    """Commit raw events; duplicates of stored ones (or within the batch) are counted, not added.

    Returns only after the commit, so a webhook may answer 2xx once this returns. Every event is made
    storable first (`normalise`): nothing committed here can fail to be read back by the batch step.
    """
    result = AcceptResult()
    seen: set[tuple[str, str]] = set()
    unique: list[InboundEvent] = []
    for ev in events:
        normalise(ev)
        key = (ev.network, ev.external_id)
        if key in seen:
            result.duplicates += 1
            continue
        seen.add(key)
        unique.append(ev)
    if not unique:
        return result
    existing = rows_by_external_id(
        RawEvent, organization_id, ((ev.network, ev.external_id) for ev in unique), ("id", "state")
    )
    fresh = [ev for ev in unique if (ev.network, ev.external_id) not in existing]
    result.pending_ids = [pk for pk, state in existing.values() if state == RawEvent.State.PENDING]
    result.duplicates += len(unique) - len(fresh)
    if fresh:
        now = timezone.now()
        with transaction.atomic():
            ids = reserve_ids(RawEvent, len(fresh))
            rows = [
                {
                    "id": pk,
                    "organization_id": organization_id,
                    "network": ev.network,
                    "external_id": ev.external_id,
                    "source": source,
                    "payload": ev.to_payload(),
                    "state": RawEvent.State.PENDING,
                    "received_at": now,
                    "processed_at": None,
                    "attempts": 0,
                }
                for ev, pk in zip(fresh, ids, strict=True)
            ]
            # A concurrent writer may have stored some keys since the check above: those rows
            # are skipped, and only the ids that really landed are handed on.
            fast_insert_dicts(RawEvent, rows, ignore_conflicts=True)
            result.raw_ids = stored_ids(RawEvent, ids)
        result.duplicates += len(fresh) - len(result.raw_ids)
    result.accepted = len(result.raw_ids)
    return result


def enqueue_processing(raw_ids: Sequence[int]) -> None:
    """Hand accepted events to the task engine in batches. With the queue over its limit (a flood, or the
    workers stopped) no task per batch is added: one drain task takes every pending event from the raw log
    once the workers reach it. A queue that cannot be reached holds the tasks in this process
    (`queueing.enqueue`); the events are committed either way."""
    from hubbub.ingest.tasks import drain_pending_task, process_batch_task  # tasks imports this module

    if queueing.over_limit():
        queueing.enqueue_once(DRAIN_KEY, drain_pending_task)
        return
    size = settings.INGEST_BATCH_SIZE
    for chunk in chunked(raw_ids, size):
        queueing.enqueue(process_batch_task, chunk)


def process_pending(
    organization_id: int | None = None, limit: int | None = None, older_than: datetime | None = None
) -> BatchResult:
    """Process every pending raw event now, in batches (CLI imports, tests, the sweeper).

    Organisations take turns, one batch each, so one organisation's backlog (or a batch of theirs that
    keeps failing) never holds back another's; a batch that fails even after isolating its rows (the
    database went away) is logged and left pending for the next sweep, and the sweep goes on.
    """
    total = BatchResult()
    qs = RawEvent.objects.filter(state=RawEvent.State.PENDING)
    if older_than is not None:
        qs = qs.filter(received_at__lt=older_than)
    if organization_id is not None:
        qs = qs.filter(organization_id=organization_id)
    orgs = sorted(set(qs.values_list("organization_id", flat=True).order_by()))
    last_id = dict.fromkeys(orgs, 0)
    while last_id:
        for org_id in list(last_id):
            page = qs.filter(organization_id=org_id, id__gt=last_id[org_id]).order_by("id")
            ids = list(page.values_list("id", flat=True)[: settings.INGEST_BATCH_SIZE])
            if not ids:
                del last_id[org_id]
                continue
            last_id[org_id] = ids[-1]
            try:
                total.add(process_batch(ids))
            except Exception:
                total.failed_batches += 1
                log.exception("batch of organisation %s left pending for the next sweep", org_id)
            if limit is not None and total.processed >= limit:
                return total
    return total


def process_batch(raw_ids: Sequence[int]) -> BatchResult:
    """Run one batch down the main road inside one transaction; idempotent on retry.

    A batch that fails because of what its rows hold (anything but the database being unavailable) is
    split in halves until each failing row stands alone; that row is quarantined with the error and its
    raw event marked, so it is never picked again, and every other row is processed. The splitting only
    happens after a failure: a healthy batch costs what it always did.
    """
    try:
        return _run_batch(raw_ids)
    except TRANSIENT_ERRORS:
        raise  # the task is retried whole: the rows are not at fault
    except Exception as exc:
        if len(raw_ids) == 1:
            reason = f"processing failed: {type(exc).__name__}: {exc}"
            log.warning("raw event %s quarantined: %s", raw_ids[0], reason)
            return BatchResult(quarantined=quarantine_failed_event(raw_ids[0], reason))
        log.warning("batch of %s failed (%s: %s); isolating the rows at fault", len(raw_ids), type(exc).__name__, exc)
    total = BatchResult()
    middle = len(raw_ids) // 2
    for half in (raw_ids[:middle], raw_ids[middle:]):
        total.add(process_batch(half))
    return total


def _run_batch(raw_ids: Sequence[int]) -> BatchResult:
    """Prepare the batch outside its transaction (`_prepare`), then one transaction: lock the still-pending
    rows (PostgreSQL: SKIP LOCKED, so two workers never process the same event; SQLite serialises writers
    anyway), write them per organisation, publish after commit."""
    result = BatchResult()
    published: list[tuple[int, int, list[int]]] = []
    ensure_checkpointer()  # SQLite: the log is copied back by a background thread, not by our commits
    prepared = _prepare(raw_ids)
    with transaction.atomic():
        relax_commit_wait()  # PostgreSQL: the inputs are durable already (accept), a lost batch is redone
        locked = _lock_pending(raw_ids)
        for org_id, batch in prepared.items():
            r = _process_org_batch(org_id, batch.keep(locked))
            result.add(r)
            if r.messages_stored:
                published.append((org_id, r.messages_stored, r.conversation_ids))
        crash_point("ingest.batch.before_commit")  # tests: a worker killed with the batch written, uncommitted
    metrics.record_ingest_batch(result.processed, result.quarantined)  # once per batch, after commit
    for org_id, count, conversation_ids in published:
        # which conversations got messages: an inbox with one of them open reloads its pane
        live.publish("messages", org_id, count=count, conversation_ids=conversation_ids[: live.MAX_EVENT_IDS])
    return result


class PendingRaw(NamedTuple):
    """The columns of a raw event the batch step needs (tuples: model instances cost too much here)."""

    pk: int
    organization_id: int
    payload: dict[str, Any]
    source: str
    external_id: str
    error: str = ""  # why the payload cannot be read (then `payload` holds the stored text)


@dataclass
class OrgBatch:
    """One organisation's share of a batch, made ready before the batch's transaction: its events read and
    sorted out, their authors resolved and their labels computed. `good[i]` was labelled `analyses[i]`."""

    good: list[tuple[PendingRaw, InboundEvent, Brand]]
    bad: list[tuple[PendingRaw, str]]
    profiles: dict[ProfileKey, AuthorRow] = field(default_factory=dict)
    analyses: list[Analysis | None] = field(default_factory=list)

    def keep(self, locked: set[int]) -> OrgBatch:
        """Only the events this transaction locked (another worker may have processed the others since)."""
        kept = [(g, a) for g, a in zip(self.good, self.analyses, strict=True) if g[0].pk in locked]
        return OrgBatch(
            [g for g, _ in kept], [b for b in self.bad if b[0].pk in locked], self.profiles, [a for _, a in kept]
        )


def _prepare(raw_ids: Sequence[int]) -> dict[int, OrgBatch]:
    """Everything a batch needs that can be done before its transaction.

    The authors are written in a short transaction of their own: inside the batch's, two batches sharing
    authors (the same customers write again and again) waited on each other's profile rows for the length
    of a whole batch, so a worker's two consumer threads ran one after the other. Labelling is CPU work, done
    here so one thread labels while the other waits for the database. A profile written for a batch that
    then fails is kept: its author did write, and the retried batch finds it."""
    by_org: dict[int, list[PendingRaw]] = defaultdict(list)
    for raw in _read_pending(raw_ids):
        by_org[raw.organization_id].append(raw)
    out: dict[int, OrgBatch] = {}
    for org_id, raws in by_org.items():
        good, bad = _sort_out(org_id, raws)
        good.sort(key=lambda t: (t[1].created_at, t[1].external_id))
        events = [ev for _, ev, _ in good]
        if not events:
            out[org_id] = OrgBatch(good, bad)
            continue
        with transaction.atomic():
            profiles = resolve_authors(org_id, events)
        analyses = _analyze(events, customer_values(org_id, profiles), [brand for _, _, brand in good])
        out[org_id] = OrgBatch(good, bad, profiles, analyses)
    return out


def _read_pending(raw_ids: Sequence[int]) -> list[PendingRaw]:
    """The still-pending events among `raw_ids`, read without a lock (`_lock_pending` takes it).

    Raw SQL with the payload decoded by orjson: the ORM's per-row JSON decoding and
    instance plumbing cost more than the query.
    """
    table = connection.ops.quote_name(RawEvent._meta.db_table)
    out: list[PendingRaw] = []
    with connection.cursor() as cursor:
        for chunk in chunked(raw_ids):
            member, values = in_list("id", chunk)
            cursor.execute(
                f"SELECT id, organization_id, payload, source, external_id FROM {table} "
                f"WHERE state = %s AND {member} ORDER BY id",
                [RawEvent.State.PENDING, *values],
            )
            for pk, org, payload, src, ext in cursor:
                try:
                    out.append(PendingRaw(pk, org, loads_json(payload), src, ext))
                except ValueError as exc:  # stored before accept() normalised (old data) or by another path
                    out.append(PendingRaw(pk, org, payload, src, ext, f"unreadable payload: {exc}"))
    return out


def _lock_pending(raw_ids: Sequence[int]) -> set[int]:
    """The ids among `raw_ids` still pending, locked for this transaction. PostgreSQL skips rows another
    worker holds (SKIP LOCKED); SQLite's IMMEDIATE transaction already serialises writers."""
    table = connection.ops.quote_name(RawEvent._meta.db_table)
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    out: set[int] = set()
    with connection.cursor() as cursor:
        for chunk in chunked(raw_ids):
            member, values = in_list("id", chunk)
            cursor.execute(
                f"SELECT id FROM {table} WHERE state = %s AND {member} ORDER BY id{lock}",
                [RawEvent.State.PENDING, *values],
            )
            out.update(pk for (pk,) in cursor)
    return out


def _process_org_batch(org_id: int, batch: OrgBatch) -> BatchResult:
    result = BatchResult()
    good, profiles, analyses = batch.good, batch.profiles, batch.analyses
    now = timezone.now()
    if batch.bad:
        _quarantine_bad(org_id, batch.bad, now)
        result.quarantined = len(batch.bad)
    if not good:
        return result
    events = [ev for _, ev, _ in good]
    plan = plan_threads(org_id, [(ev, brand) for _, ev, brand in good], analyses, profiles)
    # Route the new customer conversations in memory, so each is written once with its team,
    # priority and SLA (tags and auto-replies follow once they exist).
    follow_up = route_planned(
        org_id,
        [c for c in plan.new_conversations if c.status == Status.OPEN],
        {p.pk: p for p in profiles.values()},
    )
    threaded = write_threads(plan)
    follow_up()
    result.conversations_created = len(threaded.new_conversation_ids)
    result.messages_stored = threaded.message_count
    result.conversation_ids = threaded.touched_conversation_ids
    new_ids = set(threaded.new_conversation_ids)
    returning = [cid for cid in threaded.touched_conversation_ids if cid not in new_ids]
    if returning:
        on_brand_answers(org_id, returning)  # answered on the network itself: response clocks stop then
        on_customer_messages(org_id, returning)  # pending → open, next-response SLA clocks

    # the Reports' daily rollups of these days and conversations are derived again (insights follows)
    messages_ingested.send(
        sender=Conversation,
        organization_id=org_id,
        conversation_ids=threaded.touched_conversation_ids,
        days={ev.created_at.astimezone(UTC).date() for ev in events},
    )
    record_mentions(org_id, [(ev, brand.pk, a) for (_, ev, brand), a in zip(good, analyses, strict=True)])
    announce_mentions(org_id, events)  # integrators' webhooks, after commit; nothing when none subscribed
    _mark(RawEvent.State.PROCESSED, [r.pk for r, _, _ in good], now)
    result.processed = len(good)
    return result


def _mark(state: str, raw_ids: list[int], now: datetime) -> None:
    """Set the raw events' state in one statement per chunk (an array parameter on PostgreSQL: the ORM's
    IN list of 500 values was bound and parsed as SQL text on every batch)."""
    table = connection.ops.quote_name(RawEvent._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(now)  # stored as the ORM stores it
    with connection.cursor() as cursor:
        for chunk in chunked(raw_ids):
            member, values = in_list("id", chunk)
            cursor.execute(f"UPDATE {table} SET state = %s, processed_at = %s WHERE {member}", [state, stamp, *values])


def _sort_out(
    org_id: int, raws: list[PendingRaw]
) -> tuple[list[tuple[PendingRaw, InboundEvent, Brand]], list[tuple[PendingRaw, str]]]:
    """The events that can go down the road (with their brand), and the others with the reason why not."""
    brands = {b.slug: b for b in Brand.objects.filter(organization_id=org_id)}
    good: list[tuple[PendingRaw, InboundEvent, Brand]] = []
    bad: list[tuple[PendingRaw, str]] = []
    for raw in raws:
        if raw.error:
            bad.append((raw, raw.error))
            continue
        try:
            ev = InboundEvent.from_payload(raw.payload)
        except (TypeError, ValueError, KeyError, OverflowError) as exc:
            bad.append((raw, f"malformed payload: {exc}"))
            continue
        brand = brands.get(ev.brand_slug)
        if brand is None:
            bad.append((raw, f"unknown brand {ev.brand_slug!r}"))
            continue
        if ev.created_at.tzinfo is None:
            ev.created_at = ev.created_at.replace(tzinfo=UTC)
        good.append((raw, ev, brand))
    return good, bad


def _quarantine_bad(org_id: int, bad: list[tuple[PendingRaw, str]], now: datetime) -> None:
    """Keep the events the batch cannot take, with the reason, and mark their raw events quarantined."""
    QuarantinedEvent.objects.bulk_create(
        [
            QuarantinedEvent(
                organization_id=org_id,
                source=raw.source,
                location=raw.external_id[:200],
                reason=storable_text(reason)[:500],
                raw=storable_text(str(raw.payload))[:20000],
                raw_event_id=raw.pk,
            )
            for raw, reason in bad
        ]
    )
    RawEvent.objects.filter(id__in=[r.pk for r, _ in bad]).update(state=RawEvent.State.QUARANTINED, processed_at=now)


def _analyze(
    events: list[InboundEvent],
    values: dict[tuple[str, str], float] | None = None,
    brands: list[Brand] | None = None,
) -> list[Analysis | None]:
    """Analyse customers' messages only; the brand's own replies need no labels.

    `values` maps (network, author id) to the linked customer's lifetime value; `brands[i]` is the brand
    of `events[i]`, whose industry and own topics choose the topic list. An event whose network did not
    say its language gets the detected one, before threading and listening read it.
    """
    values = values or {}
    idx = [i for i, ev in enumerate(events) if ev.direction == "in"]
    out: list[Analysis | None] = [None] * len(events)
    if not idx:
        return out
    texts = [events[i].text for i in idx]
    topics = topic_contexts({b.pk: b for b in brands}.values()) if brands else {}
    contexts = [
        AnalysisContext(
            followers=events[i].author_followers,
            retweets=events[i].retweets,
            likes=events[i].likes,
            brand=events[i].brand_slug,
            network=events[i].network,
            customer_value=values.get((events[i].network, events[i].author_id), 0.0),
            industry=topics[brands[i].pk][0] if brands else "",
            topics=topics[brands[i].pk][1] if brands else None,
        )
        for i in idx
    ]
    for i, analysis in zip(idx, analyze_batch(texts, contexts), strict=True):
        out[i] = analysis
        if not events[i].lang and analysis.language:
            events[i].lang = analysis.language
    return out


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value)
