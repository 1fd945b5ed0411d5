"""The workflow API's response shapes (`hubbub.workflow.api` serves them); the request bodies are the
workflow's input schemas (`workflow.inputs`), which its web forms read too.

Kept apart from the endpoints so the endpoints read as what they do. Each class name is the name of its
component in the OpenAPI document. An answer's schema never inherits an input's: the input's rules are for
what a user sends, not for rows already stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema

# --------------------------------------------------------------------------- rules


class Error(Schema):
    detail: str


class RuleOut(Schema):
    id: int
    name: str
    position: int
    is_active: bool
    stop_processing: bool
    conditions: dict[str, Any]
    actions: dict[str, Any]


class PreviewOut(Schema):
    matched: int
    scanned: int
    sample_ids: list[int]


# --------------------------------------------------------------------------- SLA policies, business hours and clocks


class SLAPolicyOut(Schema):
    id: int
    name: str
    targets: dict[str, Any]
    business_hours_id: int | None
    brand_id: int | None
    warn_at_pct: int
    is_default: bool


class BusinessHoursOut(Schema):
    id: int
    name: str
    timezone: str
    schedule: dict[str, Any]
    holidays: list[str]


class ClockOut(Schema):
    metric: str
    state: str
    target_seconds: int
    used_seconds: int
    started_at: datetime
    due_at: datetime | None
    warned_at: datetime | None
    breached_at: datetime | None
    stopped_at: datetime | None
    outcome: str


class SLAHistoryOut(Schema):
    clocks: list[ClockOut]
    history: list[dict[str, Any]]


# --------------------------------------------------------------------------- approval


class ApprovalPolicyOut(Schema):
    name: str
    is_active: bool
    roles: list[str]
    brand_ids: list[int]
    intents: list[str]
    topics: list[str]
    sensitive_words: list[str]
    during_incident: bool
    id: int


class PendingReplyOut(Schema):
    id: int
    conversation_id: int
    brand_id: int
    author: str | None
    text: str
    state: str
    review_comment: str
    created_at: datetime


class ReplyStateOut(Schema):
    id: int
    state: str
    text: str
    review_comment: str


# --------------------------------------------------------------------------- bulk reply


NOT_SENT = "not_sent"  # the `state` of a bulk-reply result for which no reply was created


class BulkReplyOut(Schema):
    """One per requested conversation id, in the order given: the reply created there, or (`state`
    "not_sent", `id` null) why none was: the conversation was merged into `merged_into`."""

    conversation_id: int
    id: int | None  # the reply; null when nothing was sent
    state: str
    text: str
    review_comment: str
    merged_into: int | None = None
    detail: str = ""


class BulkReplyFailure(Schema):
    conversation_id: int
    detail: str  # why this conversation cannot take the reply (e.g. too long for its network)


class BulkReplyError(Schema):
    """A refused bulk reply (nothing was created): `detail` says why; `failed` names each conversation the text
    does not fit, `duplicates` each id listed more than once."""

    detail: str
    failed: list[BulkReplyFailure] = []
    duplicates: list[int] = []


# --------------------------------------------------------------------------- canned


class CannedOut(Schema):
    title: str
    body: str
    brand_id: int | None
    id: int


class RenderedOut(Schema):
    text: str
    length: int
    limit: int | None
    fits: bool


# --------------------------------------------------------------------------- issues


class DeliveryOut(Schema):
    conversation_id: int
    status: str
    error: str
    reply_id: int | None


class UpdateOut(Schema):
    id: int
    text: str
    state: str
    is_closing: bool
    review_comment: str
    deliveries: list[DeliveryOut]


class IssueOut(Schema):
    id: int
    brand_id: int
    title: str
    state: str
    conversation_ids: list[int]
    updates: list[UpdateOut]


# --------------------------------------------------------------------------- assignment


class AvailabilityOut(Schema):
    user_id: int
    available: bool


class AssignmentOut(Schema):
    team_id: int
    mode: str
    capacity: int


# --------------------------------------------------------------------------- audit


class AuditOut(Schema):
    created_at: datetime
    actor: str | None
    verb: str
    target_type: str
    target_id: str
    data: dict[str, Any]
