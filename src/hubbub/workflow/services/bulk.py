"""The same reply on many conversations at once (one incident, many customers).

All or nothing: the inbox's bulk form and `POST /api/v1/workflow/bulk-replies` both call
`bulk_reply`, which checks every conversation before creating any reply, so a refusal names
each conversation concerned and leaves nothing half-sent.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from hubbub.connectors.outbound import ReplyTooLong, check_length
from hubbub.inbox.actions.replies import Origin, do_create_reply
from hubbub.inbox.inputs import ReplyIn
from hubbub.inbox.models import Conversation, Reply
from hubbub.inputs import checked
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, require_role
from hubbub.workflow.inputs import BULK_REPLY_LIMIT

__all__ = ["BULK_REPLY_LIMIT", "BulkReplyRefused", "bulk_reply"]


class BulkReplyRefused(ValueError):
    """The bulk reply does not fit some of its conversations, so no reply was created on any.
    `failures`: conversation id → why, in the order the conversations were given."""

    def __init__(self, failures: dict[int, str]) -> None:
        self.failures = failures
        n = len(failures)
        super().__init__(
            f"No reply was created: {n} conversation{'s' if n != 1 else ''} cannot take this text "
            f"({'; '.join(f'#{i}: {why}' for i, why in failures.items())}). "
            "Shorten the text or leave those conversations out, then send again."
        )


def bulk_reply(scope: Scope, conversations: Sequence[Conversation], text: str) -> list[Reply]:
    """The same reply on many conversations, all or nothing; each goes through `do_create_reply`, approval
    included. Everything is checked before anything is created (at most `BULK_REPLY_LIMIT` conversations, each
    once, a text that fits every conversation's network: else `BulkReplyRefused` naming each that does not),
    then the replies are created in one transaction, so a failure half-way leaves none behind (their delivery
    is queued on commit)."""
    require_role(scope, Role.AGENT)
    if len(conversations) > BULK_REPLY_LIMIT:
        raise ValueError(f"At most {BULK_REPLY_LIMIT} conversations at once; {len(conversations)} were given.")
    ids = [conv.pk for conv in conversations]
    if len(set(ids)) != len(ids):
        raise ValueError("Each conversation gets one reply: a conversation is listed more than once.")
    text = checked(ReplyIn, text=text).text  # never empty, as any reply
    failures: dict[int, str] = {}
    for conv in conversations:
        try:
            check_length(conv.network, text)
        except ReplyTooLong as exc:
            failures[conv.pk] = str(exc)
    if failures:
        raise BulkReplyRefused(failures)
    with transaction.atomic():
        return [do_create_reply(scope, conv, text, Origin.BULK) for conv in conversations]
