"""Putting a test double in the connector registry for one test, and taking it out again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hubbub.connectors import base


@contextmanager
def registered(connector: Any) -> Iterator[Any]:
    """Register `connector` for its network while the block runs; the previous one (if any) comes back."""
    before = base.connector_for(connector.network)
    base.register(connector)
    try:
        yield connector
    finally:
        if before is not None:
            base.register(before)
        else:
            base._REGISTRY.pop(connector.network, None)


class Killed(BaseException):
    """A worker dying at a crash point: a BaseException, so no `except Exception` in the product swallows it."""


def deliver_killed_after_post_then_retry(reply_id: int) -> Any:
    """Deliver `reply_id`, die right after the network took the post and before Hubbub recorded it, then let the
    reclaim put the abandoned reply back and deliver again; returns the reply as the retry left it."""
    from datetime import UTC, datetime, timedelta

    import pytest

    from hubbub.inbox.actions import delivery
    from hubbub.inbox.models import Reply

    def crash_after_post(name: str) -> None:
        if name == "deliver.posted":
            raise Killed

    with pytest.MonkeyPatch.context() as patched, pytest.raises(Killed):
        patched.setattr(delivery, "crash_point", crash_after_post)
        delivery.do_deliver_reply(reply_id)
    assert Reply.objects.get(pk=reply_id).state == Reply.State.SENDING  # posted, never recorded
    delivery.reclaim_stuck_replies(lambda _id: None, now=datetime.now(UTC) + timedelta(hours=1))
    return delivery.do_deliver_reply(reply_id)
