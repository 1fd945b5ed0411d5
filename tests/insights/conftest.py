"""Insights fixtures: social mentions and survey responses with known labels, written directly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count

import pytest

_ids = count()
BASE = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def mentions():  # type: ignore[no-untyped-def]
    """`mentions(org, brand, [(sentiment, topic, n), ...])`: inbound messages as the pipeline stores them."""
    from hubbub.crm.models import SocialProfile
    from hubbub.inbox.models import Conversation, Message

    def make(org, brand, spec, at=BASE):  # type: ignore[no-untyped-def]
        author = SocialProfile.objects.create(organization=org, network="x", external_id=f"a{next(_ids)}", handle="fan")
        conv = Conversation.objects.create(
            organization=org, brand=brand, network="x", author=author, first_message_at=at, last_message_at=at
        )
        rows = []
        for sentiment, topic, n in spec:
            for _ in range(n):
                i = next(_ids)
                rows.append(
                    Message(
                        organization=org,
                        brand=brand,
                        conversation=conv,
                        network="x",
                        external_id=f"m{i}",
                        author=author,
                        text=f"{sentiment} {topic}",
                        created_at=at + timedelta(minutes=i % 600),
                        sentiment=sentiment,
                        topic=topic,
                    )
                )
        Message.objects.bulk_create(rows)

    return make


@pytest.fixture
def responses():  # type: ignore[no-untyped-def]
    """`responses(org, brand, [(score, sentiment, topic, n), ...], scale="csat")`: imported survey responses."""
    from hubbub.insights.models import SurveyResponse

    def make(org, brand, spec, scale="csat", at=BASE):  # type: ignore[no-untyped-def]
        low, high = {"csat": (1, 5), "nps": (0, 10)}[scale]
        rows = [
            SurveyResponse(
                organization=org,
                brand=brand,
                external_id=f"s{next(_ids)}",
                submitted_at=at,
                score=Decimal(score),
                scale=scale,
                scale_min=low,
                scale_max=high,
                comment=f"{sentiment} {topic}" if sentiment else "",
                sentiment=sentiment,
                topic=topic,
            )
            for score, sentiment, topic, n in spec
            for _ in range(n)
        ]
        SurveyResponse.objects.bulk_create(rows)

    return make


@pytest.fixture
def fortnight(acme, make_org):  # type: ignore[no-untyped-def]
    """A fortnight of two organisations' conversations, clocks and messages (`rollup_data`)."""
    from tests.insights.rollup_data import fortnight_of

    return fortnight_of(acme, make_org)
