"""Re-label stored customers' messages with the current model (`hubbub analysis reanalyze`).

The engine (`analysis.services.get_analyzer`) gives the labels; the messages and the conversation summaries
they feed are the inbox's, so re-analysis lives here. Agents' corrections (`analysis.LabelCorrection`) are
re-applied on top of the new labels, because a human label outranks any model.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from hubbub.analysis.accurate.model import AccurateAnalyzer
from hubbub.analysis.brand_topics import topic_contexts
from hubbub.analysis.models import LabelCorrection
from hubbub.analysis.services import Analyzer, get_analyzer, score_for
from hubbub.analysis.types import Analysis, AnalysisContext
from hubbub.inbox.models import Conversation, Direction, Message
from hubbub.inbox.signals import messages_relabelled

if TYPE_CHECKING:
    from hubbub.analysis.topics import TopicModel

#: The message fields a re-analysis rewrites.
MESSAGE_FIELDS = (
    "lang",  # filled in from the text when the network gave none (messages stored before detection)
    "sentiment",
    "sentiment_score",
    "intent",
    "topic",
    "journey_stage",
    "urgency",
    "analysis",
    "model_version",
    "refined_at",  # set when the accurate tier labelled the message, cleared when the fast tier relabels it
)
#: The analysis labels among them, as `signals.messages_relabelled` names them.
RELABELLED = ("sentiment", "intent", "topic", "journey_stage", "urgency")
#: The conversation summary fields recomputed from its inbound messages.
SUMMARY_FIELDS = ("sentiment", "sentiment_score", "intent", "topic", "urgency")
SUMMARY_CHUNK = 500


@dataclass
class ReanalyzeResult:
    messages: int = 0
    conversations: int = 0
    kept_corrections: int = 0
    model_version: str = ""


def _message_batches(qs: QuerySet[Message], batch_size: int) -> Iterator[list[Message]]:
    """The messages of `qs` in id order, `batch_size` at a time, with only what the model reads loaded."""
    last_id = 0
    while True:
        batch = list(
            qs.filter(id__gt=last_id)
            .select_related("author", "brand")
            .order_by("id")
            .only("id", "text", "retweets", "likes", "network", "conversation_id", "author__followers", "brand__slug")[
                :batch_size
            ]
        )
        if not batch:
            return
        last_id = batch[-1].pk
        yield batch


def _context(m: Message, topics: dict[int, tuple[str, TopicModel | None]]) -> AnalysisContext:
    """As ingest builds it; `topics` = `brand_topics.topic_contexts` of the batch's brands."""
    industry, own = topics.get(m.brand_id, ("", None))
    return AnalysisContext(
        followers=m.author.followers if m.author is not None else 0,
        retweets=m.retweets,
        likes=m.likes,
        brand=m.brand.slug,
        network=m.network,
        industry=industry,
        topics=own,
    )


def _corrections_of(batch: Sequence[Message]) -> dict[int, dict[str, LabelCorrection]]:
    """Agents' latest correction of each label of each message in the batch."""
    corrections: dict[int, dict[str, LabelCorrection]] = {}
    for c in LabelCorrection.objects.filter(message_id__in=[m.pk for m in batch]).order_by("created_at", "id"):
        corrections.setdefault(c.message_id, {})[c.label_name] = c
    return corrections


def _apply_analysis(m: Message, a: Analysis) -> None:
    m.sentiment = a.sentiment
    m.sentiment_score = a.sentiment_score
    m.intent = a.intent
    m.topic = a.topic[:60]
    m.journey_stage = a.journey_stage
    m.urgency = a.urgency
    m.model_version = a.model_version
    if not m.lang and a.language:
        m.lang = a.language
    m.analysis = {
        "confidence": {k: round(v, 3) for k, v in a.confidence.items()},
        "explanations": a.explanations,
        "urgency_reasons": a.urgency_reasons,
    }


def _reapply_corrections(m: Message, a: Analysis, mine: dict[str, LabelCorrection]) -> int:
    """Put the agents' labels back over the model's; returns how many were kept."""
    for name, c in mine.items():
        setattr(m, name, c.new_value)
        if name == "sentiment":
            m.sentiment_score = score_for(c.new_value, m.sentiment_score)
        m.analysis.setdefault("corrected", {})[name] = {"from": getattr(a, name), "correction_id": c.pk}
    return len(mine)


