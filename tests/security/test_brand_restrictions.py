"""A user restricted to some brands never learns of another brand's work: not in the audit log (page, CSV,
API), not in the live stream (status changes, new messages, typing, issue updates)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.test import Client

from hubbub import live
from hubbub.inbox.actions.conversations import do_change_status
from hubbub.inbox.models import Conversation
from hubbub.tenancy.models import AuditEvent, Membership, Role
from hubbub.tenancy.scoping import Scope, scope_for
from hubbub.web.views.live import event_lines
from hubbub.workflow.issues import create_issue, post_update
from hubbub.workflow.services.presence import touch_composer

pytestmark = pytest.mark.django_db

SECRET_TITLE = "Card outage at G Two"


@pytest.fixture
def world(make_org, make_event, ingest):  # type: ignore[no-untyped-def]
    made = make_org("gamma", brands=("G One", "G Two"))
    org = made["org"]
    ingest(org, [make_event("one", brand="g-one", author="u1"), make_event("two", brand="g-two", author="u2")])
    user = get_user_model().objects.create_user(username="one-only", password="pw-12345678")
    membership = Membership.objects.create(user=user, organization=org, role=Role.SUPERVISOR)
    membership.brands.set([made["brands"]["G One"]])
    return {
        **made,
        "restricted": user,
        "one": Conversation.objects.get(brand__slug="g-one"),
        "two": Conversation.objects.get(brand__slug="g-two"),
    }


def _changes(world: dict[str, Any]) -> None:
    """Work on both brands, done by someone who sees every brand."""
    full = scope_for(world["users"]["supervisor"], world["org"].pk)
    agent = scope_for(world["users"]["agent"], world["org"].pk)
    assert full is not None and agent is not None
    for conv in (world["two"], world["one"]):
        do_change_status(full, conv, "pending")
    issue = create_issue(full, world["two"].brand_id, SECRET_TITLE, [world["two"].pk])
    post_update(full, issue, "We are on it.")
    touch_composer(agent, world["two"])
    touch_composer(full, world["two"])


def _target_ids(rows: list[dict[str, Any]]) -> set[str]:
    return {str(r["target_id"]) for r in rows}


def test_audit_log_shows_a_restricted_user_only_their_brands(world) -> None:
    _changes(world)
    one, two = str(world["one"].pk), str(world["two"].pk)
    client = Client()
    client.force_login(world["restricted"])

    page = client.get("/audit/").content.decode()
    # The page reads "… changed the status of conversation #7 …"; the id must end where the word does.
    assert re.search(rf"conversation #{one}\b", page) and "this log shows the changes of those brands (G One)" in page
    assert not re.search(rf"conversation #{two}\b", page) and SECRET_TITLE not in page

    export = client.get("/audit/?format=csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert one in _target_ids(rows) and two not in _target_ids(rows)
    assert SECRET_TITLE not in json.dumps(rows)

    api = client.get("/api/v1/workflow/audit").json()
    assert one in _target_ids(api) and two not in _target_ids(api)
    assert SECRET_TITLE not in json.dumps(api)

    client.force_login(world["users"]["supervisor"])  # who sees every brand sees both
    everything = client.get("/audit/").content.decode()
    assert re.search(rf"conversation #{two}\b", everything) and SECRET_TITLE in everything
    of_a_brand = AuditEvent.objects.filter(target_type__in=["conversation", "trackedissue", "issueupdate"])
    assert of_a_brand.exists() and not of_a_brand.filter(brand__isnull=True).exists()


def test_audit_entries_are_written_only_where_their_brand_is_decided() -> None:
    """`tenancy.services.audit` takes the target's brand; `audit_entry` (for bulk writes) requires one."""
    src = Path(__file__).resolve().parents[2] / "src" / "hubbub"
    allowed = {src / "tenancy" / "models.py", src / "tenancy" / "services.py"}
    offenders = [
        str(p.relative_to(src)) for p in src.rglob("*.py") if p not in allowed and "AuditEvent(" in p.read_text()
    ]
    assert offenders == [], "build audit entries with tenancy.services.audit / audit_entry (they set the brand)"


class _Recorder:
    """Stands in for the live bus: keeps what the services publish."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def publish(self, event: dict[str, Any]) -> None:
        self.events.append(event)


def _received(scope: Scope, user_id: int, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What one subscriber's stream sends for these events."""

    async def source() -> AsyncIterator[dict[str, Any] | None]:
        for event in events:
            yield event

    async def collect() -> list[str]:
        return [line async for line in event_lines(scope, user_id, source())]

    return [json.loads(line.split("data: ", 1)[1]) for line in async_to_sync(collect)() if line.startswith("event:")]


def _conversations_named(events: list[dict[str, Any]]) -> set[int]:
    named: set[int] = set()
    for e in events:
        named.update(e.get("conversation_ids", []))
        named.update(v for k, v in e.items() if k in ("conversation_id", "merged_into"))
    return named


def test_live_stream_sends_a_restricted_user_only_their_brands(
    world, make_event, ingest, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    recorder = _Recorder()
    monkeypatch.setattr(live, "_bus", recorder)
    with django_capture_on_commit_callbacks(execute=True):
        _changes(world)
        ingest(world["org"], [make_event("more one", brand="g-one", author="u1")])
        ingest(world["org"], [make_event("more two", brand="g-two", author="u2"), make_event("again", brand="g-one")])
    one, two = world["one"].pk, world["two"].pk

    restricted = scope_for(world["restricted"], world["org"].pk)
    assert restricted is not None and restricted.restricted
    seen = _received(restricted, world["restricted"].pk, recorder.events)
    assert two not in _conversations_named(seen)
    assert SECRET_TITLE not in json.dumps(seen) and "issue" not in {e["kind"] for e in seen}
    assert any(e["kind"] == "conversation" and e.get("status") == "pending" for e in seen)
    assert one in _conversations_named([e for e in seen if e["kind"] == "messages"])

    full = scope_for(world["users"]["admin"], world["org"].pk)
    assert full is not None and not full.restricted
    everything = _received(full, world["users"]["admin"].pk, recorder.events)
    assert {one, two} <= _conversations_named(everything)
    assert "composing" in {e["kind"] for e in everything}
