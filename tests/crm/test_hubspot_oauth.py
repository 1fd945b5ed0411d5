"""Customers → HubSpot → Connect HubSpot: HubSpot's OAuth 2.0 authorization-code flow against the
local fake (which plays both HubSpot's authorize page and its token endpoints).

The browser is played by hand: the Connect button answers with a redirect to the fake's authorize
URL, `fake.authorize()` follows it and returns where HubSpot sends the browser back (the callback,
with `code` and `state`, or `error`), and the test client opens that callback as the same user.

Connecting and disconnecting are for admins only (the flow, the service functions and the API connect
endpoint); supervisors see the connection and run Sync now.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from hubbub.api.models import ApiToken
from hubbub.connectors.models import Channel
from hubbub.crm import hubspot_connection, sync
from hubbub.crm.inputs import CustomerIn, CustomerPatch
from hubbub.crm.models import Customer, OAuthState
from hubbub.tenancy.models import AuditEvent, Membership

from .fake_hubspot import FakeHubSpot

CALLBACK = "http://testserver/customers/hubspot/callback/"


@pytest.fixture
def fake(settings):  # type: ignore[no-untyped-def]
    with FakeHubSpot() as f:
        f.client_id = "hubbub-test-app"
        f.client_secret = "cs-" + secrets.token_hex(8)
        settings.HUBSPOT_CLIENT_ID = f.client_id
        settings.HUBSPOT_CLIENT_SECRET = f.client_secret
        settings.HUBSPOT_AUTHORIZE_URL = f"{f.url}/oauth/authorize"
        settings.HUBSPOT_API_URL = f.url
        settings.OUTBOUND_ALLOW = [f.url.removeprefix("http://"), "127.0.0.1:1"]  # :1, the unreachable HubSpot
        settings.HUBSPOT_REDIRECT_URI = ""
        settings.HUBSPOT_SCOPES = []
        yield f


def login(acme: dict[str, Any], role: str, csrf: bool = False) -> Client:
    c = Client(enforce_csrf_checks=csrf)
    c.force_login(acme["users"][role])
    return c


@pytest.fixture
def adm(acme):  # type: ignore[no-untyped-def]
    """Connecting and disconnecting HubSpot is for admins only."""
    return login(acme, "admin")


@pytest.fixture
def sup(acme):  # type: ignore[no-untyped-def]
    """Supervisors see the connection and run Sync now, but may not connect or disconnect."""
    return login(acme, "supervisor")


def start(client: Client) -> str:
    """Click Connect HubSpot; the authorize URL the browser is sent to."""
    r = client.post("/customers/hubspot/connect/")
    assert r.status_code == 302, r.content
    return str(r["Location"])


def local(url: str) -> str:
    """The callback URL HubSpot redirected to, as a path the test client can open."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CALLBACK
    return f"{parts.path}?{parts.query}"


def with_state(callback: str, state: str) -> str:
    q = parse_qs(urlsplit(callback).query)
    return f"/customers/hubspot/callback/?code={q['code'][0]}&state={state}"


def token_calls(fake: FakeHubSpot) -> int:
    return sum(1 for _, path, _ in fake.log if path == "/oauth/v1/token")


def api_client(acme: dict[str, Any], role: str) -> Client:
    _, key = ApiToken.issue(acme["users"][role], acme["org"].pk, "t")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def hubspot_channel(acme: dict[str, Any]) -> Channel | None:
    return Channel.objects.filter(organization=acme["org"], name="hubspot", is_active=True).first()


# ---------------------------------------------------------------- configuration and the button


def test_page_explains_what_to_configure_instead_of_a_broken_button(adm, settings) -> None:
    settings.HUBSPOT_CLIENT_ID = ""
    settings.HUBSPOT_CLIENT_SECRET = ""
    r = adm.get("/customers/hubspot/")
    assert r.status_code == 200
    body = r.content.decode()
    assert "HUBBUB_HUBSPOT_CLIENT_ID" in body and "HUBBUB_HUBSPOT_CLIENT_SECRET" in body
    assert CALLBACK in body  # the redirect URL to register in the HubSpot app
    assert "/customers/hubspot/connect/" not in body
    r = adm.post("/customers/hubspot/connect/", follow=True)
    assert "not configured" in r.content.decode()
    assert not OAuthState.objects.exists()


