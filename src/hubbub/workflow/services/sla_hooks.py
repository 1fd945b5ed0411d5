"""The SLA clock hooks: what the pipeline and the inbox call when a conversation changes.

The clocks themselves live in `workflow.sla`; these say which clock to pause, resume, start or
stop when the customer writes again (`on_customer_messages`, from ingest), when the brand answered on the
network itself (`on_brand_answers`, from ingest), when an agent changes
the status (`on_status_changed`) and when a reply goes out (`on_reply_sent`), and refresh the
conversation's `sla_due_at` so the list shows the new countdown.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from hubbub.inbox.models import Conversation, Status
from hubbub.tenancy.models import AuditEvent
from hubbub.tenancy.services import audit_entry
from hubbub.workflow import sla
from hubbub.workflow.models import Metric


def on_customer_messages(org_id: int, conversation_ids: Sequence[int]) -> None:
    """The customer wrote again on existing conversations: end a pending wait (reopen and
    resume the clocks) and start a next-response clock when our reply is the older message."""
    ids = list(conversation_ids)
    if not ids:
        return
    # By primary key only, organisation checked on the rows (see sla.start_next_response for why).
    waiting = Conversation.objects.filter(id__in=ids, status=Status.PENDING).values_list(
        "id", "organization_id", "last_inbound_at", "last_message_at", "brand_id"
    )
    reopen = {
        cid: brand_id
        for cid, org, last_in, last_msg, brand_id in waiting
        if org == org_id and last_in is not None and last_in >= last_msg
    }
    if reopen:
        Conversation.objects.filter(id__in=list(reopen)).update(status=Status.OPEN)
        sla.resume(list(reopen))
        AuditEvent.objects.bulk_create(
            [
                audit_entry(
                    org_id,
                    "conversation.status",
                    "conversation",
                    cid,
                    brand_id=brand_id,
                    old="pending",
                    new="open",
                    why="customer replied",
                )
                for cid, brand_id in reopen.items()
            ]
        )
    sla.start_next_response(org_id, ids)


def on_brand_answers(org_id: int, conversation_ids: Sequence[int]) -> None:
    """The brand answered on the network itself (from the network's own app, or in an imported history): its
    message stops the response clocks at the time it was posted, as a reply sent from Hubbub would. Without
    this, a team that answers some posts natively sees them breach in Hubbub although the customer has had
    an answer."""
    rows = Conversation.objects.filter(id__in=list(conversation_ids)).values_list(
        "id", "organization_id", "first_response_at", "last_inbound_at", "last_message_at"
    )
    first: dict[int, datetime] = {}
    latest: dict[int, datetime] = {}
    for cid, org, first_response, last_in, last_msg in rows:
        if org != org_id:
            continue
        if first_response is not None:
            first[cid] = first_response
        if last_in is not None and last_msg is not None and last_msg > last_in:
            latest[cid] = last_msg  # our message is the newest: the customer's wait is over
    if first:
        sla.stop(list(first), [Metric.FIRST_RESPONSE], at=first)
    if latest:
        sla.stop(list(latest), [Metric.NEXT_RESPONSE], at=latest)


def on_status_changed(conv: Conversation, old_status: str) -> None:
    """Pending pauses the clocks, reopening resumes them, resolving stops them."""
    new = conv.status
    if new == old_status:
        return
    if new == Status.PENDING:
        sla.pause([conv.pk])
    elif new == Status.RESOLVED:
        sla.stop([conv.pk], [Metric.RESOLUTION])
        sla.stop([conv.pk], None, cancel=True)
    elif new == Status.OPEN:
        if old_status == Status.PENDING:
            sla.resume([conv.pk])
        else:  # reopened after resolution: the customer waits again for an answer
            sla.start_next_response(conv.organization_id, [conv.pk])
    conv.sla_due_at = Conversation.objects.filter(pk=conv.pk).values_list("sla_due_at", flat=True).first()


def on_reply_sent(conv: Conversation) -> None:
    """A reply stops the first- and next-response clocks (met or breached)."""
    sla.stop([conv.pk], [Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE])
    conv.sla_due_at = Conversation.objects.filter(pk=conv.pk).values_list("sla_due_at", flat=True).first()
