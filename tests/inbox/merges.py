"""A merge chain for the tests of links to merged conversations (inbox, web, API)."""

from __future__ import annotations

from typing import Any

from hubbub.inbox.merging import MergePair, merge_conversations
from hubbub.inbox.models import Conversation


def merged_chain(org: Any, make_event: Any, ingest: Any) -> tuple[int, int, int]:
    """Three conversations of Acme Air: A is merged into B, then B into C. Returns their ids (A, B, C)."""
    ingest(org, [make_event(f"@AcmeAir {who} here", author=who) for who in ("ann", "bob", "cat")])
    a, b, c = (Conversation.objects.get(organization=org, author__handle=who).pk for who in ("ann", "bob", "cat"))
    merge_conversations(org.pk, [MergePair(b, a)], reason="test")
    merge_conversations(org.pk, [MergePair(c, b)], reason="test")
    return a, b, c
