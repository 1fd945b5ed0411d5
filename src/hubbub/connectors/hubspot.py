"""HubSpot CRM v3 client: contacts (list, search, batch create/update) and notes on contacts.

Wire format as documented by HubSpot:
  GET  /crm/v3/objects/contacts?limit=&after=&properties=      → {"results": [...], "paging": {"next": {"after"}}}
  POST /crm/v3/objects/contacts/search  {filterGroups, properties, limit, after, sorts}
  POST /crm/v3/objects/contacts/batch/create  {"inputs": [{"properties": {...}}]}
  POST /crm/v3/objects/contacts/batch/update  {"inputs": [{"id", "properties"}]}
  POST /crm/v3/objects/notes  {"properties": {"hs_timestamp", "hs_note_body"},
                               "associations": [{"to": {"id"}, "types": [{"associationCategory":
                               "HUBSPOT_DEFINED", "associationTypeId": 202}]}]}   (202 = note → contact)
  POST /oauth/v1/token  grant_type=refresh_token (form-encoded) → {"access_token", "refresh_token", "expires_in"}

OAuth 2.0 authorization-code flow (the "Connect HubSpot" button):
  browser → https://app.hubspot.com/oauth/authorize?client_id=&redirect_uri=&scope=a%20b&state=
          ← redirect_uri?code=…&state=…   (or ?error=access_denied&error_description=…)
  POST /oauth/v1/token  grant_type=authorization_code, client_id, client_secret, redirect_uri, code
                        (form-encoded) → {"access_token", "refresh_token", "expires_in"}
  GET  /oauth/v1/access-tokens/{token}  → {"hub_id", "hub_domain", "user", "scopes", "app_id", …}
  DELETE /oauth/v1/refresh-tokens/{token}  (revoke on disconnect)

Tokens live encrypted on `connectors.Channel.credentials`; a 401 triggers one refresh and a
retry; a 429 or 5xx waits `Retry-After` seconds (or backs off exponentially) and retries.
Tokens never reach a log line: the two endpoints that carry one in the URL are redacted, also in
httpx's own request log. Nothing outside this module knows HubSpot's wire format.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from django.conf import settings

from hubbub.outbound_http import outbound_client

log = logging.getLogger("hubbub.connectors.hubspot")

DEFAULT_BASE_URL = "https://api.hubapi.com"
DEFAULT_AUTHORIZE_URL = "https://app.hubspot.com/oauth/authorize"
# What sync needs: read/write contacts; notes are written on contacts. `oauth` is required of every app.
OAUTH_SCOPES = ("oauth", "crm.objects.contacts.read", "crm.objects.contacts.write")
CONTACT_PROPERTIES = ["email", "firstname", "lastname", "phone", "city", "address", "lastmodifieddate"]
NOTE_TO_CONTACT = 202
BATCH = 100  # HubSpot's batch limit


# 4xx answers that are not about the request itself: the token (401, after one refresh) or its scopes (403) stop
# every call alike; 409 and 429 may go away by themselves.
_NOT_ABOUT_THE_REQUEST = frozenset({401, 403, 409, 429})


class HubSpotError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HubSpot {status}: {message}")
        self.status = status
        self.detail = message

    @property
    def permanent(self) -> bool:
        """HubSpot refused this request for what it says (400 VALIDATION_ERROR, 404 of its contact, …): sending it
        again unchanged fails again, so a sync records it against the item and goes on with the others.
        429, 5xx (already retried with back-off), 401/403 (the connection) and 409 are not: the sync stops and the
        next one tries again."""
        return 400 <= self.status < 500 and self.status not in _NOT_ABOUT_THE_REQUEST


_TOKEN_IN_PATH = re.compile(r"(/oauth/v1/(?:access|refresh)-tokens/)[^\s/?#\"']+")


def redact(text: str) -> str:
    """The text with any token carried in a HubSpot token-endpoint URL replaced."""
    return _TOKEN_IN_PATH.sub(r"\1[redacted]", text)


class _RedactTokenUrls(logging.Filter):
    """httpx logs every request URL at INFO; two HubSpot endpoints carry a token in theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "-tokens/" in message:
            record.msg, record.args = redact(message), None
        return True


if not any(isinstance(f, _RedactTokenUrls) for f in logging.getLogger("httpx").filters):
    logging.getLogger("httpx").addFilter(_RedactTokenUrls())


def authorize_url(
    client_id: str,
    redirect_uri: str,
    state: str,
    scopes: Sequence[str] = OAUTH_SCOPES,
    base: str = DEFAULT_AUTHORIZE_URL,
) -> str:
    """Where the browser goes to grant access; HubSpot wants the scopes separated by %20."""
    query = urlencode(
        {"client_id": client_id, "redirect_uri": redirect_uri, "scope": " ".join(scopes), "state": state},
        quote_via=quote,
    )
    return f"{base}?{query}"


