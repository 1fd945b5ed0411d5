"""CRM over the REST API: customers, links, merge/undo, export/erase; other organisations get 404."""

from __future__ import annotations

import pytest
from django.test import Client

from hubbub.api.models import ApiToken
from hubbub.crm.models import Customer


def client_for(user, org):  # type: ignore[no-untyped-def]
    _, key = ApiToken.issue(user, org.pk, "t")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


@pytest.fixture
def api(acme):  # type: ignore[no-untyped-def]
    return client_for(acme["users"]["agent"], acme["org"])


def test_create_list_patch_customer(api) -> None:
    r = api.post("/api/v1/customers", {"name": "Ann Lee", "email": "ANN@example.com"}, content_type="application/json")
    assert r.status_code == 201, r.content
    cid = r.json()["id"]
    assert r.json()["email"] == "ann@example.com"
    assert [c["id"] for c in api.get("/api/v1/customers?q=ann").json()] == [cid]
    r = api.patch(f"/api/v1/customers/{cid}", {"phone": "+1 555 0102 999"}, content_type="application/json")
    assert r.json()["phone"] == "+1 555 0102 999"


def test_merge_and_undo_over_api(api) -> None:
    a = api.post("/api/v1/customers", {"name": "A"}, content_type="application/json").json()["id"]
    b = api.post("/api/v1/customers", {"name": "B"}, content_type="application/json").json()["id"]
    r = api.post(f"/api/v1/customers/{a}/merge", {"other_id": b}, content_type="application/json")
    assert r.status_code == 201
    assert Customer.objects.get(pk=b).merged_into_id == a
    r = api.post(f"/api/v1/crm/merges/{r.json()['id']}/undo")
    assert r.status_code == 200 and r.json()["undone_at"]
    assert Customer.objects.get(pk=b).merged_into_id is None
    r = api.post(f"/api/v1/customers/{a}/merge", {"other_id": a}, content_type="application/json")
    assert r.status_code == 400


def test_export_erase_need_a_supervisor(api, acme) -> None:
    cid = api.post("/api/v1/customers", {"name": "Ann"}, content_type="application/json").json()["id"]
    assert api.post(f"/api/v1/customers/{cid}/erase").status_code == 403
    sup = client_for(acme["users"]["supervisor"], acme["org"])
    assert sup.get(f"/api/v1/customers/{cid}/export").json()["customer"]["name"] == "Ann"
    assert sup.post(f"/api/v1/customers/{cid}/erase").status_code == 200
    assert Customer.objects.get(pk=cid).name == "[erased]"


def test_other_org_cannot_read_or_change(api, make_org) -> None:
    cid = api.post("/api/v1/customers", {"name": "Ann"}, content_type="application/json").json()["id"]
    other = make_org("globex")
    o = client_for(other["users"]["admin"], other["org"])
    assert o.get(f"/api/v1/customers/{cid}").status_code == 404
    assert o.patch(f"/api/v1/customers/{cid}", {"name": "x"}, content_type="application/json").status_code == 404
    assert o.post(f"/api/v1/customers/{cid}/erase").status_code == 404
    assert o.get("/api/v1/customers").json() == []
    assert Customer.objects.get(pk=cid).name == "Ann"