def test_connect_sends_the_browser_to_hubspot_with_state_scopes_and_redirect_uri(adm, acme, fake) -> None:
    page = adm.get("/customers/hubspot/").content.decode()
    assert "Connect HubSpot" in page and "/customers/hubspot/connect/" in page
    url = start(adm)
    assert url.startswith(f"{fake.url}/oauth/authorize?")
    assert "scope=oauth%20crm.objects.contacts.read%20crm.objects.contacts.write" in url  # %20, as documented
    q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert q["client_id"] == fake.client_id and q["redirect_uri"] == CALLBACK
    row = OAuthState.objects.get()
    assert (row.organization_id, row.user_id, row.redirect_uri) == (
        acme["org"].pk,
        acme["users"]["admin"].pk,
        CALLBACK,
    )
    ident, _, secret = q["state"].partition(".")
    assert ident == str(row.pk) and len(secret) >= 40 and secret not in row.secret_hash
    assert row.used_at is None and row.expires_at > timezone.now()


def test_configured_redirect_uri_and_scopes_are_used(adm, fake, settings) -> None:
    settings.HUBSPOT_REDIRECT_URI = "https://crm.example.com/customers/hubspot/callback/"
    settings.HUBSPOT_SCOPES = ["oauth", "crm.objects.contacts.read"]
    q = parse_qs(urlsplit(start(adm)).query)
    assert q["redirect_uri"] == ["https://crm.example.com/customers/hubspot/callback/"]
    assert q["scope"] == ["oauth crm.objects.contacts.read"]


# ---------------------------------------------------------------- the happy path


def test_full_flow_stores_encrypted_tokens_and_the_sync_works(adm, acme, fake, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="hubbub")
    fake.add_contact(email="ann@example.com", firstname="Ann", lastname="Lee")

    url = start(adm)
    logged = caplog.text
    callback = fake.authorize(url)  # the "browser" (the test's own httpx call) sees the code; not our logs
    caplog.clear()
    code = parse_qs(urlsplit(callback).query)["code"][0]
    r = adm.get(local(callback))
    assert r.status_code == 302 and r["Location"] == "/customers/hubspot/"
    page = adm.get("/customers/hubspot/")
    html = page.content.decode()
    assert f"HubSpot connected: {fake.hub_domain} (hub id {fake.hub_id})" in html
    assert "Disconnect HubSpot" in html and fake.user_email in html

    channel = hubspot_channel(acme)
    assert channel is not None
    raw = channel.credentials_encrypted
    for secret in (fake.access_token, fake.refresh_token, fake.client_secret):
        assert secret not in raw
    creds = channel.credentials
    assert (creds["access_token"], creds["refresh_token"]) == (fake.access_token, fake.refresh_token)
    assert creds["client_id"] == fake.client_id and "base_url" not in creds
    assert creds["hub_id"] == fake.hub_id and creds["hub_domain"] == fake.hub_domain
    event = AuditEvent.objects.get(organization=acme["org"], verb="crm.hubspot.connected")
    assert event.actor == acme["users"]["admin"]
    assert event.data == {"via": "oauth", "hub_id": fake.hub_id, "hub_domain": fake.hub_domain}
    assert OAuthState.objects.get().used_at is not None

    # The stored tokens work: Sync now pulls the contact and pushes nothing back that it should not.
    r = adm.post("/customers/hubspot/sync/", {"next": "/customers/hubspot/"}, follow=True)
    assert "HubSpot sync done: pulled 1" in r.content.decode()
    assert Customer.objects.get(organization=acme["org"], email="ann@example.com").name == "Ann Lee"
    fake.expire_token()  # and the refresh path uses the app credentials stored with them
    fake.edit_contact(next(iter(fake.contacts)), city="Oslo")
    sync.sync_hubspot(acme["org"].pk)
    assert Customer.objects.get(email="ann@example.com").location == "Oslo"

    # Neither the tokens, the code nor the client secret is ever shown or logged.
    pages = [html, r.content.decode()] + [
        adm.get(p).content.decode() for p in ("/customers/hubspot/", "/customers/conflicts/", "/customers/")
    ]
    secrets_seen = [fake.access_token, fake.refresh_token, creds["access_token"], creds["refresh_token"]]
    for text in [*pages, logged, caplog.text]:
        for value in [*secrets_seen, fake.client_secret, code]:
            assert value not in text
    assert "/oauth/v1/access-tokens/[redacted]" in caplog.text  # httpx's request log, redacted


