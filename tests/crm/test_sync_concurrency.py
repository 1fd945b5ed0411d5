"""The HubSpot sync when something else happens while it runs: a second sync, a conversation merge, a
reconnect or a disconnect, a failing note. The rule: a note is written once, none is lost, no record names a
deleted conversation, and newer credentials are never overwritten with a sync's old copy.

"While it runs" is made exact in two ways: a client that runs the other action inside its HubSpot call (same
thread, both databases), and two threads on committed transactions, one held by the fake inside the note call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection as db_connection
from django.utils import timezone

from hubbub.connectors.hubspot import HubSpotClient, HubSpotError
from hubbub.connectors.models import Channel
from hubbub.crm import activity_log, hubspot_connection, services, sync
from hubbub.crm.inputs import CustomerIn
from hubbub.crm.models import Customer, SyncConflict, SyncedActivity
from hubbub.inbox.merging import MergePair, merge_conversations
from hubbub.inbox.models import Conversation
from hubbub.tenancy.models import AuditEvent

from .test_hubspot import client_for


class During(HubSpotClient):
    """A client that runs `action` once, inside its first call of `method` (before HubSpot answers it)."""

    def __init__(self, channel: Channel, action: Callable[[], Any], method: str = "create_note") -> None:
        channel.refresh_from_db()
        super().__init__(channel.credentials, sleep=lambda _s: None)
        self.action: Callable[[], Any] | None = action
        self.method = method
        self.result: Any = None

    def _run(self, method: str) -> None:
        if method == self.method and self.action is not None:
            action, self.action = self.action, None
            self.result = action()

    def create_note(self, contact_id: str, body: str, timestamp_iso: str) -> str:
        self._run("create_note")
        return super().create_note(contact_id, body, timestamp_iso)

    def request(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        self._run("request")
        return super().request(method, path, **kw)

    def batch_create(self, properties: list[dict[str, str]]) -> list[dict[str, Any]]:
        self._run("batch_create")
        return super().batch_create(properties)


pytestmark = pytest.mark.django_db


@pytest.fixture
def conversations(acme, scope_of, make_event, ingest):  # type: ignore[no-untyped-def]
    """`conversations(n)`: n resolved conversations of Ann (a customer), oldest first."""
    return lambda n: resolved_conversations(acme, scope_of, make_event, ingest, n)


def resolved_conversations(acme: dict[str, Any], scope_of: Any, make_event: Any, ingest: Any, n: int) -> list[int]:
    services.create_customer(
        scope_of(acme["users"]["agent"]), CustomerIn(name="Ann Lee", email="ann@example.com", handles=["ann"])
    )
    ids: list[int] = []
    for i in range(n):
        ingest(acme["org"], [make_event(f"@AcmeAir problem number {i}", author="ann")])
        conv = Conversation.objects.exclude(pk__in=ids).get()
        Conversation.objects.filter(pk=conv.pk).update(status="resolved")
        ids.append(conv.pk)
    return ids


def rows(org: Any, kind: str = "conversation") -> list[tuple[int, str, list[str]]]:
    return sorted(
        SyncedActivity.objects.filter(organization=org, kind=kind).values_list(
            "local_id", "remote_id", "merged_remote_ids"
        )
    )


def note_ids(fake: Any) -> list[str]:
    return [n["id"] for n in fake.notes]


def two_syncs_in_two_threads(org_id: int, fake: Any, hook: str) -> tuple[dict[str, int], dict[str, int]]:
    """Run a first sync in a thread, on its own database connection, held by the fake inside its first HubSpot
    call of the kind `hook` names (`before_note`, `before_create`) while a second sync runs from start to end;
    then let the first finish. Returns both syncs' results (first, second)."""
    arrived, release = threading.Event(), threading.Event()

    def hold_the_first() -> None:
        setattr(fake, hook, None)  # only the first such call waits
        arrived.set()
        assert release.wait(20)

    setattr(fake, hook, hold_the_first)
    errors: list[BaseException] = []
    first: dict[str, int] = {}

    def first_sync() -> None:
        try:
            first.update(sync.sync_hubspot(org_id))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            db_connection.close()

    thread = threading.Thread(target=first_sync)
    thread.start()
    try:
        assert arrived.wait(20), f"the first sync never reached {hook}"
        second = sync.sync_hubspot(org_id)
    finally:
        release.set()
        thread.join(30)
    assert not errors and not thread.is_alive()
    return first, second


