"""Server-side request forgery: no user-settable URL reaches a private, loopback or metadata address.

Covers the outbound client directly (every case of `ssrf_cases`), the alert webhook set through the web form
and the API and then fired by the detectors, and the HubSpot connection set through the API. Each test
checks that nothing reached the target (a local listener counts hits) and that the user is told why.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from django.test import Client

from hubbub import outbound_http
from hubbub.api.models import ApiToken
from hubbub.connectors.hubspot import DEFAULT_BASE_URL, HubSpotClient, HubSpotError
from hubbub.connectors.models import Channel
from hubbub.listening import detection
from hubbub.listening.models import Alert, AlertRule
from tests.security.servers import CountingServer
from tests.security.ssrf_cases import CASES, Lab, run_ssrf_attempts, ssrf_lab

BAD_WEBHOOKS = {
    "http://169.254.169.254/latest/meta-data/": "link-local",
    "http://127.0.0.1:8000/admin/": "loopback",
    "http://[::1]:8080/": "loopback",
    "http://10.0.0.1/": "private network",
    "http://172.16.0.1/": "private network",
    "http://192.168.1.1/": "private network",
    "http://0.0.0.0/": "unspecified",
    "http://[::ffff:127.0.0.1]/": "loopback",
    "http://2130706433/": "loopback",
    "http://0177.0.0.1/": "loopback",
    "http://user:pass@hooks.example.com/": "user names and passwords",
    "gopher://hooks.example.com/": "only http and https",
    "http://internal.example/hook": "private network",
}


@pytest.fixture
def lab() -> Iterator[Lab]:
    with ssrf_lab() as made:
        yield made


@pytest.mark.parametrize("case", list(CASES))
def test_the_outbound_client_never_reaches_the_target(lab: Lab, case: str) -> None:
    outcome = CASES[case](lab)
    assert not outcome.reached
    if case == "oversized body":
        assert outcome.message == "failed: response larger than 1000000 bytes"
    elif case == "slow server":
        assert outcome.message == "failed: timed out"
    else:
        assert outcome.message.startswith("this address is not allowed: ")
    assert lab.hits() == 0


def test_the_benchmark_counts_every_attempt_and_none_reached() -> None:
    assert run_ssrf_attempts() == (len(CASES), 0)


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> None:
    """Public-looking names: hooks.example.com is public, internal.example points into the office network."""
    answers = {"hooks.example.com": ["93.184.215.14"], "internal.example": ["10.0.0.8"]}
    monkeypatch.setattr(outbound_http, "resolve_name", lambda host, port: answers[host])


@pytest.mark.parametrize(("url", "reason"), list(BAD_WEBHOOKS.items()))
def test_the_rule_form_refuses_a_webhook_that_points_inside(acme, client, resolver, url: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    client.force_login(acme["users"]["supervisor"])
    r = client.post("/listening/rules/", {"name": "Night watch", "webhook_url": url}, follow=True)
    assert not AlertRule.objects.exists()
    page = r.content.decode()
    assert "Rule not saved: Webhook: this address is not allowed: " in page and reason in page


def _api(user, org) -> Client:  # type: ignore[no-untyped-def]
    _, key = ApiToken.issue(user, org.pk, "t")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


@pytest.mark.parametrize(("url", "reason"), list(BAD_WEBHOOKS.items()))
def test_the_api_refuses_a_webhook_that_points_inside(acme, resolver, url: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    api = _api(acme["users"]["supervisor"], acme["org"])
    r = api.post("/api/v1/listening/alert-rules", {"webhook_url": url}, content_type="application/json")
    assert r.status_code == 422, r.content
    assert r.json()["detail"].startswith("Webhook: this address is not allowed: ") and reason in r.json()["detail"]
    assert not AlertRule.objects.exists()


def test_the_api_keeps_a_public_webhook_and_refuses_changing_it_to_an_internal_one(acme, resolver) -> None:  # type: ignore[no-untyped-def]
    api = _api(acme["users"]["supervisor"], acme["org"])
    hook = {"webhook_url": "https://hooks.example.com/T1"}
    r = api.post("/api/v1/listening/alert-rules", hook, content_type="application/json")
    assert r.status_code == 201, r.content
    rule_id = r.json()["id"]
    r = api.put(
        f"/api/v1/listening/alert-rules/{rule_id}",
        {"webhook_url": "http://169.254.169.254/"},
        content_type="application/json",
    )
    assert r.status_code == 422
    assert AlertRule.objects.get().webhook_url == "https://hooks.example.com/T1"
    assert [rule["webhook_url"] for rule in api.get("/api/v1/listening/alert-rules").json()] == [
        "https://hooks.example.com/T1"
    ]
    analyst = _api(acme["users"]["analyst"], acme["org"])
    assert analyst.get("/api/v1/listening/alert-rules").status_code == 403


def _fire(acme, url: str) -> Alert:  # type: ignore[no-untyped-def]
    """An alert of a rule whose webhook was stored before addresses were checked (an old row)."""
    brand = acme["brands"]["Acme Air"]
    rule = AlertRule.objects.create(organization=acme["org"], brand=brand, webhook_url=url)
    alert = Alert.objects.create(
        organization=acme["org"],
        brand=brand,
        rule=rule,
        kind="negative_spike",
        window_start=datetime(2026, 1, 1, tzinfo=UTC),
        detected_at=datetime(2026, 1, 1, 0, 5, tzinfo=UTC),
        expected=10.0,
        observed=30.0,
        message="Negative mentions at 3x the usual",
    )
    detection.notify(alert)
    alert.refresh_from_db()
    return alert


def test_an_alert_to_an_internal_webhook_is_refused_and_shows_no_detail(acme, settings) -> None:  # type: ignore[no-untyped-def]
    with CountingServer() as admin:
        alert = _fire(acme, admin.url("/admin/"))
        assert admin.hits == 0
    assert alert.notified["webhook"] == "refused: address not allowed"
    api = _api(acme["users"]["analyst"], acme["org"])
    shown = api.get("/api/v1/listening/alerts").json()[0]["notified"]
    assert shown["webhook"] == "refused: address not allowed"


@pytest.mark.parametrize(
    ("path", "shown"),
    [("/hook", "delivered"), ("/status?code=502", "failed: HTTP 502"), ("/slow", "failed: timed out")],
)
def test_a_receiver_gets_the_alert_and_only_its_status_is_shown(acme, settings, monkeypatch, path, shown) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(detection, "WEBHOOK_TIMEOUT", 0.3)  # /slow never answers while the test runs
    with CountingServer() as receiver:
        settings.OUTBOUND_ALLOW = [receiver.hostport]
        alert = _fire(acme, receiver.url(path))
        assert receiver.hits == 1
    assert alert.notified["webhook"] == shown
    assert "hunter2" not in str(alert.notified)  # the receiver's error body


def test_the_hubspot_address_cannot_be_set_through_the_api(acme) -> None:  # type: ignore[no-untyped-def]
    api = _api(acme["users"]["admin"], acme["org"])
    with CountingServer() as internal:
        body = {"access_token": "a", "refresh_token": "r", "base_url": internal.url("/admin")}
        r = api.post("/api/v1/crm/hubspot/connect", body, content_type="application/json")
        assert internal.hits == 0
    assert r.status_code == 422
    assert "base_url cannot be set through the API" in str(r.json()["detail"])
    assert not Channel.objects.filter(name="hubspot").exists()


def test_a_hubspot_address_left_in_stored_credentials_is_never_used(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(host: str, port: int) -> list[str]:
        raise OSError("no network in tests")

    monkeypatch.setattr(outbound_http, "resolve_name", no_dns)
    with CountingServer() as internal:
        client = HubSpotClient({"access_token": "a", "base_url": internal.url()}, max_retries=0)
        assert client.base_url == DEFAULT_BASE_URL
        with pytest.raises(outbound_http.OutboundError, match="name not found"):
            client.token_info()
        assert internal.hits == 0


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        (
            httpx.Response(500, text="<html>db password hunter2</html>"),
            "HubSpot 500: gave up after 0 retries: HTTP 500",
        ),
        (
            httpx.Response(400, json={"status": "error", "category": "VALIDATION_ERROR", "message": "Bad\nemail"}),
            "HubSpot 400: VALIDATION_ERROR: Bad email",
        ),
    ],
)
def test_hubspot_errors_show_only_hubspots_short_message(answer: httpx.Response, shown: str) -> None:
    http = httpx.Client(transport=httpx.MockTransport(lambda request: answer))
    with pytest.raises(HubSpotError) as refused:
        HubSpotClient({"access_token": "a"}, http=http, max_retries=0).request("GET", "/crm/v3/objects/contacts")
    assert str(refused.value) == shown