def base_url() -> str:
    """Where HubSpot's API is: api.hubapi.com, or the operator's `HUBBUB_HUBSPOT_BASE_URL` (a proxy, a test fake).

    Never from stored credentials or a request: a base URL an API caller could set was fetched at once, and the
    error page of whatever answered there was shown to them."""
    return (getattr(settings, "HUBSPOT_API_URL", "") or DEFAULT_BASE_URL).rstrip("/")


def _error_text(r: httpx.Response) -> str:
    """HubSpot's own short `status`/`message` of an error answer, on one line; nothing else of the body (a
    proxy's error page is never shown) and never the request, which may hold secrets."""
    try:
        body = r.json()
    except ValueError:
        return f"HTTP {r.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {r.status_code}"
    # CRM API errors say `status: error` and name the kind in `category` (VALIDATION_ERROR, OBJECT_NOT_FOUND…);
    # OAuth errors name it in `status` (BAD_AUTH_CODE…).
    kind = body.get("category") if body.get("status") in (None, "", "error") and body.get("category") else None
    parts = (kind or body.get("status"), body.get("message"))
    return " ".join(": ".join(str(p) for p in parts if p).split())[:300] or f"HTTP {r.status_code}"


class HubSpotClient:
    """A small synchronous client; `save_tokens` persists refreshed tokens (encrypted by the caller)."""

    def __init__(
        self,
        credentials: dict[str, Any],
        save_tokens: Callable[[dict[str, Any]], None] = lambda _c: None,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_retries: int = 5,
    ) -> None:
        self.creds = dict(credentials)
        self.base_url = base_url()  # a `base_url` left in old stored credentials is ignored
        self.http = http or outbound_client(timeout=20)
        self.save_tokens = save_tokens
        self.sleep = sleep
        self.max_retries = max_retries
        self.requests = 0

    # ---------------------------------------------------------------- plumbing

    def _send(self, method: str, path: str, headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        """One call with HubSpot's back-off: 429 and 5xx wait `Retry-After` seconds (else exponential,
        at most 30 s), up to `max_retries` times; the last answer is returned whatever its status."""
        for attempt in range(self.max_retries + 1):
            self.requests += 1
            r = self.http.request(method, f"{self.base_url}{path}", headers=headers, **kw)
            if (r.status_code == 429 or r.status_code >= 500) and attempt < self.max_retries:
                retry_after = r.headers.get("Retry-After")
                wait = float(retry_after) if retry_after else min(30.0, 0.5 * 2**attempt)
                log.warning("hubspot %s on %s; retrying in %.1fs", r.status_code, redact(path), wait)
                self.sleep(wait)
                continue
            break
        return r

    def _token_grant(self, form: dict[str, str], what: str) -> dict[str, Any]:
        """POST /oauth/v1/token (form-encoded); keeps the new tokens in `self.creds`."""
        r = self._send("POST", "/oauth/v1/token", data=form)
        if r.status_code != 200:
            raise HubSpotError(r.status_code, f"{what} failed: {_error_text(r)}")
        body = r.json()
        if not body.get("access_token"):
            raise HubSpotError(r.status_code, f"{what} failed: no access token in the answer")
        self.creds["access_token"] = body["access_token"]
        self.creds["refresh_token"] = body.get("refresh_token") or self.creds.get("refresh_token", "")
        self.creds["expires_at"] = time.time() + float(body.get("expires_in", 1800))
        return dict(body)

    def _refresh(self) -> None:
        if not self.creds.get("refresh_token"):
            raise HubSpotError(401, "access token expired and no refresh token is stored")
        self._token_grant(
            {
                "grant_type": "refresh_token",
                "client_id": self.creds.get("client_id", ""),
                "client_secret": self.creds.get("client_secret", ""),
                "refresh_token": self.creds["refresh_token"],
            },
            "token refresh",
        )
        self.save_tokens(self.creds)
        log.info("hubspot token refreshed")

    def request(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        r = self._send(method, path, headers=self._auth(), **kw)
        if r.status_code == 401:
            self._refresh()
            r = self._send(method, path, headers=self._auth(), **kw)
        if r.status_code == 429 or r.status_code >= 500:
            raise HubSpotError(r.status_code, f"gave up after {self.max_retries} retries: {_error_text(r)}")
        if r.status_code >= 400:
            raise HubSpotError(r.status_code, _error_text(r))
        return r.json() if r.content else {}

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.creds.get('access_token', '')}"}

    # ---------------------------------------------------------------- OAuth (authorization code)

    def exchange_code(self, code: str, redirect_uri: str) -> dict[str, Any]:
        """Trade the code HubSpot handed the browser for tokens (`creds` needs client_id/secret).

        `redirect_uri` must be exactly the one sent to the authorize URL."""
        return self._token_grant(
            {
                "grant_type": "authorization_code",
                "client_id": self.creds.get("client_id", ""),
                "client_secret": self.creds.get("client_secret", ""),
                "redirect_uri": redirect_uri,
                "code": code,
            },
            "authorization code exchange",
        )

    def token_info(self) -> dict[str, Any]:
        """The portal (`hub_id`, `hub_domain`), the HubSpot user and the scopes of the access token."""
        r = self._send("GET", f"/oauth/v1/access-tokens/{quote(self.creds.get('access_token', ''), safe='')}")
        if r.status_code != 200:
            raise HubSpotError(r.status_code, f"token information failed: {_error_text(r)}")
        return dict(r.json())

    def revoke_refresh_token(self) -> None:
        """Delete the stored refresh token at HubSpot (disconnect). Access tokens already issued
        stay valid until they expire (at most 30 minutes)."""
        token = self.creds.get("refresh_token", "")
        if not token:
            return
        r = self._send("DELETE", f"/oauth/v1/refresh-tokens/{quote(token, safe='')}")
        if r.status_code not in (200, 204, 404):  # 404: already gone
            raise HubSpotError(r.status_code, f"revoking the refresh token failed: {_error_text(r)}")

    # ---------------------------------------------------------------- contacts

    def list_contacts(self, properties: list[str] = CONTACT_PROPERTIES, limit: int = 100) -> Iterator[dict[str, Any]]:
        """Every contact, following `paging.next.after`."""
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": limit, "properties": ",".join(properties)}
            if after:
                params["after"] = after
            body = self.request("GET", "/crm/v3/objects/contacts", params=params)
            yield from body.get("results", [])
            after = (body.get("paging") or {}).get("next", {}).get("after")
            if not after:
                return

    def contacts_modified_since(
        self, since_ms: int, properties: list[str] = CONTACT_PROPERTIES, limit: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Contacts whose `lastmodifieddate` is at or after `since_ms` (search API, paged)."""
        after: str | None = None
        while True:
            payload: dict[str, Any] = {
                "filterGroups": [
                    {"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(since_ms)}]}
                ],
                "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                "properties": properties,
                "limit": limit,
            }
            if after:
                payload["after"] = after
            body = self.request("POST", "/crm/v3/objects/contacts/search", json=payload)
            yield from body.get("results", [])
            after = (body.get("paging") or {}).get("next", {}).get("after")
            if not after:
                return

    def contacts_by_email(
        self, emails: Sequence[str], properties: list[str] = CONTACT_PROPERTIES
    ) -> dict[str, dict[str, Any]]:
        """The contacts HubSpot already has for `emails`, by lower-cased email.

        `POST /crm/v3/objects/contacts/batch/read` with `idProperty: email` (email is the unique property HubSpot
        deduplicates contacts on). Emails HubSpot does not know are simply absent: it answers 207 Multi-Status
        with an `OBJECT_NOT_FOUND` error listing them, which is not a failure here. Asked before creating, so a
        contact that exists already (created by someone in HubSpot, or by a sync that died before recording
        it) is linked instead of created a second time — or refused with 409 for the whole batch."""
        out: dict[str, dict[str, Any]] = {}
        unique = list(dict.fromkeys(e.strip().lower() for e in emails if e and e.strip()))
        for i in range(0, len(unique), BATCH):
            body = self.request(
                "POST",
                "/crm/v3/objects/contacts/batch/read",
                json={
                    "idProperty": "email",
                    "inputs": [{"id": e} for e in unique[i : i + BATCH]],
                    "properties": properties,
                },
            )
            for contact in body.get("results", []):
                email = ((contact.get("properties") or {}).get("email") or "").strip().lower()
                if email:
                    out[email] = contact
        return out

    def batch_create(self, properties: list[dict[str, str]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for i in range(0, len(properties), BATCH):
            body = self.request(
                "POST",
                "/crm/v3/objects/contacts/batch/create",
                json={"inputs": [{"properties": p} for p in properties[i : i + BATCH]]},
            )
            out.extend(body.get("results", []))
        return out

    def batch_update(self, updates: list[tuple[str, dict[str, str]]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for i in range(0, len(updates), BATCH):
            body = self.request(
                "POST",
                "/crm/v3/objects/contacts/batch/update",
                json={"inputs": [{"id": cid, "properties": p} for cid, p in updates[i : i + BATCH]]},
            )
            out.extend(body.get("results", []))
        return out

    def create_note(self, contact_id: str, body: str, timestamp_iso: str) -> str:
        """Log an activity (a note) on a contact; returns the note id."""
        res = self.request(
            "POST",
            "/crm/v3/objects/notes",
            json={
                "properties": {"hs_timestamp": timestamp_iso, "hs_note_body": body[:65000]},
                "associations": [
                    {
                        "to": {"id": contact_id},
                        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": NOTE_TO_CONTACT}],
                    }
                ],
            },
        )
        return str(res["id"])
