"""An agency user who belongs to two organisations switches between them in the top bar: every page then
shows the chosen organisation's data only, a crafted id of an organisation they do not belong to is
refused, the switch is audited and the brand filter starts afresh."""

from __future__ import annotations

import pytest
from django.test import Client

from hubbub.tenancy.models import AuditEvent, Membership, Organization

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_orgs(make_org, make_event, ingest):  # type: ignore[no-untyped-def]
    acme, globex = make_org("acme"), make_org("globex", brands=("Globex Air",))
    ingest(acme["org"], [make_event("my bag is lost", author="acmecustomer")])
    ingest(globex["org"], [make_event("seat broken", brand="globex-air", author="globexcustomer")])
    user = acme["users"]["agent"]
    Membership.objects.create(user=user, organization=globex["org"], role="supervisor")
    client = Client()
    client.force_login(user)
    return client, acme, globex


def test_the_switcher_shows_only_for_users_with_several_organisations(two_orgs):  # type: ignore[no-untyped-def]
    client, acme, _ = two_orgs
    body = client.get("/").content.decode()
    assert 'id="org-switch"' in body and "Globex" in body
    single = Client()
    single.force_login(acme["users"]["analyst"])
    assert 'id="org-switch"' not in single.get("/").content.decode()


def test_switching_shows_the_new_organisations_data_only(two_orgs):  # type: ignore[no-untyped-def]
    client, acme, globex = two_orgs
    first = client.get("/").content.decode()
    assert "@acmecustomer" in first and "@globexcustomer" not in first
    r = client.post("/organization/", {"organization": globex["org"].pk})
    assert r.status_code == 302 and r["Location"] == "/"
    page = client.get("/").content.decode()
    assert "@globexcustomer" in page and "@acmecustomer" not in page
    assert "You are now working in Globex." in page
    assert "supervisor" in page  # the role of that membership
    assert "Acme Air" not in client.get("/reports/").content.decode()
    api_like = client.get("/").context["scope"]
    assert api_like.organization_id == globex["org"].pk
    entry = AuditEvent.objects.get(verb="organization.switched")
    assert entry.organization_id == globex["org"].pk and entry.data["previous_organization_id"] is None


def test_an_organisation_the_user_is_no_member_of_is_refused(two_orgs):  # type: ignore[no-untyped-def]
    client, acme, _ = two_orgs
    stranger = Organization.objects.create(slug="initech", name="Initech")
    for value in (stranger.pk, "99999999999999999999999", "abc", ""):
        r = client.post("/organization/", {"organization": value})
        assert r.status_code == 404
    assert client.get("/").context["scope"].organization_id == acme["org"].pk
    assert not AuditEvent.objects.filter(verb="organization.switched").exists()


def test_the_switch_needs_a_post_with_the_csrf_token(two_orgs):  # type: ignore[no-untyped-def]
    client, acme, globex = two_orgs
    assert client.get("/organization/").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(acme["users"]["agent"])
    assert strict.post("/organization/", {"organization": globex["org"].pk}).status_code == 403


def test_the_brand_filter_resets_on_switch(two_orgs):  # type: ignore[no-untyped-def]
    client, acme, globex = two_orgs
    client.post("/brand/", {"brand": acme["brands"]["Acme Rail"].pk, "next": "/"})
    assert client.session["brand_id"] == acme["brands"]["Acme Rail"].pk
    client.post("/organization/", {"organization": globex["org"].pk})
    assert "brand_id" not in client.session


def test_a_membership_removed_meanwhile_falls_back_to_the_first_organisation(two_orgs):  # type: ignore[no-untyped-def]
    client, acme, globex = two_orgs
    client.post("/organization/", {"organization": globex["org"].pk})
    Membership.objects.filter(organization=globex["org"], user=acme["users"]["agent"]).delete()
    r = client.get("/")
    assert r.status_code == 200 and r.context["scope"].organization_id == acme["org"].pk
    assert "@globexcustomer" not in r.content.decode()
