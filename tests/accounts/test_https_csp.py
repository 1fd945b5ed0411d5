"""Served over HTTPS, cookies are Secure, plain HTTP is redirected and HSTS is sent; a Content-Security-Policy
is always sent, and nothing in the templates needs more than it allows."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, override_settings

SRC = Path(__file__).resolve().parents[2] / "src" / "hubbub"
SETTINGS_PROBE = (
    "import json, hubbub.settings as s; print(json.dumps({k: getattr(s, k, None) for k in "
    "['SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', "
    "'SECURE_PROXY_SSL_HEADER']}))"
)


def _settings_with(tmp_path: Path, **env: str) -> dict[str, object]:
    """The settings module as a process started with `env` reads it."""
    full = {**os.environ, "HUBBUB_DATA_DIR": str(tmp_path), "HUBBUB_SECRET_KEY": "probe", **env}
    for name in ("HUBBUB_HTTPS", "HUBBUB_TRUST_PROXY"):
        if name not in env:
            full.pop(name, None)
    done = subprocess.run([sys.executable, "-c", SETTINGS_PROBE], env=full, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_https_turns_on_secure_cookies_redirect_and_hsts(tmp_path: Path) -> None:
    on = _settings_with(tmp_path, HUBBUB_HTTPS="1")
    assert on["SESSION_COOKIE_SECURE"] and on["CSRF_COOKIE_SECURE"] and on["SECURE_SSL_REDIRECT"]
    assert on["SECURE_HSTS_SECONDS"] == 31536000 and on["SECURE_PROXY_SSL_HEADER"] is None
    off = _settings_with(tmp_path)  # the demo on http://127.0.0.1 keeps working
    assert not off["SESSION_COOKIE_SECURE"] and not off["SECURE_SSL_REDIRECT"] and off["SECURE_HSTS_SECONDS"] == 0
    proxied = _settings_with(tmp_path, HUBBUB_HTTPS="1", HUBBUB_TRUST_PROXY="1")
    assert proxied["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


@pytest.mark.django_db
@override_settings(
    SESSION_COOKIE_SECURE=True,
    CSRF_COOKIE_SECURE=True,
    SECURE_SSL_REDIRECT=True,
    SECURE_HSTS_SECONDS=31536000,
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
)
def test_behind_a_tls_proxy_the_browser_gets_secure_cookies_and_hsts(acme) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    plain = client.get("/login/")
    assert plain.status_code == 301 and plain["Location"] == "https://testserver/login/"
    assert client.get("/healthz").status_code == 200  # the health check stays on plain HTTP
    proxied = {"HTTP_X_FORWARDED_PROTO": "https"}
    page = client.get("/login/", **proxied)
    assert page.status_code == 200 and page["Strict-Transport-Security"] == "max-age=31536000"
    signed_in = client.post("/login/", {"username": "acme-agent", "password": "pw-12345678"}, **proxied)
    assert signed_in.status_code == 302
    assert signed_in.cookies["sessionid"]["secure"] and signed_in.cookies["csrftoken"]["secure"]


def _csp(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


@pytest.mark.django_db
def test_every_page_sends_a_policy_that_runs_only_our_scripts(acme, ingest, make_event) -> None:  # type: ignore[no-untyped-def]
    ingest(acme["org"], [make_event("@AcmeAir where is my bag?", brand="acme-air")])
    client = Client()
    client.force_login(acme["users"]["supervisor"])
    page = client.get("/reports/volume/?from=2026-10-31&to=2026-11-02")
    policy = _csp(page)
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    nonce = re.search(r"'nonce-([^']+)'", policy["script-src"]).group(1)  # type: ignore[union-attr]
    html = page.content.decode()
    inline = [a for a in re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html) if "application/json" not in a]
    assert inline and all(f'nonce="{nonce}"' in attrs for attrs in inline)  # the chart's script may run
    assert f'"inlineScriptNonce": "{nonce}"' in html  # and scripts htmx swaps in carry it too
    assert policy["frame-ancestors"] == "frame-ancestors 'none'" and policy["object-src"] == "object-src 'none'"
    login = _csp(Client().get("/login/"))["script-src"]
    assert "'nonce-" in login and nonce not in login  # a new nonce for every response


def test_no_template_has_an_inline_event_handler() -> None:
    """The policy runs no onclick="…": such a handler would silently do nothing (use data-confirm etc.)."""
    handler = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
    offenders = [
        f"{path.relative_to(SRC)}: {m.group(0)[:60]}"
        for path in SRC.rglob("templates/**/*.html")
        for m in handler.finditer(path.read_text())
    ]
    assert offenders == []
