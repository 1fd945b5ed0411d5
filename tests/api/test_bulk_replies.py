"""`POST /api/v1/workflow/bulk-replies` is all or nothing: every check comes before any reply is created (no
conversation listed twice, at most `BULK_REPLY_LIMIT` of them — the inbox's limit too —, a text that fits the
network of each), and the replies are created in one transaction. A refusal is a 400 that says what to fix."""

from __future__ import annotations

import pytest
from django.test import Client

from hubbub.inbox.models import Conversation, Reply
from hubbub.workflow.services import bulk
from hubbub.workflow.services.bulk import BULK_REPLY_LIMIT
from hubbub.workflow.views.bulk_reply import BULK_LIMIT
from tests.api.test_merged_conversations import token_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/workflow/bulk-replies"
LONG = "We are very sorry about the delay. " * 10  # 350 characters: fits Mastodon (500), not X (280)


@pytest.fixture
def convs(acme, make_event, ingest) -> dict[str, int]:
    """Three conversations on X and one on Mastodon, by author."""
    events = [make_event(f"@AcmeAir where is my bag, {who}?", author=who) for who in ("ann", "bob", "cat")]
    events.append(make_event("@AcmeAir late again", author="dee", network="mastodon"))
    ingest(acme["org"], events)
    return {c.author.handle: c.pk for c in Conversation.objects.select_related("author")}


@pytest.fixture
def api(acme) -> Client:
    return token_client(acme["users"]["agent"], acme["org"])


def post(api: Client, ids: list[int], text: str = "We are on it"):  # type: ignore[no-untyped-def]
    return api.post(URL, {"conversation_ids": ids, "text": text}, content_type="application/json")


def test_an_id_listed_twice_is_refused_and_nothing_is_sent(api, convs):
    ann, bob, cat = convs["ann"], convs["bob"], convs["cat"]
    r = post(api, [ann, bob, ann, cat, bob, ann])
    assert r.status_code == 400
    assert r.json() == {
        "detail": f"Conversation ids listed more than once: {ann}, {bob}. "
        "List each conversation once; nothing was sent.",
        "failed": [],
        "duplicates": [ann, bob],
    }
    assert not Reply.objects.exists()


def test_listing_each_id_once_gives_each_conversation_one_reply(api, convs):
    r = post(api, [convs["ann"], convs["bob"]])
    assert r.status_code == 201 and [x["conversation_id"] for x in r.json()] == [convs["ann"], convs["bob"]]
    assert sorted(Reply.objects.values_list("conversation_id", flat=True)) == sorted([convs["ann"], convs["bob"]])


def test_the_api_and_the_inbox_share_one_limit(api, convs):
    assert BULK_LIMIT == BULK_REPLY_LIMIT == 100
    too_many = [convs["ann"]] + list(range(10**6, 10**6 + BULK_REPLY_LIMIT))
    r = post(api, too_many)
    assert (r.status_code, r.json()["detail"]) == (
        400,
        "At most 100 conversations per bulk reply; 101 were given. Split the list.",
    )
    r = post(api, [])
    assert (r.status_code, r.json()["detail"]) == (400, "List the conversations to reply to in conversation_ids.")
    assert not Reply.objects.exists()


def test_a_text_too_long_for_some_networks_creates_no_reply_and_names_each_failing_id(api, convs):
    ann, bob, dee = convs["ann"], convs["bob"], convs["dee"]
    r = post(api, [dee, ann, bob], LONG)
    assert r.status_code == 400
    reason = f"Too long for x: {len(LONG.strip())} characters, the limit is 280."
    body = r.json()
    assert body["failed"] == [{"conversation_id": ann, "detail": reason}, {"conversation_id": bob, "detail": reason}]
    assert body["detail"].startswith("No reply was created: 2 conversations cannot take this text (")
    assert f"#{ann}: {reason}" in body["detail"] and f"#{dee}" not in body["detail"]
    assert not Reply.objects.exists()  # not even on Mastodon, where it fits, though it came first
    assert post(api, [dee], LONG).status_code == 201  # alone it fits


def test_an_empty_text_is_a_422_naming_the_field(api, convs):
    """The rule of every reply (`inbox.inputs.ReplyText`), checked with the body like the inbox's bulk form."""
    r = post(api, [convs["ann"]], "   ")
    assert r.status_code == 422
    assert [(e["loc"][-1], e["msg"]) for e in r.json()["detail"]] == [("text", "The reply is empty.")]


def test_a_failure_half_way_leaves_no_reply_behind(api, convs, monkeypatch, django_capture_on_commit_callbacks):
    """Checks pass, then the third creation fails (a database error, say): the first two are rolled back and
    nothing is delivered."""
    real, calls = bulk.do_create_reply, []

    def flaky(scope, conv, text, origin, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(conv.pk)
        if len(calls) == 3:
            raise RuntimeError("database went away")
        return real(scope, conv, text, origin, **kwargs)

    monkeypatch.setattr(bulk, "do_create_reply", flaky)
    api.raise_request_exception = False
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        r = post(api, [convs["ann"], convs["bob"], convs["cat"]])
    assert r.status_code == 500 and len(calls) == 3
    # The only work left for after the request is noting when the API token was used; no delivery.
    assert not Reply.objects.exists()
    assert [c for c in callbacks if "record_use" not in c.__qualname__] == []


def test_the_openapi_spec_documents_the_refusal(db):
    spec = Client().get("/api/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert {"detail", "failed", "duplicates"} <= set(schemas["BulkReplyError"]["properties"])
    op = spec["paths"]["/api/v1/workflow/bulk-replies"]["post"]
    assert op["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/BulkReplyError")
    assert "at most once" in schemas["BulkReplyIn"]["properties"]["conversation_ids"]["description"]
