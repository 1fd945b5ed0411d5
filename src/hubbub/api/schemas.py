from __future__ import annotations

from datetime import datetime

from ninja import Schema


class ConversationOut(Schema):
    id: int
    brand_id: int
    brand: str
    network: str
    author: str
    status: str
    priority: int
    assignee_id: int | None
    team_id: int | None
    preview: str
    sentiment: str
    intent: str
    topic: str
    urgency: int
    message_count: int
    first_message_at: datetime
    last_message_at: datetime
    first_response_at: datetime | None
    sla_due_at: datetime | None


class ConversationPage(Schema):
    items: list[ConversationOut]
    next_cursor: str | None


class MessageOut(Schema):
    id: int
    external_id: str
    direction: str
    author: str | None
    text: str
    created_at: datetime
    in_reply_to: str
    sentiment: str
    sentiment_score: float
    intent: str
    topic: str
    journey_stage: str
    urgency: int
    model_version: str


class ReplyIn(Schema):
    text: str


class ReplyOut(Schema):
    id: int
    state: str
    text: str
    external_id: str
    review_comment: str


class ConversationPatch(Schema):
    status: str | None = None
    assignee_id: int | None = None
    team_id: int | None = None
    unassign: bool = False


class ErrorOut(Schema):
    detail: str
