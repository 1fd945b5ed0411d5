"""What agents see: the Customers pages, the import mapping step, the panel beside a conversation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from hubbub.crm import services
from hubbub.crm.inputs import CustomerIn
from hubbub.crm.models import Customer, IdentityLink, Order, SocialProfile
from hubbub.inbox.models import Conversation


@pytest.fixture
def agent_client(client, acme):  # type: ignore[no-untyped-def]
    client.force_login(acme["users"]["agent"])
    return client


@pytest.fixture
def sup_client(client, acme):  # type: ignore[no-untyped-def]
    client.force_login(acme["users"]["supervisor"])
    return client


def test_customers_page_has_helpful_empty_state(agent_client) -> None:
    r = agent_client.get("/customers/")
    assert r.status_code == 200
    assert b"No customers yet" in r.content and b"hubbub import customers" in r.content


def test_list_detail_and_escaping(agent_client, acme, scope_of) -> None:
    c = services.create_customer(
        scope_of(acme["users"]["agent"]), CustomerIn(name="<b>Ann</b>", email="ann@example.com")
    )
    r = agent_client.get("/customers/?q=ann")
    assert b"&lt;b&gt;Ann&lt;/b&gt;" in r.content and b"<b>Ann</b>" not in r.content
    assert agent_client.get(f"/customers/{c.pk}/").status_code == 200
    csv = b"".join(agent_client.get("/customers/export.csv").streaming_content)
    assert b"ann@example.com" in csv


def test_other_org_gets_404(client, acme, make_org, scope_of) -> None:
    c = services.create_customer(scope_of(acme["users"]["agent"]), CustomerIn(name="Ann"))
    other = make_org("globex")
    client.force_login(other["users"]["admin"])
    assert client.get(f"/customers/{c.pk}/").status_code == 404
    assert client.post(f"/customers/{c.pk}/erase/", {"confirm": "ERASE"}).status_code == 404
    assert client.post(f"/customers/{c.pk}/merge/", {"other_id": c.pk}).status_code == 404
    c.refresh_from_db()
    assert c.name == "Ann"


def test_import_upload_then_map_columns_then_report(sup_client, acme, django_capture_on_commit_callbacks) -> None:
    f = SimpleUploadedFile(
        "c.csv", b"Full Name,E-mail,Notes\nAnn Lee,ann@example.com,x\n,bad,\n", content_type="text/csv"
    )
    r = sup_client.post("/customers/import/", {"fmt": "customers", "file": f})
    assert r.status_code == 302
    job_url = r["Location"]
    assert b"Map columns" in sup_client.get(job_url).content
    with django_capture_on_commit_callbacks(execute=True):
        r = sup_client.post(f"{job_url}start/", {"map_name": "Full Name", "map_email": "E-mail"})
    assert r.status_code == 302 and r["Location"] == job_url
    progress = sup_client.get(job_url).context["progress"]
    assert progress["created"] == 1 and progress["rejected"] == 1 and progress["status"] == "done"
    assert Customer.objects.get(organization=acme["org"]).name == "Ann Lee"


def test_agents_cannot_import(agent_client) -> None:
    assert agent_client.get("/customers/import/").status_code == 403


def test_panel_shows_tier_value_orders_and_history(agent_client, acme, scope_of, make_event, ingest) -> None:
    agent = scope_of(acme["users"]["agent"])
    c = services.create_customer(agent, CustomerIn(name="Ann Lee", handles=["annlee", "ann_m"]))
    for i in range(7):
        Order.objects.create(
            organization=acme["org"],
            customer=c,
            ordered_at=datetime(2026, 1, 1 + i, tzinfo=UTC),
            amount=100,
            product=f"Ticket {i}",
        )
    services.recompute_customers(acme["org"].pk, [c.pk])
    ingest(
        acme["org"], [make_event("bag lost", author="annlee"), make_event("hello", author="ann_m", network="mastodon")]
    )
    services.log_interaction(agent, c, "phone", "Called about the bag")
    conv = Conversation.objects.get(author__external_id="annlee")
    r = agent_client.get(f"/c/{conv.pk}/")
    html = r.content.decode()
    assert "Loyal" in html and "700.00" in html and "Ticket 6" in html
    assert "Called about the bag" in html
    other = Conversation.objects.get(author__external_id="ann_m")
    assert f"#{other.pk}" in html  # conversations on every channel


def test_panel_suggestion_confirm_from_conversation(agent_client, acme, scope_of, make_event, ingest) -> None:
    services.create_customer(scope_of(acme["users"]["agent"]), CustomerIn(name="Robert Smithers", location="Boston"))
    services.TierRules.objects.update_or_create(organization=acme["org"], defaults={"auto_link_threshold": 1.01})
    ingest(acme["org"], [make_event("hi", author="u9", author_name="Bob Smithers", author_location="Boston")])
    conv = Conversation.objects.get(author__external_id="u9")
    p = SocialProfile.objects.get(external_id="u9")
    r = agent_client.post(f"/customers/profiles/{p.pk}/suggest/", {"next": f"/c/{conv.pk}/"})
    assert r.status_code == 302
    html = agent_client.get(f"/c/{conv.pk}/").content.decode()
    assert "Is this" in html and "Robert Smithers" in html
    link = IdentityLink.objects.get(profile=p)
    agent_client.post(f"/customers/links/{link.pk}/confirm/", {"next": f"/c/{conv.pk}/"})
    p.refresh_from_db()
    assert p.customer is not None and p.customer.name == "Robert Smithers"


def test_merge_and_undo_from_the_page(agent_client, acme, scope_of) -> None:
    agent = scope_of(acme["users"]["agent"])
    a = services.create_customer(agent, CustomerIn(name="Ann"))
    b = services.create_customer(agent, CustomerIn(name="Ann L", email="ann@example.com"))
    agent_client.post(f"/customers/{a.pk}/merge/", {"other_id": str(b.pk)})
    b.refresh_from_db()
    assert b.merged_into_id == a.pk
    html = agent_client.get(f"/customers/{a.pk}/").content.decode()
    assert "Undo merge" in html
    from hubbub.crm.models import MergeRecord

    agent_client.post(f"/customers/merges/{MergeRecord.objects.get().pk}/undo/")
    b.refresh_from_db()
    assert b.merged_into_id is None
