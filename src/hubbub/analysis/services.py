"""The one entry point of the analysis engine: `analyze_batch(texts, contexts)`.

The ingest pipeline, the `hubbub classify` CLI and re-analysis all call this,
so swapping the model never touches its callers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from hubbub.analysis.types import Analysis, AnalysisContext

if TYPE_CHECKING:
    from hubbub.analysis.models import LabelCorrection
    from hubbub.analysis.train import Correction
    from hubbub.inbox.models import Message
    from hubbub.tenancy.scoping import Scope


class Analyzer(Protocol):
    version: str

    def analyze_batch(
        self, texts: Sequence[str], contexts: Sequence[AnalysisContext | None] | None = None
    ) -> list[Analysis]: ...


@lru_cache(maxsize=1)
def get_analyzer() -> Analyzer:
    """Load the shipped model once per process; fall back to the VADER baseline."""
    try:
        from hubbub.analysis.model import load_default_model  # type: ignore[attr-defined]

        return load_default_model()  # type: ignore[no-any-return]
    except (ImportError, FileNotFoundError):
        from hubbub.analysis.baseline import BaselineAnalyzer

        return BaselineAnalyzer()


def analyze_batch(texts: Sequence[str], contexts: Sequence[AnalysisContext | None] | None = None) -> list[Analysis]:
    return get_analyzer().analyze_batch(texts, contexts)


# --- agents' corrections and re-analysis (Django; imported lazily so `classify` stays Django-free) ---------


def _allowed_values(label_name: str) -> tuple[str, ...] | None:
    """Valid values of a label; None for topic, which brands define themselves."""
    from hubbub.analysis.types import INTENTS, JOURNEY_STAGES, SENTIMENTS

    return {"sentiment": SENTIMENTS, "intent": INTENTS, "journey_stage": JOURNEY_STAGES}.get(label_name)


def _score_for(sentiment: str, score: float) -> float:
    """A sentiment score that agrees with a corrected sentiment label.

    Lists sort and charts average by the score, so a message an agent calls
    positive must not keep a score of -0.8; the model's magnitude is kept when
    it points the right way.
    """
    if sentiment == "neutral":
        return 0.0
    sign = 1.0 if sentiment == "positive" else -1.0
    return sign * max(abs(score), 0.5) if score * sign <= 0 else score


def correct_label(scope: Scope, message: Message, label_name: str, value: str) -> LabelCorrection:
    """Record an agent's label for one inbound message and apply it everywhere it shows.

    Updates the message (and its conversation's summary when it is the latest
    inbound message), stores a `LabelCorrection` for the evaluation page and the
    next `hubbub analysis train --from-db`, and writes an audit entry.
    Needs the agent role or higher.
    """
    from django.db import transaction

    from hubbub import live
    from hubbub.analysis.models import CORRECTABLE_LABELS, LabelCorrection
    from hubbub.inbox.models import Direction
    from hubbub.tenancy.models import Role
    from hubbub.tenancy.scoping import PermissionDenied, require_role
    from hubbub.tenancy.services import audit

    require_role(scope, Role.AGENT)
    if message.organization_id != scope.organization_id or message.brand_id not in scope.brand_ids:
        raise PermissionDenied("This message is outside your organisation or brands.")
    if message.direction != Direction.IN:
        raise ValueError("Only customers' (inbound) messages carry labels.")
    if label_name not in CORRECTABLE_LABELS:
        raise ValueError(f"Unknown label {label_name!r}; use one of {', '.join(CORRECTABLE_LABELS)}")
    value = " ".join((value or "").split()).lower()[:60]
    allowed = _allowed_values(label_name)
    if not value:
        raise ValueError(f"Choose a value for {label_name.replace('_', ' ')}.")
    if allowed is not None and value not in allowed:
        raise ValueError(f"{value!r} is not a {label_name.replace('_', ' ')} label ({', '.join(allowed)})")

    with transaction.atomic():
        old = str(getattr(message, label_name) or "")
        correction = LabelCorrection.objects.create(
            organization_id=scope.organization_id,
            message=message,
            label_name=label_name,
            old_value=old,
            new_value=value,
            model_version=message.model_version,
            corrected_by=scope.user,
        )
        setattr(message, label_name, value)
        fields = [label_name, "analysis"]
        if label_name == "sentiment":
            message.sentiment_score = _score_for(value, message.sentiment_score)
            fields.append("sentiment_score")
        analysis = dict(message.analysis or {})
        corrected = dict(analysis.get("corrected") or {})
        corrected[label_name] = {"from": old, "by": scope.user.get_username(), "correction_id": correction.pk}
        analysis["corrected"] = corrected
        message.analysis = analysis
        message.save(update_fields=fields)

        conv = message.conversation
        latest = (
            conv.messages.filter(direction=Direction.IN).order_by("-created_at", "-id").values_list("id", flat=True)
        ).first()
        if latest == message.pk and label_name in ("sentiment", "intent", "topic"):
            setattr(conv, label_name, value)
            conv_fields = [label_name, "updated_at"]
            if label_name == "sentiment":
                conv.sentiment_score = message.sentiment_score
                conv_fields.append("sentiment_score")
            conv.save(update_fields=conv_fields)
        audit(
            scope.organization_id,
            scope.user,
            "analysis.label_corrected",
            message,
            label=label_name,
            old=old,
            new=value,
            conversation_id=conv.pk,
        )
    live.publish("conversation", scope.organization_id, conversation_id=conv.pk, label_corrected=label_name)
    return correction


def corrections_for_training(organization_id: int | None = None) -> list[Correction]:
    """Stored corrections as `train()` rows; the latest correction of a (message, label) wins."""
    from hubbub.analysis.models import LabelCorrection
    from hubbub.analysis.train import Correction

    qs = LabelCorrection.objects.select_related("message").order_by("created_at", "id")
    if organization_id is not None:
        qs = qs.filter(organization_id=organization_id)
    latest: dict[tuple[int, str], LabelCorrection] = {}
    for c in qs:
        latest[(c.message_id, c.label_name)] = c
    out: list[Correction] = []
    for c in latest.values():
        try:
            out.append(Correction(c.message.text, c.label_name, c.new_value))
        except ValueError:
            continue  # a value that is no longer a valid label (e.g. renamed intent) is skipped
    return out


@dataclass
class ReanalyzeResult:
    messages: int = 0
    conversations: int = 0
    kept_corrections: int = 0
    model_version: str = ""


def reanalyze(
    since: datetime,
    organization_id: int | None = None,
    batch_size: int = 1000,
    progress: Callable[[int, int], None] | None = None,
    analyzer: Analyzer | None = None,
) -> ReanalyzeResult:
    """Re-label stored inbound messages created at or after `since` with the current model.

    Works in id-ordered batches (constant memory, bulk updates); agents'
    corrections are re-applied on top of the new labels, because a human label
    outranks any model. Conversations' summary fields (sentiment, intent,
    topic from the latest inbound message; urgency = the highest of its
    inbound messages) are recomputed for every touched conversation.
    `progress(done, total)` is called after each batch.
    """
    from django.db import transaction
    from django.db.models import Max

    from hubbub.analysis.models import LabelCorrection
    from hubbub.analysis.types import AnalysisContext
    from hubbub.inbox.models import Conversation, Direction, Message

    model = analyzer or get_analyzer()
    qs = Message.objects.filter(direction=Direction.IN, created_at__gte=since)
    if organization_id is not None:
        qs = qs.filter(organization_id=organization_id)
    total = qs.count()
    result = ReanalyzeResult(model_version=model.version)
    touched: set[int] = set()
    last_id = 0
    fields = [
        "sentiment",
        "sentiment_score",
        "intent",
        "topic",
        "journey_stage",
        "urgency",
        "analysis",
        "model_version",
    ]
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
            break
        last_id = batch[-1].pk
        contexts = [
            AnalysisContext(
                followers=m.author.followers if m.author is not None else 0,
                retweets=m.retweets,
                likes=m.likes,
                brand=m.brand.slug,
                network=m.network,
            )
            for m in batch
        ]
        analyses = model.analyze_batch([m.text for m in batch], contexts)
        corrections: dict[int, dict[str, LabelCorrection]] = {}
        for c in LabelCorrection.objects.filter(message_id__in=[m.pk for m in batch]).order_by("created_at", "id"):
            corrections.setdefault(c.message_id, {})[c.label_name] = c
        for m, a in zip(batch, analyses, strict=True):
            m.sentiment = a.sentiment
            m.sentiment_score = a.sentiment_score
            m.intent = a.intent
            m.topic = a.topic[:60]
            m.journey_stage = a.journey_stage
            m.urgency = a.urgency
            m.model_version = a.model_version
            m.analysis = {
                "confidence": {k: round(v, 3) for k, v in a.confidence.items()},
                "explanations": a.explanations,
                "urgency_reasons": a.urgency_reasons,
            }
            mine = corrections.get(m.pk, {})
            for name, c in mine.items():
                setattr(m, name, c.new_value)
                if name == "sentiment":
                    m.sentiment_score = _score_for(c.new_value, m.sentiment_score)
                m.analysis.setdefault("corrected", {})[name] = {"from": getattr(a, name), "correction_id": c.pk}
                result.kept_corrections += 1
            touched.add(m.conversation_id)
        with transaction.atomic():
            Message.objects.bulk_update(batch, fields, batch_size=500)
        result.messages += len(batch)
        if progress is not None:
            progress(result.messages, total)

    ids = sorted(touched)
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        convs = list(Conversation.objects.filter(id__in=chunk).only("id"))
        inbound = Message.objects.filter(conversation_id__in=chunk, direction=Direction.IN)
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
            Conversation.objects.bulk_update(convs, ["sentiment", "sentiment_score", "intent", "topic", "urgency"])
        result.conversations += len(convs)
    return result
