"""Guessing a password is stopped: after the failure limit a username is locked out from that address for the
cool-off, whatever the password, with a page that says so. API tokens have their own throttle."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from hubbub.api.models import ApiToken

PASSWORD = "pw-12345678"  # the make_org fixture's


def _sign_in(client: Client, username: str, password: str, ip: str = "10.1.1.1"):  # type: ignore[no-untyped-def]
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.django_db
def test_many_wrong_passwords_lock_the_username_from_that_address(acme):  # type: ignore[no-untyped-def]
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _sign_in(client, "acme-agent", "wrong-guess-123").status_code == 200
    assert _sign_in(client, "acme-agent", "wrong-guess-123").status_code == 429  # the limit-th failure locks
    page = _sign_in(client, "acme-agent", PASSWORD)
    assert page.status_code == 429
    assert not _signed_in(client)
    text = page.content.decode()
    assert "Too many attempts" in text and "Try again in 15 minutes" in text


@pytest.mark.django_db
def test_lockout_is_per_username_and_address_and_ends_after_the_cool_off(acme):  # type: ignore[no-untyped-def]
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(Client(), "acme-agent", "wrong-guess-123")
    # another address, or another username from the same address, still signs in
    other_ip = Client()
    assert _sign_in(other_ip, "acme-agent", PASSWORD, ip="10.2.2.2").status_code == 302 and _signed_in(other_ip)
    other_user = Client()
    assert _sign_in(other_user, "acme-analyst", PASSWORD).status_code == 302 and _signed_in(other_user)
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        later = Client()
        assert _sign_in(later, "acme-agent", PASSWORD).status_code == 302 and _signed_in(later)


@pytest.mark.django_db
def test_fewer_failures_than_the_limit_do_not_lock(acme):  # type: ignore[no-untyped-def]
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _sign_in(client, "acme-agent", "wrong-guess-123")
    assert _sign_in(client, "acme-agent", PASSWORD).status_code == 302 and _signed_in(client)


@pytest.mark.django_db
def test_the_test_clients_login_is_not_throttled(acme):  # type: ignore[no-untyped-def]
    """login() authenticates without a request; the lockout backend steps aside, the password is still checked."""
    client = Client()
    assert not client.login(username="acme-agent", password="wrong-guess-123")
    assert client.login(username="acme-agent", password=PASSWORD)


@pytest.mark.django_db
def test_wrong_api_tokens_are_throttled_without_locking_the_password(acme, settings):  # type: ignore[no-untyped-def]
    settings.API_TOKEN_FAILURE_LIMIT = 5
    cache.clear()
    org, agent = acme["org"], acme["users"]["agent"]
    _, key = ApiToken.issue(agent, org.pk, "ci")
    api = Client()
    for _ in range(5):
        r = api.get("/api/v1/conversations", HTTP_AUTHORIZATION="Bearer hbb_wrong", REMOTE_ADDR="10.9.9.9")
        assert r.status_code == 401
    r = api.get("/api/v1/conversations", HTTP_AUTHORIZATION=f"Bearer {key}", REMOTE_ADDR="10.9.9.9")
    assert r.status_code == 429 and "Too many invalid API tokens" in r.json()["detail"]
    # the same valid token from another address works; tokens never lock the user's password sign-in
    ok = api.get("/api/v1/conversations", HTTP_AUTHORIZATION=f"Bearer {key}", REMOTE_ADDR="10.8.8.8")
    assert ok.status_code == 200
    browser = Client()
    assert _sign_in(browser, "acme-agent", PASSWORD, ip="10.9.9.9").status_code == 302 and _signed_in(browser)
    cache.clear()
