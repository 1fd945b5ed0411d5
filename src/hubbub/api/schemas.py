"""The API's shared shapes: conversations, messages and replies, the bounded integers every endpoint takes,
and the error answers every endpoint declares (`answers`). The inputs of the inbox's actions are the inbox's
(`inbox.inputs`), shared with its web forms."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from ninja import Schema
from pydantic import Field

from hubbub.ids import DB_INT_MAX
from hubbub.inputs import SplitIds

# Bounded by the largest integer both databases store (a signed 64-bit column). A larger id, limit or offset
# used to reach the database and fail there (a 500); bounded in the schema it is a 422 naming the parameter.
Id = Annotated[int, Field(ge=1, le=DB_INT_MAX)]  # a row's id: path, query and body alike
IdList = Annotated[list[Id], SplitIds]  # ids: a JSON list, or typed in a form's box ("12 14, #15")
Count = Annotated[int, Field(ge=0, le=DB_INT_MAX)]  # an offset, a number of things


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


class ReplyOut(Schema):
    id: int
    state: str
    text: str
    external_id: str
    review_comment: str


class ErrorOut(Schema):
    detail: str  # what went wrong and, where it helps, what to do


class InvalidOut(Schema):
    """A 422: the parameters or body do not fit the schema (ninja lists each problem with its `loc` and
    `msg`), or the request is well-formed but cannot be applied (then a sentence)."""

    detail: str | list[dict[str, Any]]


# What any endpoint can answer besides its success: a malformed body or a service's refusal (400), no or a
# bad token (401), a role too low or no membership (403), parameters that do not fit the schema (422).
COMMON_ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 422: InvalidOut}
# The errors an endpoint adds when it names them: a row outside the caller's scope or absent (404), a name
# or key already taken (409), a remote service that failed (502).
MORE_ERRORS: dict[int, Any] = {404: ErrorOut, 409: ErrorOut, 502: ErrorOut}


def answers(success: Any, *errors: int, **overrides: Any) -> dict[int, Any]:
    """The `response=` of an endpoint: its success (a schema, answered with 200, or a `{status: schema}`
    dict), the common errors, and the further `errors` (404, 409, 502) it can give. `overrides` replace an
    error's schema by status (`e404=NotFoundOut`), for errors that carry more than a sentence.

    Why one helper: the OpenAPI document is a contract that clients generate code from and the schemathesis
    gate checks; an error answer the document does not declare breaks it."""
    declared = dict(success) if isinstance(success, dict) else {200: success}
    for status in errors:
        declared.setdefault(status, MORE_ERRORS[status])
    for status, schema in COMMON_ERRORS.items():
        declared.setdefault(status, schema)
    for name, schema in overrides.items():
        declared[int(name.removeprefix("e"))] = schema
    return declared
