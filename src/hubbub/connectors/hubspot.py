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

Tokens live encrypted on `connectors.Channel.credentials`; a 401 triggers one refresh and a
retry; a 429 waits `Retry-After` seconds (or backs off exponentially) and retries.
Nothing outside this module knows HubSpot's wire format.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

log = logging.getLogger("hubbub.connectors.hubspot")

DEFAULT_BASE_URL = "https://api.hubapi.com"
CONTACT_PROPERTIES = ["email", "firstname", "lastname", "phone", "city", "address", "lastmodifieddate"]
NOTE_TO_CONTACT = 202
BATCH = 100  # HubSpot's batch limit


class HubSpotError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HubSpot {status}: {message}")
        self.status = status


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
        self.base_url = self.creds.get("base_url") or DEFAULT_BASE_URL
        self.http = http or httpx.Client(timeout=20)
        self.save_tokens = save_tokens
        self.sleep = sleep
        self.max_retries = max_retries
        self.requests = 0

    # ---------------------------------------------------------------- plumbing

    def _refresh(self) -> None:
        if not self.creds.get("refresh_token"):
            raise HubSpotError(401, "access token expired and no refresh token is stored")
        r = self.http.post(
            f"{self.base_url}/oauth/v1/token",
            data={
                "grant_type": "refresh_token",
                "client_id": self.creds.get("client_id", ""),
                "client_secret": self.creds.get("client_secret", ""),
                "refresh_token": self.creds["refresh_token"],
            },
        )
        if r.status_code != 200:
            raise HubSpotError(r.status_code, f"token refresh failed: {r.text[:200]}")
        body = r.json()
        self.creds["access_token"] = body["access_token"]
        self.creds["refresh_token"] = body.get("refresh_token", self.creds["refresh_token"])
        self.creds["expires_at"] = time.time() + float(body.get("expires_in", 1800))
        self.save_tokens(self.creds)
        log.info("hubspot token refreshed")

    def request(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        refreshed = False
        for attempt in range(self.max_retries + 1):
            self.requests += 1
            headers = {"Authorization": f"Bearer {self.creds.get('access_token', '')}"}
            r = self.http.request(method, f"{self.base_url}{path}", headers=headers, **kw)
            if r.status_code == 401 and not refreshed:
                self._refresh()
                refreshed = True
                continue
            if r.status_code == 429 or r.status_code >= 500:
                if attempt == self.max_retries:
                    break
                retry_after = r.headers.get("Retry-After")
                wait = float(retry_after) if retry_after else min(30.0, 0.5 * 2**attempt)
                log.warning("hubspot %s on %s; retrying in %.1fs", r.status_code, path, wait)
                self.sleep(wait)
                continue
            if r.status_code >= 400:
                raise HubSpotError(r.status_code, r.text[:300])
            return r.json() if r.content else {}
        raise HubSpotError(r.status_code, f"gave up after {self.max_retries} retries: {r.text[:200]}")

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
