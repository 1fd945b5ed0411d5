"""The sandbox's side of Mastodon's OAuth code flow: `POST /api/v1/apps` registers Hubbub as an application,
`GET /oauth/authorize` shows the brand's owner a consent page whose button sends them back to Hubbub with a
code and the `state` Hubbub gave, and `POST /oauth/token` trades the code for an access token of the brand's
account. Field names as in the Mastodon API reference (apps, OAuth).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

if TYPE_CHECKING:
    from hubbub.connectors.sandbox.mastodon_fake import MastodonFake


@dataclass
class App:
    client_id: str
    client_secret: str
    name: str
    redirect_uris: list[str]
    scopes: str


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    username: str


def register_app(fake: MastodonFake, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
    uris = [u for u in form.get("redirect_uris", "").split("\n") if u.strip()]
    if not form.get("client_name") or not uris:
        return 422, {"error": "Validation failed: Application name can't be blank, Redirect URI can't be blank"}
    scopes = form.get("scopes", "read")
    app = App(secrets.token_urlsafe(32), secrets.token_urlsafe(32), form["client_name"], uris, scopes)
    fake.state.apps[app.client_id] = app
    return 200, {
        "id": fake.state.next_id(),
        "name": app.name,
        "website": form.get("website"),
        "scopes": app.scopes.split(),
        "redirect_uri": "\n".join(uris),
        "redirect_uris": uris,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
    }


def authorize_page(fake: MastodonFake, params: dict[str, str]) -> tuple[int, str]:
    app = fake.state.apps.get(params.get("client_id", ""))
    if app is None or params.get("redirect_uri") not in app.redirect_uris:
        return 400, "<p>The client application or its redirect URI is not known here.</p>"
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(params.get(k, ""))}">'
        for k in ("client_id", "redirect_uri", "state", "scope")
    )
    return 200, (
        f"<!doctype html><title>Authorize {escape(app.name)}</title><h1>Authorization required</h1>"
        f"<p><strong>{escape(app.name)}</strong> would like to use the account @{escape(fake.brand_username)} "
        f"({escape(params.get('scope', ''))}).</p>"
        f'<form method="post" action="/oauth/authorize">{hidden}<button>Authorize</button></form>'
    )


def approve(fake: MastodonFake, form: dict[str, str]) -> str | None:
    """The owner pressed Authorize: where to send them (the app's redirect URI with a code and the state)."""
    app = fake.state.apps.get(form.get("client_id", ""))
    if app is None or form.get("redirect_uri") not in app.redirect_uris:
        return None
    code = secrets.token_urlsafe(24)
    fake.state.grants[code] = Grant(app.client_id, form["redirect_uri"], fake.brand_username)
    return f"{form['redirect_uri']}?{urlencode({'code': code, 'state': form.get('state', '')})}"


def token(fake: MastodonFake, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
    grant = fake.state.grants.pop(form.get("code", ""), None)
    app = fake.state.apps.get(form.get("client_id", ""))
    valid = (
        grant is not None
        and app is not None
        and form.get("grant_type") == "authorization_code"
        and secrets.compare_digest(form.get("client_secret", ""), app.client_secret)
        and grant.client_id == app.client_id
        and grant.redirect_uri == form.get("redirect_uri")
    )
    if not valid or grant is None:
        return 400, {"error": "invalid_grant", "error_description": "The provided authorization grant is invalid."}
    access_token = secrets.token_urlsafe(32)
    fake.state.add_account(grant.username, token=access_token)
    return 200, {
        "access_token": access_token,
        "token_type": "Bearer",
        "scope": form.get("scope", ""),
        "created_at": 0,
    }