# ---------------------------------------------------------------- refused states


def test_a_state_works_once(adm, acme, fake) -> None:
    callback = fake.authorize(start(adm))
    assert adm.get(local(callback)).status_code == 302
    stored = hubspot_channel(acme).credentials  # type: ignore[union-attr]
    calls = token_calls(fake)
    r = adm.get(local(callback))
    assert r.status_code == 400 and "already used" in r.content.decode()
    assert token_calls(fake) == calls  # refused before HubSpot is asked
    assert hubspot_channel(acme).credentials == stored  # type: ignore[union-attr]
    assert AuditEvent.objects.filter(verb="crm.hubspot.oauth_failed", data__reason="state_used").count() == 1


def test_hubspot_refuses_a_code_used_twice(adm, acme, fake) -> None:
    first = fake.authorize(start(adm))
    assert adm.get(local(first)).status_code == 302
    stored = hubspot_channel(acme).credentials  # type: ignore[union-attr]
    second = fake.authorize(start(adm))
    new_state = parse_qs(urlsplit(second).query)["state"][0]
    r = adm.get(with_state(first, new_state))  # a fresh state, but the old code
    assert r.status_code == 400
    assert "BAD_AUTH_CODE" in r.content.decode() and "Nothing was stored" in r.content.decode()
    assert hubspot_channel(acme).credentials == stored  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "state",
    ["", "x", "999999.nope", "1" * 30 + ".abc", "{pk}.wrong-secret", "{pk}", "{pk}."],
)
def test_unknown_or_altered_state_is_refused_and_stores_nothing(adm, acme, fake, state) -> None:
    callback = fake.authorize(start(adm))
    pk = OAuthState.objects.get().pk
    r = adm.get(with_state(callback, state.format(pk=pk)))
    assert r.status_code == 400
    assert "not valid" in r.content.decode() and "Connect HubSpot" in r.content.decode()
    assert hubspot_channel(acme) is None and token_calls(fake) == 0
    assert adm.get(local(callback)).status_code == 302  # the genuine state was not used up
    assert hubspot_channel(acme) is not None


def test_expired_state_is_refused(adm, acme, fake) -> None:
    callback = fake.authorize(start(adm))
    OAuthState.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    r = adm.get(local(callback))
    assert r.status_code == 400 and "expired" in r.content.decode()
    assert hubspot_channel(acme) is None and token_calls(fake) == 0


def test_state_of_another_user_or_organisation_is_refused(acme, make_org, fake) -> None:
    callback = fake.authorize(start(login(acme, "admin")))
    other = make_org("globex")
    second_admin = get_user_model().objects.create_user(username="acme-admin-2", password="pw-12345678")
    Membership.objects.create(user=second_admin, organization=acme["org"], role="admin")
    another = Client()
    another.force_login(second_admin)
    for client in (another, login(other, "admin")):
        r = client.get(local(callback))
        assert r.status_code == 400 and "another user" in r.content.decode()
    # The same user, now working in another organisation: refused too.
    Membership.objects.create(user=acme["users"]["admin"], organization=other["org"], role="admin")
    adm = login(acme, "admin")
    session = adm.session
    session["organization_id"] = other["org"].pk
    session.save()
    r = adm.get(local(callback))
    assert r.status_code == 400 and "another organisation" in r.content.decode()
    assert not Channel.objects.filter(name="hubspot").exists() and token_calls(fake) == 0
    session["organization_id"] = acme["org"].pk
    session.save()
    assert adm.get(local(callback)).status_code == 302  # back in the right organisation it still works
    assert hubspot_channel(acme) is not None and not Channel.objects.filter(organization=other["org"]).exists()


# ---------------------------------------------------------------- HubSpot says no, or fails


def test_access_denied_is_explained_and_stores_nothing(adm, acme, fake) -> None:
    fake.deny_next = True
    callback = fake.authorize(start(adm))
    q = parse_qs(urlsplit(callback).query)
    assert q["error"] == ["access_denied"] and "code" not in q
    r = adm.get(local(callback))
    assert r.status_code == 400
    assert "access was not granted" in r.content.decode()
    assert hubspot_channel(acme) is None and token_calls(fake) == 0
    assert OAuthState.objects.get().used_at is not None  # the state cannot be used afterwards
    assert AuditEvent.objects.filter(verb="crm.hubspot.oauth_declined", data__error="access_denied").exists()


