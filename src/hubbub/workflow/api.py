"""Workflow API (mounted under /api/v1/): routing rules, SLA policies and business hours,
approval policies and the approval queue, canned responses, issues and progress updates,
assignment and availability, the audit log. Same services and permissions as the UI.

The request bodies are the workflow's input schemas (`workflow.inputs`, which the web forms read too) and
the answers are in `workflow.schemas`; the plain list/create/update/delete endpoints come from
`hubbub.api.crud` (their operation ids and URL names are those of this module).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from django.db.models import Model
from django.http import Http404, HttpRequest
from ninja import Query, Router, Status

from hubbub.api.auth import request_scope
from hubbub.api.crud import Crud, Endpoint, register_crud
from hubbub.api.schemas import Id, answers
from hubbub.connectors.outbound import ReplyTooLong
from hubbub.db import chunked
from hubbub.inbox.actions import approvals as reply_approvals
from hubbub.inbox.api import conversation_or_404
from hubbub.inbox.inputs import ApproveIn, RejectIn
from hubbub.inbox.merging import merged_into_many
from hubbub.inbox.models import CannedResponse, Conversation, Reply
from hubbub.tenancy.models import Role, Team
from hubbub.tenancy.scoping import Scope, get_scoped_or_404, require_role, scoped
from hubbub.workflow import issues as issue_services
from hubbub.workflow.inputs import (
    ApprovalPolicyIn,
    AssignmentIn,
    AvailabilityIn,
    BulkReplyIn,
    BusinessHoursIn,
    CannedIn,
    IssueIn,
    LinkIn,
    PreviewIn,
    RuleIn,
    SLAPolicyIn,
    UpdateIn,
)
from hubbub.workflow.models import (
    ApprovalPolicy,
    BusinessHours,
    IssueUpdate,
    RoutingRule,
    SLAPolicy,
    TrackedIssue,
)
from hubbub.workflow.schemas import (
    NOT_SENT,
    ApprovalPolicyOut,
    AssignmentOut,
    AuditOut,
    AvailabilityOut,
    BulkReplyError,
    BulkReplyOut,
    BusinessHoursOut,
    CannedOut,
    Error,
    IssueOut,
    PendingReplyOut,
    PreviewOut,
    RenderedOut,
    ReplyStateOut,
    RuleOut,
    SLAHistoryOut,
    SLAPolicyOut,
    UpdateOut,
)
from hubbub.workflow.services import assignment, bulk, canned, policies, rule_admin
from hubbub.workflow.services.audit_log import audit_events
from hubbub.workflow.sla import history

router = Router(tags=["workflow"])

_CREATE = {400: Error, 403: Error}  # the errors each plain endpoint documents besides the common ones
_UPDATE = {400: Error, 403: Error, 404: Error}
_DELETE = {403: Error, 404: Error}


def _org_rows(model: type[Model], role: str, *order: str) -> Callable[[Scope], Iterable[Model]]:
    """The organisation's rows of `model` for a list endpoint, for `role` and above."""

    def rows(scope: Scope) -> Iterable[Model]:
        require_role(scope, role)
        qs = model._default_manager.filter(organization_id=scope.organization_id)
        return qs.order_by(*order) if order else qs

    return rows


def _crud(path: str, schema_in: Any, schema_out: Any, model: type[Model], id_param: str) -> Crud:
    return Crud(__name__, path, schema_in, schema_out, model._default_manager.all, id_param)


# --------------------------------------------------------------------------- rules

_RULES = _crud("/workflow/rules", RuleIn, RuleOut, RoutingRule, "rule_id")
register_crud(
    router,
    _RULES,
    rows=(
        Endpoint("list_rules", "Routing rules in evaluation order (supervisors)."),
        _org_rows(RoutingRule, Role.SUPERVISOR, "position", "id"),
    ),
    create=(Endpoint("create_rule", errors=_CREATE), rule_admin.create_rule),
)


@router.post("/workflow/rules/preview", response=answers(PreviewOut))
def preview_rule(request: HttpRequest, body: PreviewIn) -> Any:
    """Which of the latest 500 conversations would these conditions match?"""
    scope = request_scope(request)
    require_role(scope, Role.SUPERVISOR)
    matched, scanned, sample = rule_admin.preview_rule(scope, body)
    return {"matched": matched, "scanned": scanned, "sample_ids": [c.pk for c in sample]}


register_crud(
    router,
    _RULES,
    update=(Endpoint("update_rule", errors=_UPDATE), rule_admin.update_rule),
    delete=(Endpoint("delete_rule", errors=_DELETE), rule_admin.delete_rule),
)


