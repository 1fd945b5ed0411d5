"""The audit log: every assignment, status change, approval, rule edit and sent reply,
filterable in the UI and exportable as CSV, for supervisors and admins only."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from hubbub.inbox.actions.conversations import do_assign, do_change_status
from hubbub.inbox.actions.delivery import do_deliver_reply
from hubbub.inbox.actions.replies import do_create_reply
from hubbub.tenancy.scoping import PermissionDenied
from hubbub.workflow.inputs import RuleIn
from hubbub.workflow.services.audit_log import audit_events
from hubbub.workflow.services.rule_admin import create_rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(acme, make_conv, scopes):  # type: ignore[no-untyped-def]
    conv = make_conv()
    do_assign(scopes["agent"], conv, acme["users"]["agent"].pk)
    do_change_status(scopes["agent"], conv, "pending")
    create_rule(scopes["supervisor"], RuleIn(name="r", actions={"priority": 2}))
    do_deliver_reply(do_create_reply(scopes["agent"], conv, "hi").pk)
    return conv


def test_everything_is_recorded_and_filterable(history, scopes):
    verbs = set(audit_events(scopes["supervisor"]).values_list("verb", flat=True))
    assert {"conversation.assign", "conversation.status", "rule.create", "reply.create", "reply.sent"} <= verbs
    assert set(audit_events(scopes["admin"], verb="rule.").values_list("verb", flat=True)) == {"rule.create"}
    mine = audit_events(scopes["admin"], actor="acme-supervisor")
    assert set(mine.values_list("verb", flat=True)) == {"rule.create"}
    on_conv = audit_events(scopes["admin"], target=f"conversation:{history.pk}")
    assert {"conversation.assign", "conversation.status"} <= set(on_conv.values_list("verb", flat=True))


def test_audit_page_and_csv_export(acme, history):
    c = Client()
    c.force_login(acme["users"]["supervisor"])
    page = c.get("/audit/?verb=conversation.")
    assert page.status_code == 200 and b"conversation.status" in page.content and b"rule.create" not in page.content
    export = c.get("/audit/?format=csv&verb=reply.")
    assert export["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert {r["verb"] for r in rows} == {"reply.create", "reply.sent"} and rows[0]["actor"] == "acme-agent"
    api = c.get("/api/v1/workflow/audit?verb=rule.").json()
    assert [e["verb"] for e in api] == ["rule.create"]


@pytest.mark.parametrize("role", ["agent", "analyst"])
def test_agents_and_analysts_cannot_read_the_audit_log(acme, scopes, role):
    with pytest.raises(PermissionDenied):
        audit_events(scopes[role])
    c = Client()
    c.force_login(acme["users"][role])
    assert c.get("/audit/").status_code == 403
    assert c.get("/audit/?format=csv").status_code == 403
    assert c.get("/api/v1/workflow/audit").status_code == 403


def test_one_organisation_never_sees_anothers_audit_log(acme, make_org, history, scope_of):
    other = make_org("globex", brands=("Globex",))
    assert not audit_events(scope_of(other["users"]["admin"], other["org"])).exists()


def test_the_audit_page_tells_each_entry_as_a_sentence_with_names(
    acme, make_conv, scopes, django_assert_max_num_queries
):
    agent = acme["users"]["agent"]
    for _ in range(5):
        do_assign(scopes["supervisor"], make_conv(), agent.pk)
    c = Client()
    c.force_login(acme["users"]["supervisor"])
    with django_assert_max_num_queries(20):  # the names come in one query per kind, not one per row
        page = c.get("/audit/?verb=conversation.assign").content.decode()
    assert page.count("acme-supervisor assigned conversation #") == 5 and f"to {agent.username}" in page
    assert "{&#x27;" not in page and "&#x27;new&#x27;" not in page


def test_more_rows_cost_no_more_queries(acme, make_conv, scopes):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    c = Client()
    c.force_login(acme["users"]["supervisor"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            c.get("/audit/")
        return len(ctx.captured_queries)

    do_assign(scopes["supervisor"], make_conv(), acme["users"]["agent"].pk)
    few = queries()
    for _ in range(6):
        do_assign(scopes["supervisor"], make_conv(), acme["users"]["supervisor"].pk)
    assert queries() == few


def test_the_admin_calls_replies_replies(acme):
    from hubbub.inbox.models import Reply

    assert Reply._meta.verbose_name_plural == "replies"