def test_token_endpoint_400_shows_hubspots_reason_and_stores_nothing(adm, acme, fake, settings) -> None:
    callback = fake.authorize(start(adm))
    settings.HUBSPOT_CLIENT_SECRET = "cs-wrong-" + secrets.token_hex(4)
    r = adm.get(local(callback))
    body = r.content.decode()
    assert r.status_code == 400
    assert "BAD_CLIENT_ID" in body and "redirect URL and client secret" in body
    assert settings.HUBSPOT_CLIENT_SECRET not in body and fake.client_secret not in body
    assert hubspot_channel(acme) is None
    assert AuditEvent.objects.filter(verb="crm.hubspot.oauth_failed", data__reason="token_exchange").exists()


def test_token_endpoint_503_is_retried(adm, acme, fake) -> None:
    callback = fake.authorize(start(adm))
    fake.token_errors = [503]
    assert adm.get(local(callback)).status_code == 302
    assert [s for _, p, s in fake.log if p == "/oauth/v1/token"] == [503, 200]
    assert hubspot_channel(acme) is not None


def test_unreachable_hubspot_is_explained(adm, acme, fake, settings) -> None:
    callback = fake.authorize(start(adm))
    settings.HUBSPOT_API_URL = "http://127.0.0.1:1"
    r = adm.get(local(callback))
    assert r.status_code == 400 and "could not be reached" in r.content.decode()
    assert hubspot_channel(acme) is None


# ---------------------------------------------------------------- who may, and CSRF


@pytest.mark.parametrize("role", ["supervisor", "agent", "analyst"])
def test_only_admins_can_connect_or_disconnect(acme, fake, role) -> None:
    admin = login(acme, "admin")
    callback = fake.authorize(start(admin))
    client = login(acme, role)
    page = client.get("/customers/hubspot/")
    assert page.status_code == 200 and "/customers/hubspot/connect/" not in page.content.decode()
    assert "Only an admin can connect or disconnect HubSpot." in page.content.decode()
    assert client.post("/customers/hubspot/connect/").status_code == 403
    assert client.get(local(callback)).status_code == 403
    state = parse_qs(urlsplit(callback).query)["state"][0]
    declined = f"/customers/hubspot/callback/?error=access_denied&state={state}"
    assert client.get(declined).status_code == 403  # the decline path too
    assert OAuthState.objects.count() == 1 and OAuthState.objects.get().used_at is None
    assert not AuditEvent.objects.filter(verb__startswith="crm.hubspot.oauth_").exists()
    assert admin.get(local(callback)).status_code == 302
    assert client.post("/customers/hubspot/disconnect/").status_code == 403
    assert hubspot_channel(acme) is not None
    assert not AuditEvent.objects.filter(verb="crm.hubspot.disconnected").exists()


def test_services_refuse_non_admins(acme, scope_of, fake) -> None:
    from hubbub.crm import hubspot_oauth
    from hubbub.tenancy.scoping import PermissionDenied

    tokens = {"access_token": "a", "refresh_token": "r"}
    for role in ("supervisor", "agent", "analyst"):
        scope = scope_of(acme["users"][role])
        with pytest.raises(PermissionDenied):
            hubspot_oauth.start_authorization(scope, CALLBACK)
        with pytest.raises(PermissionDenied):
            hubspot_oauth.complete_authorization(scope, "1.x", "code")
        with pytest.raises(PermissionDenied):
            hubspot_oauth.decline_authorization(scope, "1.x", "access_denied")
        with pytest.raises(PermissionDenied):
            hubspot_connection.connect_hubspot(scope, tokens)
    assert not OAuthState.objects.exists() and hubspot_channel(acme) is None
    hubspot_connection.connect_hubspot(scope_of(acme["users"]["admin"]), tokens)
    for role in ("supervisor", "agent", "analyst"):
        with pytest.raises(PermissionDenied):
            hubspot_connection.disconnect_hubspot(scope_of(acme["users"][role]))
    assert hubspot_channel(acme) is not None


@pytest.mark.parametrize("role", ["supervisor", "agent", "analyst"])
def test_api_connect_is_for_admins_only(acme, fake, role) -> None:
    body = {"access_token": "a-token", "refresh_token": "r-token"}
    r = api_client(acme, role).post("/api/v1/crm/hubspot/connect", body, content_type="application/json")
    assert r.status_code == 403
    assert not Channel.objects.filter(name="hubspot").exists()
    assert not AuditEvent.objects.filter(verb="crm.hubspot.connected").exists()
    r = api_client(acme, "admin").post("/api/v1/crm/hubspot/connect", body, content_type="application/json")
    assert r.status_code == 200 and hubspot_channel(acme) is not None
    event = AuditEvent.objects.get(verb="crm.hubspot.connected")
    assert event.actor == acme["users"]["admin"] and event.data["via"] == "api"


