"""Settings → Users: an organisation's admins manage their own people, and nobody else's."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from hubbub.api.models import ApiToken
from hubbub.tenancy.models import AuditEvent, Membership

NEW_PASSWORD = "tangerine-owl-47"


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def two_orgs(make_org):  # type: ignore[no-untyped-def]
    return make_org("acme"), make_org("globex", brands=("Globex",))


@pytest.mark.django_db
def test_admin_sees_only_their_organisations_users(two_orgs):  # type: ignore[no-untyped-def]
    acme, globex = two_orgs
    page = _client(acme["users"]["admin"]).get("/settings/users/").content.decode()
    assert "acme-agent" in page and "globex-agent" not in page


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["save", "remove", "password_link", "reset_two_factor"])
def test_another_organisations_member_is_not_found(two_orgs, action):  # type: ignore[no-untyped-def]
    acme, globex = two_orgs
    theirs = Membership.objects.get(user=globex["users"]["agent"])
    r = _client(acme["users"]["admin"]).post(f"/settings/users/{theirs.pk}/", {"action": action, "role": "admin"})
    assert r.status_code == 404
    theirs.refresh_from_db()
    assert theirs.role == "agent" and theirs.user.is_active


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["supervisor", "agent", "analyst"])
def test_non_admins_are_refused_and_see_no_controls(acme, role):  # type: ignore[no-untyped-def]
    client = _client(acme["users"][role])
    page = client.get("/settings/users/")
    assert page.status_code == 403 and "needs the admin role" in page.content.decode()
    member = Membership.objects.get(user=acme["users"]["agent"])
    assert client.post(f"/settings/users/{member.pk}/", {"action": "remove"}).status_code == 403
    assert client.post("/settings/users/new/", {"username": "x", "role": "admin"}).status_code == 403
    assert client.post("/settings/security/", {"require_two_factor": "on"}).status_code == 403
    nav = client.get("/").content.decode()
    assert "/settings/users/" not in nav and "/settings/tokens/" not in nav
    assert Membership.objects.filter(pk=member.pk).exists()


@pytest.mark.django_db
def test_admin_adds_a_user_with_a_validated_password(acme):  # type: ignore[no-untyped-def]
    admin = _client(acme["users"]["admin"])
    brand = acme["brands"]["Acme Air"]
    form = {"username": "newbie", "email": "n@example.com", "role": "agent", "brands": [brand.pk]}
    admin.post("/settings/users/new/", {**form, "password": "short"})
    refused = admin.get("/settings/users/").content.decode()
    assert "User not created" in refused and "too short" in refused
    assert not get_user_model().objects.filter(username="newbie").exists()
    admin.post("/settings/users/new/", {**form, "password": NEW_PASSWORD})
    member = Membership.objects.get(user__username="newbie")
    assert member.organization == acme["org"] and member.role == "agent" and list(member.brands.all()) == [brand]
    assert Client().login(username="newbie", password=NEW_PASSWORD)
    event = AuditEvent.objects.get(verb="member.created")
    assert event.organization == acme["org"] and event.data["username"] == "newbie"


@pytest.mark.django_db
def test_a_user_without_a_password_gets_a_one_time_link(acme):  # type: ignore[no-untyped-def]
    admin = _client(acme["users"]["admin"])
    admin.post("/settings/users/new/", {"username": "linky", "role": "analyst"})
    page = admin.get("/settings/users/").content.decode()
    url = re.search(r'value="(http://testserver/account/set-password/[^"]+)"', page)
    assert url, page
    assert "/account/set-password/" not in admin.get("/settings/users/").content.decode()  # shown once
    person = Client()
    form_page = person.get(url.group(1), follow=True)
    target = form_page.redirect_chain[-1][0] if form_page.redirect_chain else url.group(1)
    weak = person.post(target, {"new_password1": "12345678901", "new_password2": "12345678901"})
    assert weak.status_code == 200 and "entirely numeric" in weak.content.decode()
    done = person.post(target, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert Client().login(username="linky", password=NEW_PASSWORD)
    again = Client().get(url.group(1), follow=True).content.decode()
    assert "does not work any more" in again


@pytest.mark.django_db
def test_admin_changes_role_and_brands_and_the_last_admin_stays(acme):  # type: ignore[no-untyped-def]
    admin_user = acme["users"]["admin"]
    admin = _client(admin_user)
    agent = Membership.objects.get(user=acme["users"]["agent"])
    rail = acme["brands"]["Acme Rail"]
    admin.post(f"/settings/users/{agent.pk}/", {"action": "save", "role": "supervisor", "brands": [rail.pk]})
    agent.refresh_from_db()
    assert agent.role == "supervisor" and list(agent.brands.all()) == [rail]
    event = AuditEvent.objects.get(verb="member.changed")
    assert event.data["before"]["role"] == "agent" and event.data["after"] == {
        "role": "supervisor",
        "brands": ["acme-rail"],
    }
    own = Membership.objects.get(user=admin_user)
    admin.post(f"/settings/users/{own.pk}/", {"action": "save", "role": "agent"})
    own.refresh_from_db()
    assert own.role == "admin"
    assert "last admin" in admin.get("/settings/users/").content.decode()


@pytest.mark.django_db
def test_removing_a_member_revokes_their_tokens_and_deactivates_a_single_org_account(acme):  # type: ignore[no-untyped-def]
    agent = acme["users"]["agent"]
    _, key = ApiToken.issue(agent, acme["org"].pk, "ci")
    assert Client().get("/api/v1/conversations", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    member = Membership.objects.get(user=agent)
    r = _client(acme["users"]["admin"]).post(f"/settings/users/{member.pk}/", {"action": "remove"})
    assert r.status_code == 302
    assert not Membership.objects.filter(pk=member.pk).exists()
    agent.refresh_from_db()
    assert not agent.is_active
    assert Client().get("/api/v1/conversations", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401
    event = AuditEvent.objects.get(verb="member.removed")
    assert event.data["tokens_revoked"] == 1 and event.data["account_deactivated"] is True


@pytest.mark.django_db
def test_an_account_in_another_organisation_cannot_be_taken_over(two_orgs):  # type: ignore[no-untyped-def]
    """An admin of acme must not set the password of a user who also opens globex."""
    acme, globex = two_orgs
    shared = globex["users"]["supervisor"]
    here = Membership.objects.create(user=shared, organization=acme["org"], role="agent")
    admin = _client(acme["users"]["admin"])
    admin.post(f"/settings/users/{here.pk}/", {"action": "password_link"})
    page = admin.get("/settings/users/").content.decode()
    assert "/account/set-password/" not in page and "only a platform admin" in page
    admin.post(f"/settings/users/{here.pk}/", {"action": "remove"})
    shared.refresh_from_db()
    assert shared.is_active and Membership.objects.filter(user=shared, organization=globex["org"]).exists()


@pytest.mark.django_db
def test_the_users_page_costs_the_same_queries_for_more_members(acme):  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    admin = _client(acme["users"]["admin"])
    admin.get("/settings/users/")  # warm the session and caches

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin.get("/settings/users/").status_code == 200
        return len(captured)

    before = queries()
    for i in range(6):
        user = get_user_model().objects.create_user(f"extra-{i}", password=NEW_PASSWORD)
        Membership.objects.create(user=user, organization=acme["org"], role="agent")
    page = admin.get("/settings/users/").content.decode()
    assert "extra-5" in page
    assert queries() == before
