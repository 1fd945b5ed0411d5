"""/metrics: the series an operator graphs, counted once per batch, guarded by a token or an address."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from hubbub.connectors.outbound import PermanentDeliveryError
from hubbub.inbox.actions import delivery
from hubbub.inbox.actions.replies import do_create_reply
from hubbub.inbox.models import Conversation, Reply

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-for-tests"


@pytest.fixture(autouse=True)
def _token(settings):  # type: ignore[no-untyped-def]
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOW = []


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:  # type: ignore[no-untyped-def]
    answer = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert answer.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.content.decode())
        for sample in family.samples
    }


def test_an_ingest_batch_and_a_failed_delivery_show_in_the_series(  # type: ignore[no-untyped-def]
    client, acme, make_event, ingest, scope_of, monkeypatch, django_capture_on_commit_callbacks
):
    before = scrape(client)
    org = str(acme["org"].pk)

    ingest(acme["org"], [make_event(f"bag lost {i}", author=f"a{i}") for i in range(3)])  # one batch of three
    scope = scope_of(acme["users"]["agent"], acme["org"])
    reply = do_create_reply(scope, Conversation.objects.first(), "Sorry, we are on it.")

    def refused(r: Reply, **answering: str) -> str:
        raise PermanentDeliveryError("the network refused it (403)")

    monkeypatch.setattr(delivery, "send_reply", refused)
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery.do_deliver_reply(reply.pk).state == Reply.State.FAILED
    after = scrape(client)

    def grew(name: str, labels: tuple[tuple[str, str], ...] = ()) -> float:
        return after[(name, labels)] - before.get((name, labels), 0.0)

    assert grew("hubbub_ingest_batches_total") == 1  # one batch, one increment
    assert grew("hubbub_ingest_events_total", (("outcome", "processed"),)) == 3
    assert grew("hubbub_reply_delivery_failures_total") == 1
    assert after[("hubbub_reply_delivery_failures_24h", (("organization_id", org),))] == 1
    assert after[("hubbub_ingest_pending_events", (("organization_id", org),))] == 0
    assert after[("hubbub_ingest_lag_seconds", (("organization_id", org),))] == 0
    assert ("hubbub_sla_breaches_today", (("organization_id", org),)) not in after  # none breached
    assert after[("hubbub_database_up", ())] == 1
    assert ("hubbub_task_queue_depth", ()) in after
    assert ("hubbub_http_request_duration_seconds_count", (("method", "GET"), ("route", "metrics"))) in after
    assert "acme" not in str(after).lower()  # ids, never names


def test_metrics_need_the_token_or_an_allowed_address(client, settings):  # type: ignore[no-untyped-def]
    refused = client.get("/metrics")
    assert refused.status_code == 403
    assert "Authorization: Bearer" in refused.content.decode()
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403

    settings.METRICS_ALLOW = ["10.1.0.0/16"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.2.0.1").status_code == 403


def test_metrics_are_off_until_configured(client, settings):  # type: ignore[no-untyped-def]
    settings.METRICS_TOKEN = ""
    answer = client.get("/metrics", HTTP_AUTHORIZATION="Bearer ")
    assert answer.status_code == 403
    assert "set HUBBUB_METRICS_TOKEN or HUBBUB_METRICS_ALLOW" in answer.content.decode()
