"""Inbox list queries shared by the web UI and the API: filters and keyset pagination.

Keyset (seek) pagination keeps page N as fast as page 1 on 100k+ conversations:
each page asks for rows "after" the last one seen, using the sort's index.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from hubbub.inbox.models import Conversation, Direction, Message, Status
from hubbub.tenancy.scoping import Scope, scoped

SORTS = {
    "newest": (("-last_message_at", "-id"), "last_message_at"),
    "urgent": (("-urgency", "-last_message_at", "-id"), "urgency"),
    "sla": (("sla_due_at", "id"), "sla_due_at"),
}


# The languages offered in the inbox's filter: the commonest of social customer care (any other code still
# works in the URL, `?lang=xx`, and in the API).
LANGUAGE_CHOICES = (
    ("en", "English"), ("es", "Spanish"), ("fr", "French"), ("de", "German"), ("pt", "Portuguese"),
    ("it", "Italian"), ("nl", "Dutch"), ("ja", "Japanese"), ("ar", "Arabic"), ("hi", "Hindi"), ("tr", "Turkish"),
)  # fmt: skip


@dataclass
class InboxFilters:
    brand: int | None = None
    status: str | None = "open"
    sentiment: str | None = None
    assignee: str | None = None  # user id, "me" or "none"
    team: int | None = None
    network: str | None = None
    lang: str | None = None  # a conversation with an inbound message in this language (ISO 639-1)
    q: str = ""
    sort: str = "newest"
    due: int | None = None  # minutes: an SLA clock not yet breached, due within this many minutes from now
    overdue: bool = False  # an SLA clock past its due time, the customer still waiting

    @classmethod
    def from_params(cls, params: Any, default_status: str | None = "open") -> InboxFilters:
        def as_int(v: Any) -> int | None:
            try:
                return int(v) if v not in (None, "") else None
            except (TypeError, ValueError):
                return None

        status = params.get("status", default_status)
        sort = params.get("sort") or "newest"
        return cls(
            brand=as_int(params.get("brand")),
            status=status if status in Status.values else None,
            sentiment=params.get("sentiment")
            if params.get("sentiment") in ("negative", "neutral", "positive")
            else None,
            assignee=(params.get("assignee") or None),
            team=as_int(params.get("team")),
            network=params.get("network") or None,
            lang=_lang(params.get("lang")),
            q=(params.get("q") or "").strip()[:200],
            sort=sort if sort in SORTS else "newest",
            due=_minutes(params.get("due")),
            overdue=params.get("overdue") in ("1", "true", "on"),
        )


MAX_DUE_MINUTES = 7 * 24 * 60


def _minutes(value: Any) -> int | None:
    """A number of minutes within a week, or None for anything else (a URL is typed, not trusted)."""
    v = str(value or "").strip()
    return int(v) if v.isdigit() and len(v) <= 6 and int(v) <= MAX_DUE_MINUTES else None


def _lang(value: Any) -> str | None:
    """A language code as stored (`en`, `es`, `pt`…), or None for anything else."""
    v = str(value or "").strip().lower()
    return v if 2 <= len(v) <= 3 and v.isalpha() else None


def filter_conversations(scope: Scope, f: InboxFilters) -> QuerySet[Conversation]:
    qs = scoped(Conversation.objects.all(), scope)
    if f.brand is not None:
        qs = qs.filter(brand_id=f.brand)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.sentiment:
        qs = qs.filter(sentiment=f.sentiment)
    if f.assignee == "me":
        qs = qs.filter(assignee_id=scope.user.pk)
    elif f.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif f.assignee and f.assignee.isdigit():
        qs = qs.filter(assignee_id=int(f.assignee))
    if f.team is not None:
        qs = qs.filter(team_id=f.team)
    if f.network:
        qs = qs.filter(network=f.network)
    if f.lang:
        in_lang = Message.objects.filter(conversation_id=OuterRef("pk"), direction=Direction.IN, lang=f.lang)
        qs = qs.filter(Exists(in_lang))
    if f.q:
        qs = qs.filter(search_text__contains=f.q.lower())
    if f.sort == "sla":
        qs = qs.filter(sla_due_at__isnull=False)
    if f.due is not None or f.overdue:
        now = timezone.now()
        if f.due is not None:
            qs = qs.filter(sla_due_at__gte=now, sla_due_at__lte=now + timedelta(minutes=f.due))
        if f.overdue:
            qs = qs.filter(sla_due_at__lt=now)
    return qs


def encode_cursor(conv: Conversation, sort: str) -> str:
    field = SORTS[sort][1]
    value = getattr(conv, field)
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([value, conv.pk, conv.last_message_at.isoformat()])
    return base64.urlsafe_b64encode(raw.encode()).decode()


def page(
    qs: QuerySet[Conversation], sort: str, cursor: str | None, size: int = 50
) -> tuple[list[Conversation], str | None]:
    """One page in `sort` order after `cursor`; returns the rows and the next cursor."""
    order, _field = SORTS[sort]
    if cursor:
        try:
            value, last_id, last_at = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        except (ValueError, TypeError):
            value = last_id = last_at = None
        if last_id is not None:
            at = datetime.fromisoformat(last_at)
            if sort == "newest":
                qs = qs.filter(Q(last_message_at__lt=at) | Q(last_message_at=at, id__lt=last_id))
            elif sort == "urgent":
                qs = qs.filter(
                    Q(urgency__lt=value)
                    | Q(urgency=value, last_message_at__lt=at)
                    | Q(urgency=value, last_message_at=at, id__lt=last_id)
                )
            elif sort == "sla" and value is not None:
                due = datetime.fromisoformat(value)
                qs = qs.filter(Q(sla_due_at__gt=due) | Q(sla_due_at=due, id__gt=last_id))
    rows = list(qs.order_by(*order).select_related("brand", "author", "assignee")[: size + 1])
    nxt = encode_cursor(rows[size - 1], sort) if len(rows) > size else None
    return rows[:size], nxt