# ---------------------------------------------------------------- two syncs at once


def test_a_sync_started_while_another_writes_a_note_writes_no_second_one(
    acme, scope_of, connected, fake, conversations
) -> None:
    org = acme["org"]
    (conv,) = conversations(1)
    services.log_interaction(scope_of(acme["users"]["agent"]), Customer.objects.get(), "phone", "Called back")
    first = During(connected, lambda: sync.sync_hubspot(org.pk, client=client_for(connected, [])))

    stats = sync.sync_hubspot(org.pk, client=first)  # the second sync runs inside the first's note call

    assert first.result["notes"] == 1  # the second wrote only the call; the conversation was claimed
    assert stats["notes"] == 1  # the first wrote the conversation; the call was written meanwhile
    assert len(fake.notes) == 2 and len(set(n["properties"]["hs_note_body"] for n in fake.notes)) == 2
    assert [r[0] for r in rows(org)] == [conv] and rows(org)[0][1] in note_ids(fake)
    assert SyncedActivity.objects.filter(kind="interaction").count() == 1
    assert not SyncedActivity.objects.filter(remote_id="").exists()  # no claim left behind
    assert sync.sync_hubspot(org.pk, client=client_for(connected, []))["notes"] == 0 and len(fake.notes) == 2


@pytest.mark.django_db(transaction=True)
def test_two_syncs_in_two_threads_write_one_note(acme, scope_of, connected, fake, conversations) -> None:
    """Committed transactions, two database connections: the first sync is held by the fake inside its note
    call while the second runs from start to end."""
    org = acme["org"]
    conversations(1)
    _first, second = two_syncs_in_two_threads(org.pk, fake, "before_note")
    assert second["notes"] == 0
    assert len(fake.notes) == 1  # HubSpot received exactly one note
    ((_, remote_id, _),) = rows(org)
    assert remote_id == fake.notes[0]["id"]


def test_one_sync_at_a_time_may_claim_a_note(acme, conversations) -> None:
    (conv,) = conversations(1)
    org_id = acme["org"].pk
    claim = activity_log.claim_activity(org_id, "conversation", conv)
    assert claim is not None and claim.remote_id == ""
    assert activity_log.claim_activity(org_id, "conversation", conv) is None  # held by a running sync
    activity_log.release_claim(claim)
    assert activity_log.claim_activity(org_id, "conversation", conv) is not None  # given back: the next one may


def test_a_failed_note_is_given_back_and_the_notes_written_before_it_are_kept(
    acme, scope_of, connected, fake, conversations
) -> None:
    org = acme["org"]
    first, second = conversations(2)
    calls = {"n": 0}

    def refuse_the_second() -> None:  # the first note is written, the second fails for a while (503 to the end)
        calls["n"] += 1
        if calls["n"] == 2:
            fake.note_errors.extend([503] * 6)  # the first try and its 5 retries

    fake.before_note = refuse_the_second
    with pytest.raises(HubSpotError):
        sync.sync_hubspot(org.pk, client=client_for(connected, []))
    fake.before_note = None
    assert len(fake.notes) == 1
    assert rows(org) == [(first, fake.notes[0]["id"], [])]  # recorded as soon as HubSpot answered
    assert not SyncedActivity.objects.filter(remote_id="").exists()  # the failed one's claim was given back

    assert sync.sync_hubspot(org.pk, client=client_for(connected, []))["notes"] == 1
    assert len(fake.notes) == 2  # the first was not written again; the second was
    assert [r[0] for r in rows(org)] == [first, second]


