"""Two-way sync with HubSpot CRM v3 against a local fake speaking its wire format:
paging, 429 with Retry-After, 401 → token refresh, conflicts resolved by the documented rule."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from hubbub.connectors.hubspot import HubSpotClient
from hubbub.connectors.models import Channel
from hubbub.crm import services, sync
from hubbub.crm.inputs import CustomerIn, CustomerPatch
from hubbub.crm.models import Customer, SyncConflict


def client_for(channel: Channel, waits: list[float]) -> HubSpotClient:
    """A client on the channel's stored tokens that records its back-off waits instead of sleeping (the sync
    stores refreshed tokens itself, `hubspot_connection.token_saver`)."""
    channel.refresh_from_db()
    return HubSpotClient(channel.credentials, sleep=waits.append)


def test_tokens_are_stored_encrypted(connected, fake) -> None:
    raw = Channel.objects.get(pk=connected.pk).credentials_encrypted
    assert fake.access_token not in raw and fake.refresh_token not in raw
    assert Channel.objects.get(pk=connected.pk).credentials["refresh_token"] == fake.refresh_token


def test_first_sync_pulls_every_page_and_pushes_new_customers(acme, scope_of, connected, fake) -> None:
    for i in range(250):
        fake.add_contact(email=f"p{i}@example.com", firstname=f"P{i}", lastname="Doe", city="Boston")
    services.create_customer(scope_of(acme["users"]["agent"]), CustomerIn(name="Ann Lee", email="ann@example.com"))
    stats = sync.sync_hubspot(acme["org"].pk, client=client_for(connected, []))
    assert stats["pulled"] == 250 and stats["created_here"] == 250
    assert stats["created_there"] == 1
    assert sum(1 for m, p, s in fake.log if p.startswith("/crm/v3/objects/contacts?")) == 3  # 100 + 100 + 50
    ann = Customer.objects.get(email="ann@example.com")
    assert ann.hubspot_id and fake.contacts[ann.hubspot_id]["properties"]["firstname"] == "Ann"
    assert Customer.objects.get(email="p7@example.com").name == "P7 Doe"


def test_rate_limit_waits_retry_after_then_succeeds(acme, connected, fake) -> None:
    fake.add_contact(email="a@example.com", firstname="A")
    fake.rate_limit_next = 2
    waits: list[float] = []
    stats = sync.sync_hubspot(acme["org"].pk, client=client_for(connected, waits))
    assert stats["pulled"] == 1 and waits == [1.0, 1.0]
    assert [s for _, _, s in fake.log].count(429) == 2


def test_expired_token_is_refreshed_once_and_stored(acme, connected, fake) -> None:
    fake.add_contact(email="a@example.com", firstname="A")
    fake.expire_token()
    sync.sync_hubspot(acme["org"].pk, client=client_for(connected, []))
    assert any(p == "/oauth/v1/token" and s == 200 for _, p, s in fake.log)
    stored = Channel.objects.get(pk=connected.pk).credentials
    assert stored["access_token"] == fake.access_token and stored["refresh_token"] == fake.refresh_token


def test_incremental_sync_and_conflict_rule(acme, scope_of, connected, fake) -> None:
    cid = fake.add_contact(email="bo@example.com", firstname="Bo", lastname="Li", phone="111", city="Oslo")
    sync.sync_hubspot(acme["org"].pk, client=client_for(connected, []))
    bo = Customer.objects.get(hubspot_id=cid)
    time.sleep(0.01)
    # Both sides edit the phone; HubSpot edits later, so HubSpot wins. Only Hubbub edits the city: pushed.
    services.update_customer(scope_of(acme["users"]["agent"]), bo, CustomerPatch(phone="222", location="Bergen"))
    time.sleep(0.01)
    fake.edit_contact(cid, phone="333")
    stats = sync.sync_hubspot(acme["org"].pk, client=client_for(connected, []))
    assert stats["pulled"] == 1 and stats["conflicts"] == 1
    bo.refresh_from_db()
    conflict = SyncConflict.objects.get(customer=bo)
    assert (conflict.field, conflict.local_value, conflict.remote_value, conflict.kept) == (
        "phone",
        "222",
        "333",
        "remote",
    )
    assert bo.phone == "333"
    assert bo.location == "Bergen" and fake.contacts[cid]["properties"]["city"] == "Bergen"


def test_resolved_conversations_and_calls_are_logged_as_notes_once(
    acme, scope_of, connected, fake, make_event, ingest
) -> None:
    from hubbub.inbox.models import Conversation

    agent = scope_of(acme["users"]["agent"])
    c = services.create_customer(agent, CustomerIn(name="Ann Lee", email="ann@example.com", handles=["annlee"]))
    ingest(acme["org"], [make_event("my bag is lost", author="annlee")])
    Conversation.objects.update(status="resolved")
    services.log_interaction(agent, c, "phone", "Called back, bag found")
    sync.sync_hubspot(acme["org"].pk, client=client_for(connected, []))
    c.refresh_from_db()
    assert len(fake.notes) == 2
    assert all(n["associations"][0]["to"]["id"] == c.hubspot_id for n in fake.notes)
    assert all(n["associations"][0]["types"][0]["associationTypeId"] == 202 for n in fake.notes)
    sync.sync_hubspot(acme["org"].pk, client=client_for(connected, []))
    assert len(fake.notes) == 2


def test_conflicts_page_lists_them(client, acme, connected) -> None:
    c = Customer.objects.create(organization=acme["org"], name="X")
    SyncConflict.objects.create(
        organization=acme["org"], customer=c, field="phone", local_value="1", remote_value="2", kept="remote"
    )
    client.force_login(acme["users"]["agent"])
    html = client.get("/customers/conflicts/").content.decode()
    assert "phone" in html and "most recently wins" in html


def test_modified_dates_in_epoch_milliseconds_and_iso_are_read_as_utc() -> None:
    # Both forms `_when` accepts; the epoch branch once named a missing `django.utils.timezone.UTC`.
    assert sync._when("1700000000000") == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert sync._when("2023-11-14T22:13:20Z") == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert sync._when("") is None
