"""A note HubSpot refuses for good (a 400 validation error) no longer stops every sync at that point: it is
recorded against the item, shown on Customers → HubSpot, skipped, and sent again on Retry once fixed.
Transient failures (429, 5xx, timeouts) still stop the sync and give the item back for the next one."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hubbub.connectors.hubspot import HubSpotClient, HubSpotError
from hubbub.crm import activity_log, services, sync
from hubbub.crm.inputs import CustomerIn
from hubbub.crm.models import Customer, SyncedActivity
from hubbub.tenancy.models import AuditEvent
from hubbub.tenancy.scoping import PermissionDenied

from .test_hubspot import client_for
from .test_sync_concurrency import resolved_conversations

pytestmark = pytest.mark.django_db


def note_calls(fake: Any) -> int:
    return sum(1 for method, path, _ in fake.log if method == "POST" and path == "/crm/v3/objects/notes")


@pytest.fixture
def three(acme, scope_of, make_event, ingest, connected):  # type: ignore[no-untyped-def]
    """Three resolved conversations of a customer; HubSpot refuses the second one's note every time."""
    ids = resolved_conversations(acme, scope_of, make_event, ingest, 3)
    return ids


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(400, True), (404, True), (422, True), (401, False), (403, False), (409, False), (429, False), (500, False)],
)
def test_which_hubspot_errors_are_about_the_request_itself(status: int, permanent: bool) -> None:
    assert HubSpotError(status, "x").permanent is permanent


def test_a_note_hubspot_always_refuses_is_recorded_and_the_others_are_written(
    acme, connected, fake, three, client
) -> None:
    org = acme["org"]
    first, refused, third = three
    fake.refuse_note = lambda body: "problem number 1" in body["properties"]["hs_note_body"]

    stats = sync.sync_hubspot(org.pk, client=client_for(connected, []))

    assert (stats["notes"], stats["notes_rejected"]) == (2, 1)
    assert len(fake.notes) == 2  # the ones after the refused note were written too
    row = SyncedActivity.objects.get(kind="conversation", local_id=refused)
    assert row.remote_id == "" and row.failed_at is not None
    assert row.error.startswith("HubSpot 400: VALIDATION_ERROR: Property values were not valid")

    # the next sync neither stops at it nor sends it again
    calls = note_calls(fake)
    assert sync.sync_hubspot(org.pk, client=client_for(connected, []))["notes_rejected"] == 0
    assert note_calls(fake) == calls

    # visible where the supervisor runs the sync, with what HubSpot said and a link to the customer
    client.force_login(acme["users"]["supervisor"])
    html = client.get("/customers/hubspot/").content.decode()
    assert "HubSpot refused 1 note" in html and f"Conversation #{refused}" in html
    assert "VALIDATION_ERROR" in html and f"/customers/{Customer.objects.get().pk}/" in html

    # fixed at HubSpot's side: Retry sends it again and it is recorded like any note
    fake.refuse_note = None
    r = client.post("/customers/hubspot/sync/", {"retry": str(row.pk), "next": "/customers/hubspot/"}, follow=True)
    page = r.content.decode()
    assert "1 refused note will be sent to HubSpot again" in page and "HubSpot refused" not in page
    row = SyncedActivity.objects.get(kind="conversation", local_id=refused)
    assert row.remote_id == fake.notes[-1]["id"] and len(fake.notes) == 3
    assert AuditEvent.objects.filter(verb="crm.hubspot.retried").count() == 1


def test_a_refused_call_note_is_listed_under_its_customer_and_retry_all_needs_a_supervisor(
    acme, scope_of, connected, fake, client
) -> None:
    agent = scope_of(acme["users"]["agent"])
    ann = services.create_customer(agent, CustomerIn(name="Ann Lee", email="ann@example.com"))
    services.log_interaction(agent, ann, "phone", "Called back")
    fake.refuse_note = lambda body: True
    assert sync.sync_hubspot(acme["org"].pk, client=client_for(connected, []))["notes_rejected"] == 1
    (item,) = activity_log.rejected_items(acme["org"].pk)
    assert item["kind"] == "interaction" and item["customer_id"] == ann.pk and item["label"].startswith("Phone call")

    client.force_login(acme["users"]["agent"])
    assert client.post("/customers/hubspot/sync/", {"retry": "all"}).status_code == 403
    with pytest.raises(PermissionDenied):
        activity_log.retry_rejected(agent)
    assert SyncedActivity.objects.exclude(error="").count() == 1  # still listed

    assert activity_log.retry_rejected(scope_of(acme["users"]["supervisor"])) == 1
    assert not SyncedActivity.objects.exists()  # the next sync sends it again


@pytest.mark.parametrize("failure", ["503", "429", "timeout"])
def test_transient_failures_stop_the_sync_and_give_the_note_back(acme, connected, fake, three, failure: str) -> None:
    org = acme["org"]

    class Failing(HubSpotClient):
        def create_note(self, contact_id: str, body: str, timestamp_iso: str) -> str:
            if "problem number 1" in body:
                if failure == "timeout":
                    raise httpx.ReadTimeout("timed out")
                raise HubSpotError(int(failure), "gave up after 5 retries")
            return super().create_note(contact_id, body, timestamp_iso)

    connected.refresh_from_db()
    with pytest.raises((HubSpotError, httpx.HTTPError)):
        sync.sync_hubspot(org.pk, client=Failing(connected.credentials, sleep=lambda _s: None))
    assert len(fake.notes) == 1  # written before the failure, recorded
    assert not SyncedActivity.objects.filter(remote_id="").exists()  # given back, not marked refused
    assert sync.sync_hubspot(org.pk, client=client_for(connected, []))["notes"] == 2
    assert len(fake.notes) == 3
