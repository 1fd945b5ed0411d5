"""Scale-out mode: the task queue (RedisHuey) and live fan-out (Redis pub/sub) work against a real Redis."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from hubbub.inbox.models import Message
from hubbub.ingest.services import accept
from tests.conftest import service_or_skip

pytestmark = [pytest.mark.redis, pytest.mark.django_db]
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_up() -> None:
    service_or_skip("Redis", "127.0.0.1", 6379)


def test_ingest_batches_travel_through_redis_huey(redis_up, acme, make_event):
    from huey import RedisHuey

    from hubbub.ingest.services import process_batch

    huey = RedisHuey(f"hubbub-test-{uuid.uuid4().hex[:8]}", url=REDIS_URL)

    @huey.task()
    def process(raw_ids: list[int]) -> int:
        return process_batch(raw_ids).processed

    result = accept(acme["org"].pk, [make_event("via redis", author="r1"), make_event("two", author="r2")], "test")
    process(result.raw_ids)
    assert huey.pending_count() == 1
    task = huey.dequeue()
    assert huey.execute(task) == 2
    assert Message.objects.count() == 2
    huey.flush()


def test_live_events_fan_out_over_redis_pubsub(redis_up):
    from hubbub.live import RedisBus

    bus = RedisBus(REDIS_URL)

    async def scenario() -> dict[str, object]:
        stream = bus.subscribe()
        first = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0.3)  # let the subscription register
        bus.publish({"kind": "messages", "organization_id": 7, "count": 3})
        event = await asyncio.wait_for(first, timeout=5)
        await stream.aclose()
        return event  # type: ignore[return-value]

    event = asyncio.run(scenario())
    assert event == {"kind": "messages", "organization_id": 7, "count": 3}