# --------------------------------------------------------------------------- SLA

register_crud(
    router,
    _crud("/workflow/sla-policies", SLAPolicyIn, SLAPolicyOut, SLAPolicy, "policy_id"),
    rows=(Endpoint("list_sla_policies"), _org_rows(SLAPolicy, Role.SUPERVISOR)),
    create=(Endpoint("create_sla_policy", errors=_CREATE), policies.save_sla_policy),
    update=(
        Endpoint("update_sla_policy", errors=_UPDATE),
        lambda scope, policy, data: policies.save_sla_policy(scope, data, policy),
    ),
    delete=(Endpoint("delete_sla_policy", errors=_DELETE), policies.delete_sla_policy),
)
register_crud(
    router,
    _crud("/workflow/business-hours", BusinessHoursIn, BusinessHoursOut, BusinessHours, "hours_id"),
    rows=(Endpoint("list_business_hours"), _org_rows(BusinessHours, Role.SUPERVISOR)),
    create=(Endpoint("create_business_hours", errors=_CREATE), policies.save_business_hours),
)


@router.get("/workflow/conversations/{conversation_id}/sla", response=answers(SLAHistoryOut, 404))
def conversation_sla(request: HttpRequest, conversation_id: Id) -> Any:
    """The conversation's SLA clocks and their history (for reports); a merged id answers with `merged_into`."""
    conv = conversation_or_404(request_scope(request), conversation_id)
    return {"clocks": list(conv.sla_clocks.order_by("started_at")), "history": history(conv)}


# --------------------------------------------------------------------------- approval

register_crud(
    router,
    _crud("/workflow/approval-policies", ApprovalPolicyIn, ApprovalPolicyOut, ApprovalPolicy, "policy_id"),
    rows=(Endpoint("list_approval_policies"), _org_rows(ApprovalPolicy, Role.SUPERVISOR)),
    create=(Endpoint("create_approval_policy", errors=_CREATE), policies.save_approval_policy),
    update=(
        Endpoint("update_approval_policy", errors=_UPDATE),
        lambda scope, policy, data: policies.save_approval_policy(scope, data, policy),
    ),
    delete=(Endpoint("delete_approval_policy", errors=_DELETE), policies.delete_approval_policy),
)


@router.get("/workflow/approvals", response=answers(list[PendingReplyOut]))
def list_pending(request: HttpRequest) -> Any:
    """Replies waiting for approval in the caller's brands (supervisors and admins)."""
    scope = request_scope(request)
    require_role(scope, Role.SUPERVISOR)
    return [
        {
            "id": r.pk,
            "conversation_id": r.conversation_id,
            "brand_id": r.brand_id,
            "author": r.author.get_username() if r.author else None,
            "text": r.text,
            "state": r.state,
            "review_comment": r.review_comment,
            "created_at": r.created_at,
        }
        for r in reply_approvals.pending_replies(scope)
    ]


@router.post("/workflow/approvals/{reply_id}/approve", response=answers(ReplyStateOut, 404))
def approve(request: HttpRequest, reply_id: Id, body: ApproveIn) -> Any:
    """Approve (send `text` to edit first); the reply is then sent exactly once."""
    scope = request_scope(request)
    reply = get_scoped_or_404(Reply.objects.select_related("conversation"), scope, id=reply_id)
    try:
        reply_approvals.do_approve_reply(scope, reply, body.text)
    except ReplyTooLong as exc:
        return Status(400, {"detail": str(exc)})
    reply.refresh_from_db()
    return reply


@router.post("/workflow/approvals/{reply_id}/reject", response=answers(ReplyStateOut, 404))
def reject(request: HttpRequest, reply_id: Id, body: RejectIn) -> Any:
    scope = request_scope(request)
    reply = get_scoped_or_404(Reply.objects.select_related("conversation"), scope, id=reply_id)
    return reply_approvals.do_reject_reply(scope, reply, body.comment)


