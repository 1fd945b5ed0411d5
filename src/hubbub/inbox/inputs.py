"""The inbox's typed inputs: one schema per conversation or reply action, holding that action's rules.

The API takes them as request bodies (`inbox.api`; `workflow.api` for the approval queue), the web forms read the
posted fields into them (`hubbub.inputs.form_input` in `inbox.views`, `inbox.label_views`,
`workflow.views.approvals`), and the `do_*` actions check what they are given against the same schema
(`hubbub.inputs.checked`), so the CLI, automations and issue updates, which post no form, meet the same rule
with the same words. What needs the database or the conversation (membership, the network's length limit,
approval) stays in the action.

Each class name is its component's name in the OpenAPI document.
"""

from __future__ import annotations

from typing import Annotated, Any

from ninja import Schema
from pydantic import AfterValidator, ValidationInfo, field_validator

from hubbub.analysis.models import CORRECTABLE_LABELS
from hubbub.analysis.services import allowed_values
from hubbub.api.schemas import Id
from hubbub.inbox.models import Status
from hubbub.inputs import Words, filled, refuse

NOTE_MAX_CHARS = 10_000
TAG_MAX_CHARS = 60  # the column's size
LABEL_MAX_CHARS = 60  # LabelCorrection.new_value


def _status(value: str) -> str:
    if value not in Status.values:
        raise refuse(f"Unknown status {value!r}; use one of {', '.join(Status.values)}")
    return value


def _note_length(value: str) -> str:
    if len(value) > NOTE_MAX_CHARS:
        raise refuse(
            f"A note is at most {NOTE_MAX_CHARS:,} characters; this one has {len(value):,}. Shorten it or split it."
        )
    return value


def _tag_names(names: list[str]) -> list[str]:
    """Tags as stored: lower case, at most `TAG_MAX_CHARS`, each once, sorted."""
    return sorted({n.strip().lower()[:TAG_MAX_CHARS] for n in names if n.strip()})


StatusValue = Annotated[str, AfterValidator(_status)]
ReplyText = Annotated[str, AfterValidator(filled("The reply is empty."))]  # a reply's words, stripped, never empty


class StatusIn(Schema):
    """The status form of the thread pane; the API's `ConversationPatch.status` follows the same rule."""

    status: StatusValue


class AssignIn(Schema):
    """Assign a conversation to a member and/or a team (an empty assignee unassigns it)."""

    assignee_id: Id | None = None
    team_id: Id | None = None


class ConversationPatch(Schema):
    status: StatusValue | None = None
    assignee_id: Id | None = None
    team_id: Id | None = None
    unassign: bool = False


class ReplyIn(Schema):
    text: ReplyText


class NoteIn(Schema):
    text: Annotated[str, AfterValidator(filled("A note needs some text.")), AfterValidator(_note_length)]


class TagsIn(Schema):
    """The conversation's tags, all of them (a list, or one text "refund, vip")."""

    tags: Annotated[Words, AfterValidator(_tag_names)] = []


class ApproveIn(Schema):
    """Approve a held reply (or issue update); a text edits it first (blank: keep the words as written)."""

    text: str | None = None

    @field_validator("text")
    @classmethod
    def _blank_keeps(cls, value: str | None) -> str | None:
        return (value.strip() or None) if value is not None else None


class RejectIn(Schema):
    comment: Annotated[str, AfterValidator(filled("Say why: a rejection needs a comment for the agent."))]


class LabelsIn(Schema):
    """The "why this label" form: each label an agent sets on a customer's message (empty: leave it)."""

    sentiment: str | None = None
    intent: str | None = None
    topic: str | None = None
    journey_stage: str | None = None

    @field_validator(*CORRECTABLE_LABELS)
    @classmethod
    def _known_value(cls, value: str | None, info: ValidationInfo) -> str | None:
        """One line, lower case, at most `LABEL_MAX_CHARS`; one of the engine's values (topics: any)."""
        value = " ".join((value or "").split()).lower()[:LABEL_MAX_CHARS]
        if not value:
            return None
        label = str(info.field_name)
        allowed = allowed_values(label)
        if allowed is not None and value not in allowed:
            raise refuse(f"{value!r} is not a {label.replace('_', ' ')} label ({', '.join(allowed)})")
        return value

    def given(self) -> dict[str, Any]:
        """The labels set, in form order."""
        return {name: value for name in CORRECTABLE_LABELS if (value := getattr(self, name)) is not None}
