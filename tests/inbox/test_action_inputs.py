"""One rule, two front doors: each inbox action reads one input schema (`inbox.inputs`), so a bad value posted
from the thread pane and the same value sent to the API are refused with the same message for the same field,
and nothing changes. Actions without an endpoint (notes, labels) say what their action says to any caller."""

from __future__ import annotations

import pytest

from hubbub.inbox.actions.conversations import do_add_note
from hubbub.inbox.actions.labels import do_correct_label
from hubbub.inbox.models import Conversation, Direction, Reply
from hubbub.inputs import InvalidInput
from hubbub.tenancy.scoping import scope_for
from tests.two_doors import HTMX, api_client, api_field_error, flashed, notices, post_json, web_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def conv(acme, make_event, ingest) -> Conversation:  # type: ignore[no-untyped-def]
    ingest(acme["org"], [make_event("my flight is late", author="mallory")])
    return Conversation.objects.get(organization=acme["org"])


def test_an_unknown_status(acme, conv) -> None:  # type: ignore[no-untyped-def]
    agent = acme["users"]["agent"]
    api = post_json(api_client(agent, acme["org"]), f"/api/v1/conversations/{conv.pk}", {"status": "closed"}, "patch")
    said = api_field_error(api, "status")
    assert said.startswith("Unknown status 'closed'; use one of open, ")
    web = web_client(agent).post(f"/c/{conv.pk}/status/", {"status": "closed"}, **HTMX)
    assert notices(web) == [said]
    conv.refresh_from_db()
    assert conv.status == "open"


def test_an_assignee_that_is_not_an_id(acme, conv) -> None:  # type: ignore[no-untyped-def]
    agent = acme["users"]["agent"]
    api = post_json(api_client(agent, acme["org"]), f"/api/v1/conversations/{conv.pk}", {"assignee_id": "me"}, "patch")
    said = api_field_error(api, "assignee_id")
    conv.assignee_id = agent.pk
    conv.save(update_fields=["assignee"])
    web = web_client(agent).post(f"/c/{conv.pk}/assign/", {"assignee_id": "me"}, **HTMX)
    assert notices(web) == [f"Assignment not saved: Assignee id: {said}."]
    conv.refresh_from_db()
    assert conv.assignee_id == agent.pk  # not silently unassigned, as an unreadable id used to do


def test_an_empty_reply(acme, conv) -> None:  # type: ignore[no-untyped-def]
    agent = acme["users"]["agent"]
    api = post_json(api_client(agent, acme["org"]), f"/api/v1/conversations/{conv.pk}/replies", {"text": "  \n "})
    said = api_field_error(api, "text")
    assert said == "The reply is empty."
    web = web_client(agent).post(f"/c/{conv.pk}/reply/", {"text": "  \n "}, **HTMX)
    assert f'<p class="error" role="alert" id="reply-error">{said}</p>' in web.content.decode()
    assert not conv.replies.exists()


def test_a_rejection_without_a_comment(acme, conv) -> None:  # type: ignore[no-untyped-def]
    held = Reply.objects.create(
        organization=acme["org"],
        brand=conv.brand,
        conversation=conv,
        author=acme["users"]["agent"],
        text="We are on it.",
        state=Reply.State.PENDING_APPROVAL,
    )
    supervisor = acme["users"]["supervisor"]
    api = post_json(
        api_client(supervisor, acme["org"]), f"/api/v1/workflow/approvals/{held.pk}/reject", {"comment": " "}
    )
    said = api_field_error(api, "comment")
    assert said == "Say why: a rejection needs a comment for the agent."
    web = web_client(supervisor).post(f"/approvals/{held.pk}/", {"action": "reject", "comment": " "})
    assert flashed(web) == [said]
    held.refresh_from_db()
    assert held.state == Reply.State.PENDING_APPROVAL


def test_a_note_and_a_label_say_what_their_action_says(acme, conv) -> None:  # type: ignore[no-untyped-def]
    agent = acme["users"]["agent"]
    scope = scope_for(agent, acme["org"].pk)
    assert scope is not None
    with pytest.raises(InvalidInput) as note_error:
        do_add_note(scope, conv, "   ")
    web = web_client(agent).post(f"/c/{conv.pk}/note/", {"text": "   "}, **HTMX)
    assert f'id="note-error">{note_error.value.errors["text"]}</p>' in web.content.decode()

    message = conv.messages.get(direction=Direction.IN)
    with pytest.raises(InvalidInput) as label_error:
        do_correct_label(scope, message, "sentiment", "furious")
    web = web_client(agent).post(
        f"/messages/{message.pk}/labels/", {"sentiment": "furious", "intent": "praise"}, **HTMX
    )
    assert notices(web) == [label_error.value.errors["sentiment"]]
    message.refresh_from_db()
    assert message.intent != "praise"  # every label is checked before any is applied