def test_supervisor_sees_the_connection_and_can_sync_now(acme, adm, sup, fake) -> None:
    fake.add_contact(email="ann@example.com", firstname="Ann", lastname="Lee")
    assert adm.get(local(fake.authorize(start(adm)))).status_code == 302
    html = sup.get("/customers/hubspot/").content.decode()
    assert fake.hub_domain in html and f"hub id {fake.hub_id}" in html and "Sync now" in html
    assert "Only an admin can connect or disconnect HubSpot." in html
    assert "/customers/hubspot/disconnect/" not in html and "/customers/hubspot/connect/" not in html
    r = sup.post("/customers/hubspot/sync/", {"next": "/customers/hubspot/"}, follow=True)
    assert "HubSpot sync done: pulled 1" in r.content.decode()
    assert Customer.objects.get(organization=acme["org"], email="ann@example.com").name == "Ann Lee"
    assert "Sync now" in sup.get("/customers/conflicts/").content.decode()
    r = api_client(acme, "supervisor").post("/api/v1/crm/hubspot/sync")
    assert r.status_code == 200
    # The admin's page has Disconnect and not the supervisor's line.
    html = adm.get("/customers/hubspot/").content.decode()
    assert "/customers/hubspot/disconnect/" in html and "Only an admin" not in html


def test_start_needs_post_and_a_csrf_token(acme, fake) -> None:
    c = login(acme, "admin", csrf=True)
    assert c.get("/customers/hubspot/connect/").status_code == 405
    assert c.post("/customers/hubspot/connect/").status_code == 403
    assert not OAuthState.objects.exists()
    c.get("/customers/hubspot/")  # renders the form, sets the CSRF cookie
    token = c.cookies["csrftoken"].value
    r = c.post("/customers/hubspot/connect/", {"csrfmiddlewaretoken": token})
    assert r.status_code == 302 and r["Location"].startswith(f"{fake.url}/oauth/authorize?")
    assert c.post("/customers/hubspot/disconnect/").status_code == 403  # disconnect is protected too


def test_login_is_required(client, fake) -> None:
    r = client.get("/customers/hubspot/callback/?code=x&state=1.y")
    assert r.status_code == 302 and r["Location"].startswith("/login/")


# ---------------------------------------------------------------- disconnect


def test_disconnect_forgets_tokens_revokes_and_reconnect_carries_on(adm, acme, fake) -> None:
    assert adm.get(local(fake.authorize(start(adm)))).status_code == 302
    sync.sync_hubspot(acme["org"].pk)
    refresh = fake.refresh_token
    last_sync = hubspot_channel(acme).credentials["last_sync_ms"]  # type: ignore[union-attr]

    r = adm.post("/customers/hubspot/disconnect/", follow=True)
    html = r.content.decode()
    assert "HubSpot disconnected" in html and "Connect HubSpot" in html
    assert fake.revoked == [refresh]
    channel = Channel.objects.get(organization=acme["org"], name="hubspot")
    assert not channel.is_active
    assert set(channel.credentials) == {"hub_id", "hub_domain", "hubspot_user", "scopes", "last_sync_ms"}
    event = AuditEvent.objects.get(verb="crm.hubspot.disconnected")
    assert event.actor == acme["users"]["admin"] and event.data["revoked_at_hubspot"] is True
    with pytest.raises(ValueError):
        sync.sync_hubspot(acme["org"].pk)
    from hubbub.crm.tasks import sync_hubspot_periodically

    assert sync_hubspot_periodically.call_local() == 0
    assert "HubSpot is not connected" in adm.get("/customers/conflicts/").content.decode()
    assert "not connected" in adm.post("/customers/hubspot/disconnect/", follow=True).content.decode()

    # Connecting the same portal again keeps the incremental-sync mark; another portal starts afresh.
    assert adm.get(local(fake.authorize(start(adm)))).status_code == 302
    assert hubspot_channel(acme).credentials["last_sync_ms"] == last_sync  # type: ignore[union-attr]
    adm.post("/customers/hubspot/disconnect/")
    fake.hub_id = 5151
    assert adm.get(local(fake.authorize(start(adm)))).status_code == 302
    assert "last_sync_ms" not in hubspot_channel(acme).credentials  # type: ignore[union-attr]


