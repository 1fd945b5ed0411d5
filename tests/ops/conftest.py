"""Shared helpers of the observability tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from hubbub.ingest.models import RawEvent
from hubbub.ingest.services import accept


@pytest.fixture
def waiting_events(make_event) -> Callable[..., None]:  # type: ignore[no-untyped-def]
    """Accept `n` events for an organisation and leave them waiting as if received `minutes_ago`."""

    def make(org, n: int, minutes_ago: float) -> None:  # type: ignore[no-untyped-def]
        ids = accept(org.pk, [make_event(f"w{org.pk}-{i}", author=f"u{i}") for i in range(n)], "test").raw_ids
        RawEvent.objects.filter(pk__in=ids).update(received_at=timezone.now() - timedelta(minutes=minutes_ago))

    return make
