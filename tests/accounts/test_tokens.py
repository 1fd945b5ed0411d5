"""Settings → API tokens: admins issue (shown once, stored hashed), revoke (refused at once), see last use."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client

from hubbub.api.models import ApiToken
from hubbub.tenancy.models import AuditEvent, Membership


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def _api(key: str) -> int:
    return Client().get("/api/v1/conversations", HTTP_AUTHORIZATION=f"Bearer {key}").status_code


@pytest.mark.django_db
def test_admin_issues_a_token_shown_once_and_revokes_it(acme, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    cache.clear()  # api.token_use remembers per token id that it wrote lately; ids repeat across tests
    admin = _client(acme["users"]["admin"])
    agent = Membership.objects.get(user=acme["users"]["agent"])
    assert "No API token yet" in admin.get("/settings/tokens/").content.decode()
    admin.post("/settings/tokens/new/", {"name": "Zapier", "member": agent.pk})
    page = admin.get("/settings/tokens/").content.decode()
    key = re.search(r'value="(hbb_[^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert "hbb_" not in admin.get("/settings/tokens/").content.decode().replace(key[:12], "")  # shown once
    token = ApiToken.objects.get(name="Zapier")
    assert (
        token.user == acme["users"]["agent"] and token.key_hash == ApiToken.hash_key(key) and key not in token.key_hash
    )
    with django_capture_on_commit_callbacks(execute=True):  # the last use is written after the request commits
        assert _api(key) == 200
    assert "never" not in admin.get("/settings/tokens/").content.decode().split("Zapier")[1].split("</tr>")[0]
    admin.post(f"/settings/tokens/{token.pk}/revoke/")
    assert _api(key) == 401
    verbs = list(AuditEvent.objects.filter(target_type="apitoken").values_list("verb", flat=True))
    assert sorted(verbs) == ["api_token.created", "api_token.revoked"]


@pytest.mark.django_db
def test_another_organisations_tokens_are_out_of_reach(make_org):  # type: ignore[no-untyped-def]
    acme, globex = make_org("acme"), make_org("globex", brands=("Globex",))
    theirs, key = ApiToken.issue(globex["users"]["agent"], globex["org"].pk, "theirs")
    admin = _client(acme["users"]["admin"])
    assert "theirs" not in admin.get("/settings/tokens/").content.decode()
    assert admin.post(f"/settings/tokens/{theirs.pk}/revoke/").status_code == 404
    their_member = Membership.objects.get(user=globex["users"]["agent"])
    assert admin.post("/settings/tokens/new/", {"name": "x", "member": their_member.pk}).status_code == 404
    assert _api(key) == 200 and not ApiToken.objects.filter(name="x").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["supervisor", "agent", "analyst"])
def test_non_admins_cannot_manage_tokens(acme, role):  # type: ignore[no-untyped-def]
    token, key = ApiToken.issue(acme["users"]["admin"], acme["org"].pk, "ops")
    client = _client(acme["users"][role])
    page = client.get("/settings/tokens/")
    assert page.status_code == 403 and "needs the admin role" in page.content.decode()
    assert client.post(f"/settings/tokens/{token.pk}/revoke/").status_code == 403
    assert _api(key) == 200