def _synced_customer_with_notes(acme: dict[str, Any], make_event: Any, ingest: Any) -> Customer:
    """Ann, synced to the connected portal: her contact, a resolved conversation and a call logged as notes."""
    from hubbub.crm import services
    from hubbub.inbox.models import Conversation
    from hubbub.tenancy.scoping import scope_for

    agent = scope_for(acme["users"]["agent"], acme["org"].pk)
    ann = services.create_customer(agent, CustomerIn(name="Ann Lee", email="ann@example.com", handles=["annlee"]))
    ingest(acme["org"], [make_event("my bag is lost", author="annlee")])
    Conversation.objects.update(status="resolved")
    services.log_interaction(agent, ann, "phone", "Called back, bag found")
    sync.sync_hubspot(acme["org"].pk)
    ann.refresh_from_db()
    return ann


def test_connecting_another_portal_resets_the_links_to_the_old_one(adm, acme, fake, make_event, ingest) -> None:
    assert adm.get(local(fake.authorize(start(adm)))).status_code == 302
    ann = _synced_customer_with_notes(acme, make_event, ingest)
    old_id = ann.hubspot_id
    assert old_id in fake.contacts and len(fake.notes) == 2
    from hubbub.crm import services
    from hubbub.tenancy.scoping import scope_for

    services.update_customer(scope_for(acme["users"]["agent"], acme["org"].pk), ann, CustomerPatch(phone="+15550100"))

    # The admin connects another HubSpot account: a new portal, with none of these records.
    adm.post("/customers/hubspot/disconnect/")
    fake.hub_id, fake.hub_domain = 5151, "acme-other.hubspot.com"
    fake.contacts, fake.notes = {}, []
    r = adm.get(local(fake.authorize(start(adm))), follow=True)
    page = r.content.decode()
    assert "HubSpot connected: acme-other.hubspot.com" in page
    assert "another HubSpot account than the one connected before (hub id 4242): 3 links" in page

    event = AuditEvent.objects.get(organization=acme["org"], verb="crm.hubspot.links_reset")
    assert event.actor == acme["users"]["admin"]
    assert event.data == {
        "from_hub_id": 4242,
        "to_hub_id": 5151,
        "links": 3,
        "contacts": 1,
        "notes": 2,
        "interactions": 1,
    }
    ann.refresh_from_db()
    assert (ann.hubspot_id, ann.sync_snapshot, ann.synced_at) == ("", {}, None)

    # The next sync creates the contact and the notes in the new portal instead of updating old ids there.
    fake.log.clear()
    stats = sync.sync_hubspot(acme["org"].pk)
    assert not [entry for entry in fake.log if entry[2] >= 400]
    assert (stats["created_there"], stats["updated_there"], stats["notes"]) == (1, 0, 2)
    ann.refresh_from_db()
    assert ann.hubspot_id != old_id and fake.contacts[ann.hubspot_id]["properties"]["phone"] == "+15550100"
    assert {a["to"]["id"] for n in fake.notes for a in n["associations"]} == {ann.hubspot_id}


def test_reconnecting_the_same_portal_keeps_the_links(adm, acme, fake, make_event, ingest) -> None:
    assert adm.get(local(fake.authorize(start(adm)))).status_code == 302
    ann = _synced_customer_with_notes(acme, make_event, ingest)
    adm.post("/customers/hubspot/disconnect/")
    r = adm.get(local(fake.authorize(start(adm))), follow=True)
    assert "links to that account were reset" not in r.content.decode()
    assert not AuditEvent.objects.filter(verb="crm.hubspot.links_reset").exists()
    kept = Customer.objects.get(pk=ann.pk)
    assert kept.hubspot_id == ann.hubspot_id and kept.synced_at is not None
    assert sync.sync_hubspot(acme["org"].pk)["notes"] == 0 and len(fake.notes) == 2