def test_a_claim_left_by_a_sync_that_died_is_taken_over(acme, scope_of, connected, fake, conversations) -> None:
    org = acme["org"]
    old, fresh = conversations(2)
    SyncedActivity.objects.bulk_create(
        [SyncedActivity(organization=org, kind="conversation", local_id=i, remote_id="") for i in (old, fresh)]
    )
    SyncedActivity.objects.filter(local_id=old).update(
        created_at=timezone.now() - activity_log.CLAIM_TTL - timedelta(1)
    )
    assert sync.sync_hubspot(org.pk, client=client_for(connected, []))["notes"] == 1
    assert rows(org) == [(old, fake.notes[0]["id"], []), (fresh, "", [])]  # the fresh claim's sync still runs


# ---------------------------------------------------------------- two syncs creating contacts


def new_customers(acme: dict[str, Any], scope_of: Any) -> list[Customer]:
    agent = scope_of(acme["users"]["agent"])
    return [
        services.create_customer(agent, CustomerIn(name="Bob Stone", email="bob@example.com")),
        services.create_customer(agent, CustomerIn(name="Cy Park", email="cy@example.com")),
    ]


def contacts_by_email(fake: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for cid, c in fake.contacts.items():
        out.setdefault(c["properties"].get("email", ""), []).append(cid)
    return out


def assert_one_contact_each(fake: Any, customers: list[Customer]) -> None:
    """HubSpot has exactly one contact per customer, and each customer names it."""
    by_email = contacts_by_email(fake)
    for c in customers:
        c.refresh_from_db()
        assert by_email[c.email] == [c.hubspot_id], c.email
    assert not SyncedActivity.objects.filter(kind="contact").exists()  # no claim left behind


def test_a_sync_started_while_another_creates_contacts_creates_none_of_them(acme, scope_of, connected, fake) -> None:
    org = acme["org"]
    customers = new_customers(acme, scope_of)
    first = During(connected, lambda: sync.sync_hubspot(org.pk, client=client_for(connected, [])), "batch_create")

    stats = sync.sync_hubspot(org.pk, client=first)  # the second sync runs inside the first's create call

    assert first.result["created_there"] == 0 and first.result["linked_there"] == 0  # both were claimed
    assert stats["created_there"] == 2
    assert fake.created_batches == 1
    assert_one_contact_each(fake, customers)
    assert sync.sync_hubspot(org.pk, client=client_for(connected, []))["created_there"] == 0
    assert len(fake.contacts) == 2


@pytest.mark.django_db(transaction=True)
def test_two_syncs_in_two_threads_create_one_contact_per_customer(acme, scope_of, connected, fake) -> None:
    """Committed transactions, two database connections: the first sync is held by the fake inside its contact
    create call while the second (a "Sync now" beside the periodic job) runs from start to end."""
    org = acme["org"]
    customers = new_customers(acme, scope_of)
    first, second = two_syncs_in_two_threads(org.pk, fake, "before_create")
    assert second["created_there"] == 0 and first["created_there"] == 2
    assert fake.created_batches == 1  # HubSpot was asked to create them once
    assert_one_contact_each(fake, customers)


def test_a_contact_hubspot_already_has_is_linked_by_email_not_created(acme, scope_of, connected, fake) -> None:
    """A contact made in HubSpot (or by a sync that died after HubSpot answered) that the incremental pull does
    not see: the customer with its email is linked to it and reconciled, not created a second time (which
    HubSpot refuses with 409 for the whole batch)."""
    org = acme["org"]
    sync.sync_hubspot(org.pk, client=client_for(connected, []))  # sets the incremental mark
    cid = fake.add_contact(email="dana@example.com", firstname="Dana", lastname="C.", city="Lisbon")
    fake.contacts[cid]["updatedAt"] = "2020-01-01T00:00:00.000Z"  # older than the mark: not pulled
    fake.contacts[cid]["properties"]["lastmodifieddate"] = "2020-01-01T00:00:00.000Z"
    dana = services.create_customer(
        scope_of(acme["users"]["agent"]), CustomerIn(name="Dana Cruz", email="Dana@example.com")
    )

    stats = sync.sync_hubspot(org.pk, client=client_for(connected, []))

    assert stats["created_there"] == 0 and stats["linked_there"] == 1
    assert list(fake.contacts) == [cid]
    dana.refresh_from_db()
    assert dana.hubspot_id == cid
    assert dana.location == "Lisbon"  # empty here: taken from HubSpot
    conflict = SyncConflict.objects.get(customer=dana)
    assert (conflict.field, conflict.local_value, conflict.remote_value, conflict.kept) == (
        "name",
        "Dana Cruz",
        "Dana C.",
        "local",  # edited here after HubSpot's 2020 edit
    )
    assert fake.contacts[cid]["properties"]["lastname"] == "Cruz"  # the kept value reached HubSpot
    assert dana.synced_at is not None


def test_a_failed_create_gives_the_claims_back(acme, scope_of, connected, fake) -> None:
    org = acme["org"]
    customers = new_customers(acme, scope_of)

    class Refusing(HubSpotClient):
        def batch_create(self, properties: list[dict[str, str]]) -> list[dict[str, Any]]:
            raise HubSpotError(503, "gave up after 5 retries")

    connected.refresh_from_db()
    with pytest.raises(HubSpotError):
        sync.sync_hubspot(org.pk, client=Refusing(connected.credentials, sleep=lambda _s: None))
    assert not SyncedActivity.objects.filter(kind="contact").exists()
    assert not fake.contacts

    assert sync.sync_hubspot(org.pk, client=client_for(connected, []))["created_there"] == 2
    assert_one_contact_each(fake, customers)


def test_a_contact_claim_left_by_a_sync_that_died_is_taken_over(acme, scope_of, connected, fake) -> None:
    org = acme["org"]
    bob, cy = new_customers(acme, scope_of)
    SyncedActivity.objects.bulk_create(
        [SyncedActivity(organization=org, kind="contact", local_id=c.pk, remote_id="") for c in (bob, cy)]
    )
    SyncedActivity.objects.filter(local_id=bob.pk).update(
        created_at=timezone.now() - activity_log.CLAIM_TTL - timedelta(1)
    )

    assert sync.sync_hubspot(org.pk, client=client_for(connected, []))["created_there"] == 1
    bob.refresh_from_db()
    cy.refresh_from_db()
    assert bob.hubspot_id and not cy.hubspot_id  # Cy's claim belongs to a sync still running
    assert list(SyncedActivity.objects.filter(kind="contact").values_list("local_id", flat=True)) == [cy.pk]


# ---------------------------------------------------------------- a merge while the sync runs


def test_a_conversation_merged_away_before_its_turn_is_not_logged(
    acme, scope_of, connected, fake, conversations
) -> None:
    org = acme["org"]
    a, b, c = conversations(3)
    merge = During(connected, lambda: merge_conversations(org.pk, [MergePair(c, b)], reason="test"))

    stats = sync.sync_hubspot(org.pk, client=merge)  # b is merged into c while a's note is written

    assert stats["notes"] == 2 and len(fake.notes) == 2
    assert [r[0] for r in rows(org)] == [a, c]  # nothing names b, which no longer exists
    assert Conversation.objects.filter(pk__in=[r[0] for r in rows(org)]).count() == 2


def test_a_note_being_written_when_its_conversation_is_merged_is_recorded_on_the_survivor(
    acme, scope_of, connected, fake, conversations
) -> None:
    org = acme["org"]
    absorbed, survivor = conversations(2)
    merge = During(connected, lambda: merge_conversations(org.pk, [MergePair(survivor, absorbed)], reason="test"))

    assert sync.sync_hubspot(org.pk, client=merge)["notes"] == 1
    assert rows(org) == [(survivor, fake.notes[0]["id"], [])]  # the merged thread has its one note
    assert sync.sync_hubspot(org.pk, client=client_for(connected, []))["notes"] == 0 and len(fake.notes) == 1


def test_a_note_being_written_when_its_conversation_joins_a_logged_one_is_kept_on_it(
    acme, scope_of, connected, fake, conversations
) -> None:
    org = acme["org"]
    absorbed, survivor = conversations(2)
    Conversation.objects.filter(pk=absorbed).update(status="open")
    sync.sync_hubspot(org.pk, client=client_for(connected, []))  # logs the survivor
    Conversation.objects.filter(pk=absorbed).update(status="resolved")
    merge = During(connected, lambda: merge_conversations(org.pk, [MergePair(survivor, absorbed)], reason="test"))

    assert sync.sync_hubspot(org.pk, client=merge)["notes"] == 1
    first, second = note_ids(fake)
    assert rows(org) == [(survivor, first, [second])]  # no note id lost, one row per conversation


# ---------------------------------------------------------------- reconnect / disconnect while the sync runs


def reconnect(acme: dict[str, Any], scope_of: Any, fake: Any) -> Callable[[], Channel]:
    def run() -> Channel:
        return hubspot_connection.connect_hubspot(
            scope_of(acme["users"]["admin"]),
            {"access_token": "at-new", "refresh_token": "rt-new", "client_id": "app"},
        )

    return run


def test_a_sync_outliving_a_reconnect_keeps_the_new_tokens(acme, scope_of, connected, fake) -> None:
    fake.add_contact(email="a@example.com", firstname="A")
    client = During(connected, reconnect(acme, scope_of, fake), method="request")

    sync.sync_hubspot(acme["org"].pk, client=client)

    stored = Channel.objects.get(pk=connected.pk).credentials
    assert (stored["access_token"], stored["refresh_token"]) == ("at-new", "rt-new")
    assert "last_sync_ms" not in stored  # the old connection's sync does not set the new one's mark
    event = AuditEvent.objects.filter(verb="crm.hubspot.synced").get()
    assert event.data["reconnected_during_sync"] is True


def test_a_token_refresh_after_a_reconnect_stores_nothing_and_stops_the_sync(acme, scope_of, connected, fake) -> None:
    fake.add_contact(email="a@example.com", firstname="A")

    def reconnect_then_expire() -> None:
        reconnect(acme, scope_of, fake)()
        fake.expire_token()  # the sync's old access token answers 401: it refreshes with its old refresh token

    with pytest.raises(HubSpotError) as stopped:
        sync.sync_hubspot(acme["org"].pk, client=During(connected, reconnect_then_expire, method="request"))
    assert isinstance(stopped.value, hubspot_connection.HubSpotReconnected)
    assert any(p == "/oauth/v1/token" and s == 200 for _, p, s in fake.log)  # HubSpot did refresh
    stored = Channel.objects.get(pk=connected.pk).credentials
    assert (stored["access_token"], stored["refresh_token"]) == ("at-new", "rt-new")


def test_a_sync_outliving_a_disconnect_does_not_store_the_tokens_again(acme, scope_of, connected, fake) -> None:
    client = During(
        connected, lambda: hubspot_connection.disconnect_hubspot(scope_of(acme["users"]["admin"])), method="request"
    )
    sync.sync_hubspot(acme["org"].pk, client=client)
    channel = Channel.objects.get(pk=connected.pk)
    assert not channel.is_active and not {"access_token", "refresh_token"} & set(channel.credentials)


def test_a_refresh_in_an_undisturbed_sync_is_stored(acme, connected, fake) -> None:
    fake.expire_token()
    sync.sync_hubspot(acme["org"].pk, client=client_for(connected, []))
    stored = Channel.objects.get(pk=connected.pk).credentials
    assert stored["access_token"] == fake.access_token and stored["last_sync_ms"]
