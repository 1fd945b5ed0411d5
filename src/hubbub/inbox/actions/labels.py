"""An agent corrects the analysis labels of a customer's message.

The labels live on the inbox's `Message` (and, for the latest inbound message, on its conversation's
summary), so the change is an inbox action; the engine's side of it — which labels exist, which values are
valid, the `LabelCorrection` that teaches the next model — belongs to the analysis app below.
"""

from __future__ import annotations

from datetime import UTC

from django.db import transaction

from hubbub.analysis.models import CORRECTABLE_LABELS, LabelCorrection
from hubbub.analysis.services import score_for
from hubbub.inbox.actions.conversations import announce
from hubbub.inbox.inputs import LabelsIn
from hubbub.inbox.models import Conversation, Direction, Message
from hubbub.inbox.signals import messages_relabelled
from hubbub.inputs import InvalidInput, checked
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import PermissionDenied, Scope, require_role
from hubbub.tenancy.services import audit

#: Labels a conversation summarises from its latest inbound message.
SUMMARY_LABELS = ("sentiment", "intent", "topic")


def _clean_value(label_name: str, value: str) -> str:
    """The value as stored, by the rule of the label form (`inbox.inputs.LabelsIn`); ValueError if it is not
    one of the label's values, or the label is not one an agent corrects."""
    if label_name not in CORRECTABLE_LABELS:
        raise ValueError(f"Unknown label {label_name!r}; use one of {', '.join(CORRECTABLE_LABELS)}")
    clean = checked(LabelsIn, {label_name: value}).given().get(label_name)
    if clean is None:
        raise InvalidInput.of(label_name, f"Choose a value for {label_name.replace('_', ' ')}.")
    return str(clean)


def _relabel_message(message: Message, label_name: str, value: str, old: str, by: str, correction_id: int) -> None:
    """Write the agent's label on the message, noting in its analysis what the model had said."""
    setattr(message, label_name, value)
    fields = [label_name, "analysis"]
    if label_name == "sentiment":
        message.sentiment_score = score_for(value, message.sentiment_score)
        fields.append("sentiment_score")
    analysis = dict(message.analysis or {})
    corrected = dict(analysis.get("corrected") or {})
    corrected[label_name] = {"from": old, "by": by, "correction_id": correction_id}
    analysis["corrected"] = corrected
    message.analysis = analysis
    message.save(update_fields=fields)


def _update_summary(conv: Conversation, message: Message, label_name: str, value: str) -> None:
    """The conversation shows its latest inbound message's labels: follow a correction of that message."""
    latest = (
        conv.messages.filter(direction=Direction.IN).order_by("-created_at", "-id").values_list("id", flat=True)
    ).first()
    if latest != message.pk or label_name not in SUMMARY_LABELS:
        return
    setattr(conv, label_name, value)
    conv_fields = [label_name, "updated_at"]
    if label_name == "sentiment":
        conv.sentiment_score = message.sentiment_score
        conv_fields.append("sentiment_score")
    conv.save(update_fields=conv_fields)


def do_correct_label(scope: Scope, message: Message, label_name: str, value: str) -> LabelCorrection:
    """Record an agent's label for one inbound message and apply it everywhere it shows.

    Updates the message (and its conversation's summary when it is the latest inbound message), stores a
    `LabelCorrection` for the evaluation page and the next `hubbub analysis train --from-db`, writes an audit
    entry, announces the change after commit and sends `signals.messages_relabelled` (the report rollups
    count inbound messages by sentiment). Needs the agent role or higher.
    """
    require_role(scope, Role.AGENT)
    if message.organization_id != scope.organization_id or message.brand_id not in scope.brand_ids:
        raise PermissionDenied("This message is outside your organisation or brands.")
    if message.direction != Direction.IN:
        raise ValueError("Only customers' (inbound) messages carry labels.")
    value = _clean_value(label_name, value)

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
        _relabel_message(message, label_name, value, old, scope.user.get_username(), correction.pk)
        conv = message.conversation
        _update_summary(conv, message, label_name, value)
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
        announce(conv, label_corrected=label_name)
        messages_relabelled.send(
            sender=Message,
            organization_id=scope.organization_id,
            days={message.created_at.astimezone(UTC).date()},
            labels={label_name},
        )
    return correction