def test_disconnect_still_forgets_tokens_when_hubspot_is_down(adm, acme, fake, settings) -> None:
    assert adm.get(local(fake.authorize(start(adm)))).status_code == 302
    channel = hubspot_channel(acme)
    assert channel is not None
    settings.HUBSPOT_API_URL = "http://127.0.0.1:1"  # nothing listens there
    r = adm.post("/customers/hubspot/disconnect/", follow=True)
    assert "HubSpot could not be told" in r.content.decode()
    channel.refresh_from_db()
    assert not channel.is_active and "refresh_token" not in channel.credentials
    assert fake.revoked == []


def test_sync_now_says_when_hubspot_cannot_be_reached(adm, sup, fake, settings) -> None:  # type: ignore[no-untyped-def]
    assert adm.get(local(fake.authorize(start(adm)))).status_code == 302
    settings.HUBSPOT_API_URL = "http://127.0.0.1:1"  # nothing listens there
    page = sup.post("/customers/hubspot/sync/", follow=True).content.decode()
    assert "HubSpot sync failed: HubSpot could not be reached (failed: could not connect)" in page
    settings.HUBSPOT_API_URL = "http://10.0.0.1"  # an address the outbound policy refuses
    page = sup.post("/customers/hubspot/sync/", follow=True).content.decode()
    assert "HubSpot could not be reached (refused: address not allowed)" in page


@pytest.mark.parametrize("nxt", ["//evil.example/", "/\\evil.example/", "https://evil.example/"])
def test_sync_now_goes_back_only_to_a_page_of_this_site(sup, nxt) -> None:
    r = sup.post("/customers/hubspot/sync/", {"next": nxt})
    assert r.status_code == 302 and r["Location"] == "/customers/conflicts/"


# ---------------------------------------------------------------- which portal: read on every connect


def api_connect(acme: dict[str, Any], fake: FakeHubSpot) -> None:
    body = {"access_token": fake.access_token, "refresh_token": fake.refresh_token}
    r = api_client(acme, "admin").post("/api/v1/crm/hubspot/connect", body, content_type="application/json")
    assert r.status_code == 200, r.content


def links_resets(acme: dict[str, Any]) -> list[tuple[Any, Any]]:
    events = AuditEvent.objects.filter(organization=acme["org"], verb="crm.hubspot.links_reset").order_by("id")
    return [(e.data["from_hub_id"], e.data["to_hub_id"]) for e in events]


def test_api_connect_reads_the_portal_so_a_later_switch_is_detected(acme, fake) -> None:
    api_connect(acme, fake)
    creds = hubspot_channel(acme).credentials  # type: ignore[union-attr]
    assert (creds["hub_id"], creds["hub_domain"]) == (fake.hub_id, fake.hub_domain)
    event = AuditEvent.objects.get(verb="crm.hubspot.connected")
    assert event.data == {"via": "api", "hub_id": fake.hub_id, "hub_domain": fake.hub_domain}

    fake.hub_id, fake.hub_domain = 5151, "acme-other.hubspot.com"  # tokens of another portal, given to the API
    api_connect(acme, fake)
    assert links_resets(acme) == [(4242, 5151)]
    assert hubspot_channel(acme).credentials["hub_id"] == 5151  # type: ignore[union-attr]


@pytest.mark.parametrize("how", ["api", "oauth"])
def test_when_hubspot_does_not_say_the_portal_the_stored_one_is_kept(adm, acme, fake, caplog, how) -> None:
    def connect() -> None:
        if how == "api":
            api_connect(acme, fake)
        else:
            assert adm.get(local(fake.authorize(start(adm)))).status_code == 302

    connect()
    fake.token_info_errors = [403]  # the token information endpoint fails once
    caplog.set_level(logging.WARNING, logger="hubbub.crm.sync")
    connect()
    creds = hubspot_channel(acme).credentials  # type: ignore[union-attr]
    assert (creds["hub_id"], creds["hub_domain"]) == (4242, fake.hub_domain)  # kept, not erased
    assert creds["access_token"] == fake.access_token  # the new tokens are stored: they work
    event = AuditEvent.objects.filter(verb="crm.hubspot.connected").order_by("-id").first()
    assert event is not None and event.data == {
        "via": how,
        "hub_id": 4242,
        "hub_domain": fake.hub_domain,
        "portal_unknown": True,
    }
    assert "keeping the stored hub id 4242" in caplog.text and "HubSpot 403" in caplog.text
    assert fake.access_token not in caplog.text
    assert links_resets(acme) == []

    fake.hub_id = 5151  # the next connect that can read the portal still sees the switch
    connect()
    assert links_resets(acme) == [(4242, 5151)]
