"""Workflow fixtures: conversations made directly (no classifier), routed like the pipeline does."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

_seq = itertools.count(1)


@pytest.fixture
def make_conv(acme):  # type: ignore[no-untyped-def]
    """Create an open customer conversation with one inbound message (optionally routed)."""
    from hubbub.crm.models import Customer, SocialProfile
    from hubbub.inbox.models import Conversation, Message

    def make(
        text: str = "my bag is lost",
        brand: str = "Acme Air",
        org=None,  # type: ignore[no-untyped-def]
        network: str = "x",
        at: datetime | None = None,
        intent: str = "complaint",
        topic: str = "baggage",
        sentiment: str = "negative",
        urgency: int = 30,
        followers: int = 10,
        tier: str | None = None,
        value: float = 0,
        lang: str = "en",
        name: str = "Ann Smith",
        route: bool = True,
    ) -> Conversation:
        org = org or acme["org"]
        n = next(_seq)
        at = at or datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
        customer = None
        if tier is not None:
            customer = Customer.objects.create(organization=org, name=name, tier=tier, lifetime_value=value)
        author = SocialProfile.objects.create(
            organization=org,
            network=network,
            external_id=f"u{n}",
            handle=f"user{n}",
            display_name=name,
            followers=followers,
            customer=customer,
        )
        b = org.brands.get(name=brand)
        conv = Conversation.objects.create(
            organization=org,
            brand=b,
            network=network,
            author=author,
            preview=text[:280],
            search_text=f"@user{n} {name} {text}".lower(),
            sentiment=sentiment,
            intent=intent,
            topic=topic,
            urgency=urgency,
            message_count=1,
            first_message_at=at,
            last_message_at=at,
            last_inbound_at=at,
        )
        Message.objects.create(
            organization=org,
            brand=b,
            conversation=conv,
            network=network,
            external_id=f"m{n}",
            author=author,
            text=text,
            created_at=at,
            lang=lang,
            intent=intent,
            topic=topic,
        )
        if route:
            from hubbub.workflow.services.routing import route_new_conversations

            route_new_conversations(org.pk, [conv.pk])
            conv.refresh_from_db()
        return conv

    return make


@pytest.fixture
def scopes(acme, scope_of):  # type: ignore[no-untyped-def]
    return {role: scope_of(user, acme["org"]) for role, user in acme["users"].items()}