def _relabel_batch(model: Analyzer, batch: list[Message], result: ReanalyzeResult) -> set[int]:
    """Analyse one batch, keep agents' corrections, store it; returns the conversations it touched."""
    topics = topic_contexts({m.brand_id: m.brand for m in batch}.values())
    analyses = model.analyze_batch([m.text for m in batch], [_context(m, topics) for m in batch])
    corrections = _corrections_of(batch)
    refined = timezone.now() if isinstance(model, AccurateAnalyzer) else None
    for m, a in zip(batch, analyses, strict=True):
        m.refined_at = refined
        _apply_analysis(m, a)
        result.kept_corrections += _reapply_corrections(m, a, corrections.get(m.pk, {}))
    with transaction.atomic():
        Message.objects.bulk_update(batch, list(MESSAGE_FIELDS), batch_size=500)
        _tell_relabelled([m.pk for m in batch])
    result.messages += len(batch)
    return {m.conversation_id for m in batch}


def _tell_relabelled(message_ids: Sequence[int]) -> None:
    """`signals.messages_relabelled` for each organisation of the batch, with the days its messages were
    written (the report rollups count inbound messages per sentiment by that day)."""
    days: dict[int, set[date]] = defaultdict(set)
    for org_id, at in Message.objects.filter(pk__in=list(message_ids)).values_list("organization_id", "created_at"):
        days[org_id].add(at.astimezone(UTC).date())
    for org_id, touched in days.items():
        messages_relabelled.send(sender=Message, organization_id=org_id, days=touched, labels=set(RELABELLED))


def _resummarise(conversation_ids: Sequence[int]) -> int:
    """Recompute these conversations' summaries: labels of the latest inbound message, highest urgency."""
    convs = list(Conversation.objects.filter(id__in=conversation_ids).only("id"))
    inbound = Message.objects.filter(conversation_id__in=conversation_ids, direction=Direction.IN)
    latest: dict[int, Message] = {}
    for m in inbound.order_by("conversation_id", "created_at", "id").only(
        "conversation_id", "sentiment", "sentiment_score", "intent", "topic"
    ):
        latest[m.conversation_id] = m  # ordered: the last one seen is the latest inbound
    top = dict(inbound.values("conversation_id").annotate(u=Max("urgency")).values_list("conversation_id", "u"))
    for conv in convs:
        newest = latest.get(conv.pk)
        if newest is None:
            continue
        conv.sentiment, conv.sentiment_score = newest.sentiment, newest.sentiment_score
        conv.intent, conv.topic = newest.intent, newest.topic
        conv.urgency = top.get(conv.pk) or 0
    with transaction.atomic():
        Conversation.objects.bulk_update(convs, list(SUMMARY_FIELDS))
    return len(convs)


def reanalyze(
    since: datetime,
    organization_id: int | None = None,
    batch_size: int = 1000,
    progress: Callable[[int, int], None] | None = None,
    analyzer: Analyzer | None = None,
) -> ReanalyzeResult:
    """Re-label stored inbound messages created at or after `since` with the current model.

    Works in id-ordered batches (constant memory, bulk updates); agents' corrections are re-applied on top of
    the new labels. Conversations' summary fields (sentiment, intent, topic from the latest inbound message;
    urgency = the highest of its inbound messages) are recomputed for every touched conversation.
    `progress(done, total)` is called after each batch.
    """
    model = analyzer or get_analyzer()
    qs = Message.objects.filter(direction=Direction.IN, created_at__gte=since)
    if organization_id is not None:
        qs = qs.filter(organization_id=organization_id)
    total = qs.count()
    result = ReanalyzeResult(model_version=model.version)
    touched: set[int] = set()
    for batch in _message_batches(qs, batch_size):
        touched |= _relabel_batch(model, batch, result)
        if progress is not None:
            progress(result.messages, total)
    ids = sorted(touched)
    for i in range(0, len(ids), SUMMARY_CHUNK):
        result.conversations += _resummarise(ids[i : i + SUMMARY_CHUNK])
    return result


def relabel(analyzer: Analyzer, batch: list[Message]) -> int:
    """Relabel a chosen batch of messages (the background refinement's, `ingest/refinement.py`) as `reanalyze`
    does, and recompute their conversations' summaries; returns how many messages were stored."""
    result = ReanalyzeResult(model_version=analyzer.version)
    _resummarise(sorted(_relabel_batch(analyzer, batch, result)))
    return result.messages
