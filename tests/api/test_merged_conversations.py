"""The API on a conversation that was merged into another: 404 with `merged_into` for those who may see it."""

from __future__ import annotations

import pytest
from django.test import Client

from hubbub.api.models import ApiToken
from hubbub.inbox.models import Conversation, Reply
from hubbub.tenancy.models import Membership
from tests.inbox.merges import merged_chain

pytestmark = pytest.mark.django_db


def token_client(user, org) -> Client:  # type: ignore[no-untyped-def]
    _, key = ApiToken.issue(user, org.pk, "test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def test_every_conversation_endpoint_names_the_survivor(acme, make_event, ingest):
    a, b, c = merged_chain(acme["org"], make_event, ingest)
    api = token_client(acme["users"]["agent"], acme["org"])
    expected = {"detail": f"This conversation was merged into conversation {c}.", "merged_into": c}
    for r in (
        api.get(f"/api/v1/conversations/{a}"),
        api.get(f"/api/v1/conversations/{b}"),
        api.get(f"/api/v1/conversations/{a}/messages"),
        api.post(f"/api/v1/conversations/{a}/replies", {"text": "hi"}, content_type="application/json"),
        api.patch(f"/api/v1/conversations/{a}", {"status": "resolved"}, content_type="application/json"),
        api.get(f"/api/v1/workflow/conversations/{a}/sla"),
    ):
        assert (r.status_code, r.json()) == (404, expected)
    assert not Reply.objects.exists() and Conversation.objects.get(pk=c).status == "open"  # nothing replayed
    assert api.get(f"/api/v1/conversations/{c}").json()["id"] == c


def test_callers_who_cannot_see_the_survivor_get_the_plain_404(make_org, acme, make_event, ingest):
    a, _, _ = merged_chain(acme["org"], make_event, ingest)
    globex = make_org("globex")
    outsider = token_client(globex["users"]["admin"], globex["org"])
    Membership.objects.get(user=acme["users"]["analyst"]).brands.set([acme["brands"]["Acme Rail"]])
    rail_only = token_client(acme["users"]["analyst"], acme["org"])
    for api in (outsider, rail_only):
        never = api.get("/api/v1/conversations/999999")
        for r in (
            api.get(f"/api/v1/conversations/{a}"),
            api.get(f"/api/v1/conversations/{a}/messages"),
            api.get(f"/api/v1/workflow/conversations/{a}/sla"),
        ):
            assert (r.status_code, r.json()) == (404, never.json()) and "merged_into" not in r.json()


def test_the_openapi_spec_documents_merged_into(db):
    spec = Client().get("/api/openapi.json").json()
    assert "merged_into" in spec["components"]["schemas"]["NotFoundOut"]["properties"]


def not_sent(old: int, survivor: int) -> dict[str, object]:
    """The bulk-reply result of an id merged into `survivor`."""
    detail = f"This conversation was merged into conversation {survivor}; nothing was sent to it."
    empty = {"text": "", "review_comment": ""}
    return {"conversation_id": old, "id": None, "state": "not_sent", **empty, "merged_into": survivor, "detail": detail}


def test_bulk_replies_say_per_id_that_a_merged_id_got_nothing(
    acme, make_event, ingest, settings, django_capture_on_commit_callbacks
):
    a, b, c = merged_chain(acme["org"], make_event, ingest)
    ingest(acme["org"], [make_event("@AcmeAir dan here", author="dan")])
    d = Conversation.objects.get(author__handle="dan").pk
    api = token_client(acme["users"]["agent"], acme["org"])
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post(
            "/api/v1/workflow/bulk-replies",
            {"conversation_ids": [a, d, b], "text": "We are on it"},
            content_type="application/json",
        )
    assert r.status_code == 201
    reply_d = Reply.objects.get()
    assert reply_d.conversation_id == d  # the merged ids got nothing, and nothing was replayed on the survivor
    assert r.json() == [
        not_sent(a, c),
        {
            "conversation_id": d,
            "id": reply_d.pk,
            "state": "approved",  # delivered after the commit
            "text": "We are on it",
            "review_comment": "",
            "merged_into": None,
            "detail": "",
        },
        not_sent(b, c),
    ]
    assert reply_d.state == Reply.State.SENT

    # The survivor listed along with its merged id gets the reply, once.
    Reply.objects.all().delete()
    r = api.post(
        "/api/v1/workflow/bulk-replies",
        {"conversation_ids": [a, c], "text": "Checking"},
        content_type="application/json",
    )
    assert [(x["conversation_id"], x["state"] != "not_sent", x["merged_into"]) for x in r.json()] == [
        (a, False, c),
        (c, True, None),
    ]
    assert list(Reply.objects.values_list("conversation_id", flat=True)) == [c]


def test_bulk_replies_stay_a_plain_404_for_unknown_ids_and_hidden_survivors(make_org, acme, make_event, ingest):
    a, _, c = merged_chain(acme["org"], make_event, ingest)
    Membership.objects.get(user=acme["users"]["agent"]).brands.set([acme["brands"]["Acme Rail"]])
    rail_only = token_client(acme["users"]["agent"], acme["org"])
    supervisor = token_client(acme["users"]["supervisor"], acme["org"])
    for api, ids in ((rail_only, [a]), (supervisor, [a, 999999]), (supervisor, [c, 999999])):
        r = api.post(
            "/api/v1/workflow/bulk-replies", {"conversation_ids": ids, "text": "hi"}, content_type="application/json"
        )
        assert (r.status_code, r.json()) == (404, {"detail": "Not Found"})
    assert not Reply.objects.exists()  # nothing sent to the ids that were found either


def test_the_openapi_spec_documents_the_bulk_reply_results(db):
    spec = Client().get("/api/openapi.json").json()
    props = spec["components"]["schemas"]["BulkReplyOut"]["properties"]
    assert {"conversation_id", "id", "state", "merged_into", "detail"} <= set(props)