@router.post("/workflow/bulk-replies", response=answers({201: list[BulkReplyOut]}, 404, e400=BulkReplyError))
def bulk_reply(request: HttpRequest, body: BulkReplyIn) -> Any:
    """The same reply on many conversations, all or nothing; each is held for approval when a policy says so.

    400 (nothing created): no ids, more than `BULK_REPLY_LIMIT`, an id listed twice (`duplicates`; a
    conversation never gets the same reply twice and each result answers one listed id), an empty text, or a
    text too long for the network of any listed conversation (`failed`: every such id, and why). An id merged
    into another conversation since the caller listed it gets no reply (as `POST /conversations/{id}/replies`
    answers 404 with `merged_into`, a write is never replayed on a conversation the caller has not looked at):
    its result says `not_sent` and names the survivor, and the other ids get their replies. An unknown id, or
    one whose survivor is outside the caller's scope, is a 404 for the whole request, and nothing is sent."""
    scope = request_scope(request)
    ids = body.conversation_ids
    limit = bulk.BULK_REPLY_LIMIT
    if not ids:
        return Status(400, {"detail": "List the conversations to reply to in conversation_ids."})
    if len(ids) > limit:
        return Status(
            400, {"detail": f"At most {limit} conversations per bulk reply; {len(ids)} were given. Split the list."}
        )
    counts = Counter(ids)
    duplicates = [i for i in dict.fromkeys(ids) if counts[i] > 1]
    if duplicates:
        listed = ", ".join(map(str, duplicates))
        detail = f"Conversation ids listed more than once: {listed}. List each conversation once; nothing was sent."
        return Status(400, {"detail": detail, "duplicates": duplicates})
    found: dict[int, Conversation] = {}
    for chunk in chunked(ids):
        found.update((c.pk, c) for c in scoped(Conversation.objects.filter(id__in=chunk), scope))
    merged = merged_into_many(scope, [i for i in ids if i not in found])
    if any(i not in found and i not in merged for i in ids):
        raise Http404("Not found")
    try:
        replies = iter(bulk.bulk_reply(scope, [found[i] for i in ids if i in found], body.text))
    except bulk.BulkReplyRefused as exc:
        failed = [{"conversation_id": i, "detail": why} for i, why in exc.failures.items()]
        return Status(400, {"detail": str(exc), "failed": failed})
    except ValueError as exc:  # ReplyTooLong included
        return Status(400, {"detail": str(exc)})
    results: list[dict[str, Any]] = []
    for i in ids:
        if i in found:
            r = next(replies)
            results.append(
                {"conversation_id": i, "id": r.pk, "state": r.state, "text": r.text, "review_comment": r.review_comment}
            )
        else:
            results.append(
                {
                    "conversation_id": i,
                    "id": None,
                    "state": NOT_SENT,
                    "text": "",
                    "review_comment": "",
                    "merged_into": merged[i],
                    "detail": f"This conversation was merged into conversation {merged[i]}; nothing was sent to it.",
                }
            )
    return Status(201, results)


# --------------------------------------------------------------------------- canned

register_crud(
    router,
    _crud("/workflow/canned", CannedIn, CannedOut, CannedResponse, "canned_id"),
    rows=(Endpoint("list_canned"), _org_rows(CannedResponse, Role.AGENT)),
    create=(Endpoint("create_canned", errors=_CREATE), canned.save_canned),
    update=(
        Endpoint("update_canned", errors=_UPDATE),
        lambda scope, obj, data: canned.save_canned(scope, data, obj),
    ),
    delete=(Endpoint("delete_canned", errors=_DELETE), canned.delete_canned),
)


@router.get("/workflow/canned/{canned_id}/render", response=answers(RenderedOut, 404))
def render_canned(request: HttpRequest, canned_id: Id, conversation_id: Id) -> Any:
    """The canned response with variables filled for a conversation, and whether it fits the network."""
    scope = request_scope(request)
    require_role(scope, Role.AGENT)
    obj = get_scoped_or_404(CannedResponse.objects.all(), scope, None, id=canned_id)
    conv = get_scoped_or_404(
        Conversation.objects.select_related("author", "author__customer", "brand"), scope, id=conversation_id
    )
    return canned.render_canned(scope, obj, conv)


# --------------------------------------------------------------------------- issues


def _issue_out(issue: TrackedIssue) -> dict[str, Any]:
    return {
        "id": issue.pk,
        "brand_id": issue.brand_id,
        "title": issue.title,
        "state": issue.state,
        "conversation_ids": sorted(issue.conversations.values_list("id", flat=True)),
        "updates": [_update_out(u) for u in issue.updates.all()],
    }


def _update_out(u: IssueUpdate) -> dict[str, Any]:
    return {
        "id": u.pk,
        "text": u.text,
        "state": u.state,
        "is_closing": u.is_closing,
        "review_comment": u.review_comment,
        "deliveries": list(u.deliveries.values("conversation_id", "status", "error", "reply_id")),
    }


