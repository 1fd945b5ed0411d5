"""Canned responses: variables filled on the server; per-network length checked before sending."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from hubbub.tenancy.scoping import PermissionDenied
from hubbub.workflow.inputs import CannedIn
from hubbub.workflow.services.canned import render_canned, save_canned

pytestmark = pytest.mark.django_db

BODY = "Hi {first_name}, {agent_name} from {brand} here. Your case is {case_number}."


def test_variables_are_filled_for_the_conversation(acme, make_conv, scopes):
    canned = save_canned(scopes["supervisor"], CannedIn(title="hello", body=BODY))
    conv = make_conv(name="Maria Lopez")
    out = render_canned(scopes["agent"], canned, conv)
    assert out["text"] == f"Hi Maria, acme-agent from Acme Air here. Your case is C-{conv.pk:06d}."
    assert out["limit"] == 280 and out["fits"]


def test_the_crm_name_wins_over_the_profile_name(make_conv, scopes):
    canned = save_canned(scopes["supervisor"], CannedIn(title="hello", body="Hi {first_name}"))
    conv = make_conv(name="Zed", tier="loyal")
    conv.author.customer.name = "Beatriz Silva"
    conv.author.customer.save()
    assert render_canned(scopes["agent"], canned, conv)["text"] == "Hi Beatriz"


def test_length_is_checked_per_network(make_conv, scopes):
    canned = save_canned(scopes["supervisor"], CannedIn(title="long", body="x" * 290))
    assert not render_canned(scopes["agent"], canned, make_conv(network="x"))["fits"]
    assert render_canned(scopes["agent"], canned, make_conv(network="mastodon"))["fits"]


def test_unknown_variables_are_refused(scopes):
    with pytest.raises(ValueError, match="order_id"):
        save_canned(scopes["supervisor"], CannedIn(title="t", body="Your order {order_id}"))


@pytest.mark.parametrize("role", ["agent", "analyst"])
def test_only_supervisors_write_canned_responses(acme, scopes, role):
    with pytest.raises(PermissionDenied):
        save_canned(scopes[role], CannedIn(title="t", body="b"))
    c = Client()
    c.force_login(acme["users"][role])
    r = c.post("/api/v1/workflow/canned", json.dumps({"title": "t", "body": "b"}), content_type="application/json")
    assert r.status_code == 403
    assert c.post("/workflow/canned/", {"title": "t", "body": "b"}).status_code in (302, 403)
    from hubbub.inbox.models import CannedResponse

    assert not CannedResponse.objects.exists()


def test_the_composer_offers_rendered_canned_responses(acme, make_conv, scopes):
    save_canned(scopes["supervisor"], CannedIn(title="hello", body="Hi {first_name} from {brand}"))
    conv = make_conv(name="Maria Lopez")
    c = Client()
    c.force_login(acme["users"]["agent"])
    page = c.get(f"/c/{conv.pk}/")
    assert b'value="Hi Maria from Acme Air"' in page.content


def test_canned_api_renders_for_a_conversation(acme, make_conv, scopes):
    conv = make_conv(name="Maria Lopez")
    c = Client()
    c.force_login(acme["users"]["supervisor"])
    cid = c.post(
        "/api/v1/workflow/canned",
        json.dumps({"title": "t", "body": "Hi {first_name}"}),
        content_type="application/json",
    ).json()["id"]
    r = c.get(f"/api/v1/workflow/canned/{cid}/render?conversation_id={conv.pk}").json()
    assert r == {"text": "Hi Maria", "length": 8, "limit": 280, "fits": True}