@router.get("/workflow/issues", response=answers(list[IssueOut]))
def list_issues(request: HttpRequest) -> Any:
    scope = request_scope(request)
    require_role(scope, Role.AGENT)
    return [_issue_out(i) for i in scoped(TrackedIssue.objects.all(), scope)]


@router.post("/workflow/issues", response=answers({201: IssueOut}))
def create_issue(request: HttpRequest, body: IssueIn) -> Any:
    issue = issue_services.create_issue(request_scope(request), body.brand_id, body.title, body.conversation_ids)
    return Status(201, _issue_out(issue))


@router.get("/workflow/issues/{issue_id}", response=answers(IssueOut, 404))
def get_issue(request: HttpRequest, issue_id: Id) -> Any:
    return _issue_out(get_scoped_or_404(TrackedIssue.objects.all(), request_scope(request), id=issue_id))


@router.post("/workflow/issues/{issue_id}/conversations", response=answers(IssueOut, 404))
def link(request: HttpRequest, issue_id: Id, body: LinkIn) -> Any:
    scope = request_scope(request)
    issue = get_scoped_or_404(TrackedIssue.objects.all(), scope, id=issue_id)
    issue_services.link_conversations(scope, issue, body.conversation_ids)
    return _issue_out(issue)


@router.post("/workflow/issues/{issue_id}/updates", response=answers({201: UpdateOut}, 404))
def post_update(request: HttpRequest, issue_id: Id, body: UpdateIn) -> Any:
    """Write a progress update; it waits for one approval, then goes to every linked conversation."""
    scope = request_scope(request)
    issue = get_scoped_or_404(TrackedIssue.objects.all(), scope, id=issue_id)
    try:
        update = issue_services.post_update(scope, issue, body.text, body.closing)
    except ReplyTooLong as exc:
        return Status(400, {"detail": str(exc)})
    return Status(201, _update_out(update))


@router.post("/workflow/issue-updates/{update_id}/approve", response=answers(UpdateOut, 404))
def approve_update(request: HttpRequest, update_id: Id, body: ApproveIn) -> Any:
    scope = request_scope(request)
    update = get_scoped_or_404(IssueUpdate.objects.all(), scope, id=update_id)
    try:
        issue_services.approve_update(scope, update, body.text)
    except ReplyTooLong as exc:
        return Status(400, {"detail": str(exc)})
    update.refresh_from_db()
    return _update_out(update)


@router.post("/workflow/issue-updates/{update_id}/reject", response=answers(UpdateOut, 404))
def reject_update(request: HttpRequest, update_id: Id, body: RejectIn) -> Any:
    scope = request_scope(request)
    update = get_scoped_or_404(IssueUpdate.objects.all(), scope, id=update_id)
    return _update_out(issue_services.reject_update(scope, update, body.comment))


# --------------------------------------------------------------------------- assignment


@router.put("/workflow/availability", response=answers(AvailabilityOut))
def set_availability(request: HttpRequest, body: AvailabilityIn) -> Any:
    """Online/away (yours, or anyone's for supervisors); going away re-assigns open conversations."""
    scope = request_scope(request)
    m = assignment.set_availability(scope, body.user_id or scope.user.pk, body.available)
    return {"user_id": m.user_id, "available": m.is_available}


@router.put("/workflow/teams/{team_id}/assignment", response=answers(AssignmentOut, 404))
def set_assignment(request: HttpRequest, team_id: Id, body: AssignmentIn) -> Any:
    scope = request_scope(request)
    team = get_scoped_or_404(Team.objects.all(), scope, None, id=team_id)
    p = assignment.save_assignment_policy(scope, team, body.mode, body.capacity)
    return {"team_id": team.pk, "mode": p.mode, "capacity": p.capacity}


# --------------------------------------------------------------------------- audit


@router.get("/workflow/audit", response=answers(list[AuditOut]))
def audit_log(
    request: HttpRequest,
    verb: str = "",
    actor: str = "",
    target: str = "",
    limit: int = Query(200, ge=1, le=1000),  # type: ignore[type-arg]
) -> Any:
    """Who did what (supervisors and admins); filter by verb prefix, actor and `type:id` target."""
    qs = audit_events(request_scope(request), verb=verb, actor=actor, target=target)
    return [
        {
            "created_at": e.created_at,
            "actor": e.actor.get_username() if e.actor else None,
            "verb": e.verb,
            "target_type": e.target_type,
            "target_id": e.target_id,
            "data": e.data,
        }
        for e in qs[:limit]
    ]
