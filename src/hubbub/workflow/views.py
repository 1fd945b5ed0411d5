"""Workflow pages: approvals queue, routing rules (with live preview), SLA policies and
business hours, approval policies, teams & assignment, canned responses, progress-update
issues, the audit log. Views parse forms, load rows through the scope and call services.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from hubbub.analysis.types import INTENTS, SENTIMENTS
from hubbub.connectors.models import Network
from hubbub.connectors.outbound import ReplyTooLong
from hubbub.crm.models import Customer
from hubbub.inbox.merging import merged_into_many
from hubbub.inbox.models import CannedResponse, Conversation, Priority, Reply
from hubbub.tenancy.models import Membership, Role, Team
from hubbub.tenancy.scoping import PermissionDenied, Scope, get_scoped_or_404, require_role, scoped
from hubbub.web import drafts
from hubbub.web.views.common import scoped_view
from hubbub.web.views.inbox import render_bulk_refused
from hubbub.workflow import issues as issue_services
from hubbub.workflow.hours import OFFICE_HOURS, schedule_text
from hubbub.workflow.models import (
    ApprovalPolicy,
    AssignmentPolicy,
    BusinessHours,
    IssueUpdate,
    Metric,
    RoutingRule,
    SLAPolicy,
    TrackedIssue,
)
from hubbub.workflow.rules import CONDITION_KEYS, describe
from hubbub.workflow.services import bulk
from hubbub.workflow.services.approvals import approve_reply, pending_replies, reject_reply
from hubbub.workflow.services.assignment import save_assignment_policy, set_availability
from hubbub.workflow.services.audit_log import audit_events
from hubbub.workflow.services.canned import delete_canned, save_canned
from hubbub.workflow.services.policies import (
    delete_approval_policy,
    delete_sla_policy,
    save_approval_policy,
    save_business_hours,
    save_sla_policy,
)
from hubbub.workflow.services.presence import touch_composer
from hubbub.workflow.services.rule_admin import create_rule, delete_rule, move_rule, preview_rule, update_rule


def _err(request: HttpRequest, exc: Exception) -> None:
    messages.error(request, str(exc))


# --------------------------------------------------------------------------- approvals


@scoped_view
def approvals(request: HttpRequest, scope: Scope) -> HttpResponse:
    require_role(scope, Role.SUPERVISOR)
    updates = scoped(IssueUpdate.objects.filter(state=IssueUpdate.State.PENDING_APPROVAL), scope).select_related(
        "issue", "author"
    )
    return render(
        request,
        "workflow/approvals.html",
        {"replies": list(pending_replies(scope)), "updates": list(updates)},
    )


@require_POST
@scoped_view
def approval_decide(request: HttpRequest, scope: Scope, reply_id: int) -> HttpResponse:
    reply = get_scoped_or_404(Reply.objects.select_related("conversation"), scope, id=reply_id)
    action = request.POST.get("action", "")
    try:
        if action == "approve":
            approve_reply(scope, reply)
            messages.success(request, f"Approved and sent the reply on #{reply.conversation_id}.")
        elif action == "edit":
            approve_reply(scope, reply, request.POST.get("text", ""))
            messages.success(request, f"Edited, approved and sent the reply on #{reply.conversation_id}.")
        elif action == "reject":
            reject_reply(scope, reply, request.POST.get("comment", ""))
            messages.success(request, "Rejected; the agent has been told why.")
        else:
            messages.error(request, "Choose approve, edit and approve, or reject.")
    except (ValueError, ReplyTooLong) as exc:
        _err(request, exc)
    return redirect("workflow:approvals")


# --------------------------------------------------------------------------- rules


def _choices(scope: Scope) -> dict[str, Any]:
    org = scope.organization_id
    return {
        "brands": scope.brands(),
        "networks": Network.choices,
        "intents": INTENTS,
        "sentiments": SENTIMENTS,
        "tiers": Customer.Tier.choices,
        "teams": Team.objects.filter(organization_id=org),
        "priorities": Priority.choices,
        "sla_policies": SLAPolicy.objects.filter(organization_id=org),
        "hours": BusinessHours.objects.filter(organization_id=org),
        "canned": CannedResponse.objects.filter(organization_id=org),
    }


def _rule_data(post: Any) -> dict[str, Any]:
    cond: dict[str, Any] = {}
    for key in CONDITION_KEYS:
        values = post.getlist(key)
        if len(values) > 1 or key in ("brands", "networks", "intents", "sentiments", "customer_tiers"):
            cond[key] = values
        else:
            cond[key] = post.get(key, "")
    act = {
        k: post.get(k, "")
        for k in (
            "team_id",
            "priority",
            "tags",
            "sla_policy_id",
            "require_approval",
            "auto_reply_canned_id",
            "mark_spam",
        )
    }
    return {
        "name": post.get("name", ""),
        "is_active": post.get("is_active") == "on",
        "stop_processing": post.get("stop_processing") == "on",
        "conditions": cond,
        "actions": act,
    }


@scoped_view
def rules(request: HttpRequest, scope: Scope) -> HttpResponse:
    require_role(scope, Role.SUPERVISOR)
    org = scope.organization_id
    names = {
        "team": dict(Team.objects.filter(organization_id=org).values_list("id", "name")),
        "sla": dict(SLAPolicy.objects.filter(organization_id=org).values_list("id", "name")),
    }
    rows = [(r, describe(r, names)) for r in RoutingRule.objects.filter(organization_id=org).order_by("position", "id")]
    return render(request, "workflow/rules.html", {"rows": rows})


@scoped_view
def rule_edit(request: HttpRequest, scope: Scope, rule_id: int | None = None) -> HttpResponse:
    require_role(scope, Role.SUPERVISOR)
    rule = get_scoped_or_404(RoutingRule.objects.all(), scope, None, id=rule_id) if rule_id else None
    if request.method == "POST":
        data = _rule_data(request.POST)
        try:
            if rule is None:
                rule = create_rule(scope, data)
                messages.success(request, f"Rule '{rule.name}' created.")
            else:
                update_rule(scope, rule, data)
                messages.success(request, f"Rule '{rule.name}' saved.")
            return redirect("workflow:rules")
        except ValueError as exc:
            _err(request, exc)
            values = {**data["conditions"], **data["actions"], "name": data["name"]}
    else:
        values = {
            **(rule.conditions if rule else {}),
            **(rule.actions if rule else {}),
            "name": rule.name if rule else "",
        }
    values.setdefault("is_active", rule.is_active if rule else True)
    return render(request, "workflow/rule_edit.html", {"rule": rule, "v": values, **_choices(scope)})


@scoped_view
def rule_preview(request: HttpRequest, scope: Scope) -> HttpResponse:
    require_role(scope, Role.SUPERVISOR)
    try:
        matched, scanned, sample = preview_rule(scope, _rule_data(request.POST)["conditions"])
        error = ""
    except ValueError as exc:
        matched, scanned, sample, error = 0, 0, [], str(exc)
    return render(
        request,
        "workflow/_rule_preview.html",
        {"matched": matched, "scanned": scanned, "sample": sample, "error": error},
    )


@require_POST
@scoped_view
def rule_action(request: HttpRequest, scope: Scope, rule_id: int) -> HttpResponse:
    rule = get_scoped_or_404(RoutingRule.objects.all(), scope, None, id=rule_id)
    action = request.POST.get("action")
    if action == "delete":
        delete_rule(scope, rule)
        messages.success(request, f"Rule '{rule.name}' deleted.")
    elif action in ("up", "down"):
        move_rule(scope, rule, -1 if action == "up" else 1)
    return redirect("workflow:rules")


# --------------------------------------------------------------------------- SLA, hours, approval policies


@scoped_view
def settings_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    require_role(scope, Role.SUPERVISOR)
    org = scope.organization_id
    policies = list(SLAPolicy.objects.filter(organization_id=org).select_related("business_hours", "brand"))
    return render(
        request,
        "workflow/settings.html",
        {
            "policies": policies,
            "metrics": Metric.choices,
            "priorities": Priority.choices,
            "hours_list": [(h, schedule_text(h.schedule)) for h in BusinessHours.objects.filter(organization_id=org)],
            "office_hours": schedule_text(OFFICE_HOURS),
            "approval_policies": ApprovalPolicy.objects.filter(organization_id=org),
            "roles": Role.choices,
            **_choices(scope),
        },
    )


@require_POST
@scoped_view
def sla_policy_save(request: HttpRequest, scope: Scope) -> HttpResponse:
    p = request.POST
    policy = (
        get_scoped_or_404(SLAPolicy.objects.all(), scope, None, id=int(p["id"])) if p.get("id", "").isdigit() else None
    )
    if p.get("action") == "delete" and policy is not None:
        delete_sla_policy(scope, policy)
        messages.success(request, "SLA policy deleted.")
        return redirect("workflow:settings")
    targets = {m: {str(pr): p.get(f"{m}_{pr}", "") for pr in range(4)} for m in Metric.values}
    data = {
        "name": p.get("name", ""),
        "targets": targets,
        "business_hours_id": int(p["business_hours_id"]) if p.get("business_hours_id", "").isdigit() else None,
        "brand_id": int(p["brand_id"]) if p.get("brand_id", "").isdigit() else None,
        "warn_at_pct": p.get("warn_at_pct") or 75,
        "is_default": p.get("is_default") == "on",
    }
    try:
        save_sla_policy(scope, data, policy)
        messages.success(request, "SLA policy saved.")
    except ValueError as exc:
        _err(request, exc)
    return redirect("workflow:settings")


@require_POST
@scoped_view
def hours_save(request: HttpRequest, scope: Scope) -> HttpResponse:
    p = request.POST
    hours = (
        get_scoped_or_404(BusinessHours.objects.all(), scope, None, id=int(p["id"]))
        if p.get("id", "").isdigit()
        else None
    )
    try:
        save_business_hours(
            scope,
            {
                "name": p.get("name", ""),
                "timezone": p.get("timezone", "UTC"),
                "schedule": p.get("schedule", ""),
                "holidays": p.get("holidays", ""),
            },
            hours,
        )
        messages.success(request, "Business hours saved.")
    except ValueError as exc:
        _err(request, exc)
    return redirect("workflow:settings")


@require_POST
@scoped_view
def approval_policy_save(request: HttpRequest, scope: Scope) -> HttpResponse:
    p = request.POST
    policy = (
        get_scoped_or_404(ApprovalPolicy.objects.all(), scope, None, id=int(p["id"]))
        if p.get("id", "").isdigit()
        else None
    )
    if p.get("action") == "delete" and policy is not None:
        delete_approval_policy(scope, policy)
        messages.success(request, "Approval policy deleted.")
        return redirect("workflow:settings")
    data = {
        "name": p.get("name", ""),
        "is_active": p.get("is_active") == "on",
        "roles": p.getlist("roles"),
        "brand_ids": p.getlist("brand_ids"),
        "intents": p.getlist("intents"),
        "topics": p.get("topics", ""),
        "sensitive_words": p.get("sensitive_words", ""),
        "during_incident": p.get("during_incident") == "on",
    }
    try:
        save_approval_policy(scope, data, policy)
        messages.success(request, "Approval policy saved.")
    except ValueError as exc:
        _err(request, exc)
    return redirect("workflow:settings")


# --------------------------------------------------------------------------- teams & availability


@scoped_view
def teams(request: HttpRequest, scope: Scope) -> HttpResponse:
    require_role(scope, Role.AGENT)
    org = scope.organization_id
    team_rows = []
    for t in Team.objects.filter(organization_id=org).prefetch_related("members"):
        policy = AssignmentPolicy.objects.filter(team=t).first()
        team_rows.append((t, policy))
    members = Membership.objects.filter(organization_id=org).select_related("user").order_by("user__username")
    return render(
        request,
        "workflow/teams.html",
        {"team_rows": team_rows, "members": members, "modes": AssignmentPolicy.Mode.choices},
    )


@require_POST
@scoped_view
def team_policy(request: HttpRequest, scope: Scope, team_id: int) -> HttpResponse:
    team = get_scoped_or_404(Team.objects.all(), scope, None, id=team_id)
    try:
        save_assignment_policy(scope, team, request.POST.get("mode", ""), int(request.POST.get("capacity") or 20))
        messages.success(request, f"Assignment for {team.name} saved.")
    except ValueError as exc:
        _err(request, exc)
    return redirect("workflow:teams")


@require_POST
@scoped_view
def availability(request: HttpRequest, scope: Scope) -> HttpResponse:
    user_id = request.POST.get("user_id", "")
    target = int(user_id) if user_id.isdigit() else scope.user.pk
    set_availability(scope, target, request.POST.get("available") == "1")
    messages.success(request, "Availability saved.")
    nxt = request.POST.get("next", "")
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        return redirect(nxt)
    return redirect("workflow:teams")


# --------------------------------------------------------------------------- canned responses


@scoped_view
def canned(request: HttpRequest, scope: Scope) -> HttpResponse:
    require_role(scope, Role.AGENT)
    if request.method == "POST":
        p = request.POST
        obj = (
            get_scoped_or_404(CannedResponse.objects.all(), scope, None, id=int(p["id"]))
            if p.get("id", "").isdigit()
            else None
        )
        try:
            if p.get("action") == "delete" and obj is not None:
                delete_canned(scope, obj)
                messages.success(request, "Canned response deleted.")
            else:
                data = {"title": p.get("title", ""), "body": p.get("body", ""), "brand_id": p.get("brand_id") or None}
                save_canned(scope, data, obj)
                messages.success(request, "Canned response saved.")
        except ValueError as exc:
            _err(request, exc)
        return redirect("workflow:canned")
    return render(
        request,
        "workflow/canned.html",
        {"items": CannedResponse.objects.filter(organization_id=scope.organization_id), "brands": scope.brands()},
    )


# --------------------------------------------------------------------------- bulk reply

BULK_LIMIT = bulk.BULK_REPLY_LIMIT  # the same limit as the API's


@require_POST
@scoped_view
def bulk_reply(request: HttpRequest, scope: Scope) -> HttpResponse:
    """The same reply on the conversations ticked in the inbox list (e.g. one incident, many customers).

    All or nothing, like `POST /api/v1/workflow/bulk-replies`: every ticked conversation is checked first
    (the agent's role, the limit, that each is still there and visible, the text against each network's
    length limit), then `bulk.bulk_reply` creates every reply in one transaction, each through the normal
    path (approval policies hold some; delivery is queued on commit with the reply's idempotency key). If
    anything is refused nothing is created, and the inbox comes back with the text and the ticks as they
    were and the reason beside each conversation concerned (`web.views.inbox.render_bulk_refused`), so the
    agent fixes it and sends again without a conversation getting the reply twice.
    A ticked conversation merged into another since the list was shown gets no reply (as in the API, where
    it is `not_sent` with `merged_into`): the agent has not seen the merged thread. When the others are
    replied to, its text waits in the survivor's reply box; a survivor that is ticked too gets one reply.
    """
    back = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = "/"
    ids = list(dict.fromkeys(int(x) for x in request.POST.getlist("conversation_ids") if x.isdigit()))
    text = request.POST.get("text", "")

    def refuse(error: str, ticked: Sequence[Conversation] = (), reasons: dict[int, str] | None = None) -> HttpResponse:
        return render_bulk_refused(request, scope, back, text=text, error=error, ticked=ticked, reasons=reasons or {})

    try:
        require_role(scope, Role.AGENT)
    except PermissionDenied as exc:
        return refuse(f"Nothing was sent: {exc}")
    if not ids:
        return refuse("Nothing was sent: tick the conversations to reply to first.")
    if len(ids) > BULK_LIMIT:
        return refuse(f"Nothing was sent: at most {BULK_LIMIT} conversations at once, {len(ids)} are ticked.")
    found = {c.pk: c for c in scoped(Conversation.objects.filter(id__in=ids), scope).select_related("brand", "author")}
    ticked = [found[i] for i in ids if i in found]
    merged = merged_into_many(scope, [i for i in ids if i not in found])
    reasons = {i: _merged_reason(merged[i], merged[i] in found) for i in ids if i in merged}
    gone = [i for i in ids if i not in found and i not in merged]
    if gone:
        for i in gone:
            reasons[i] = "not found among your conversations (deleted, or of a brand you no longer see); unticked."
        error = "Nothing was sent: some ticked conversations are no longer there. Send again to reply to the others."
        return refuse(error, ticked, reasons)
    try:
        replies = bulk.bulk_reply(scope, ticked, text)
    except bulk.BulkReplyRefused as exc:
        reasons.update(exc.failures)
        n = len(exc.failures)
        return refuse(
            f"Nothing was sent: the reply does not fit {n} of the {len(ticked)} conversations. "
            "Shorten it or untick those, then send again.",
            ticked,
            reasons,
        )
    except (ValueError, ReplyTooLong) as exc:
        return refuse(f"Nothing was sent: {exc}", ticked, reasons)
    _carry_to_survivors(request, merged, set(found), text)
    held = [f"#{r.conversation_id}" for r in replies if r.state == Reply.State.PENDING_APPROVAL]
    if replies:
        said = f", {len(held)} held for approval ({', '.join(held)})." if held else "."
        messages.success(request, f"Replied on {len(replies)} conversations{said}")
    return redirect(back)


def _merged_reason(survivor_id: int, survivor_ticked: bool) -> str:
    if survivor_ticked:
        return f"merged into #{survivor_id}, which is ticked too: that one gets the reply, once."
    return (
        f"merged into #{survivor_id} since the list was shown: it gets no reply from here; "
        f"open #{survivor_id} to answer."
    )


def _carry_to_survivors(request: HttpRequest, merged: dict[int, int], found: set[int], text: str) -> None:
    """Ticked conversations merged into another since the list was shown got no reply (the agent sees the
    merged thread first, as on the single reply form): the text waits, unsent, in each survivor's reply box
    (`web.drafts`), and the agent is told where. A survivor that was ticked too just got the reply. Only
    after the bulk reply was accepted: a refused one keeps its text in the form, and one copy is enough."""
    waiting: dict[int, list[int]] = {}
    for old_id, survivor_id in merged.items():
        if survivor_id not in found:
            waiting.setdefault(survivor_id, []).append(old_id)
    for survivor_id, old_ids in waiting.items():
        draft = drafts.make(old_ids[0], text)
        if draft is None:
            continue
        drafts.keep(request, survivor_id, draft)
        olds = ", ".join(f"#{i}" for i in old_ids) + (" was" if len(old_ids) == 1 else " were")
        messages.warning(
            request,
            f"{olds} merged into #{survivor_id} while you were writing; your reply was not sent there. "
            f"It is waiting in the reply box of #{survivor_id}: review it and send.",
        )


# --------------------------------------------------------------------------- composer presence


@require_POST
@scoped_view
def composing(request: HttpRequest, scope: Scope, conversation_id: int) -> HttpResponse:
    conv = get_scoped_or_404(Conversation.objects.all(), scope, id=conversation_id)
    others = touch_composer(scope, conv)
    return render(request, "workflow/_collision.html", {"others": others})


# --------------------------------------------------------------------------- issues (progress updates)


@scoped_view
def issues(request: HttpRequest, scope: Scope) -> HttpResponse:
    require_role(scope, Role.AGENT)
    if request.method == "POST":
        try:
            brand_id = int(request.POST.get("brand_id") or 0)
            ids = [int(x) for x in request.POST.get("conversation_ids", "").replace(",", " ").split() if x.isdigit()]
            issue = issue_services.create_issue(scope, brand_id, request.POST.get("title", ""), ids)
            return redirect("workflow:issue", issue_id=issue.pk)
        except ValueError as exc:
            _err(request, exc)
    rows = scoped(TrackedIssue.objects.all(), scope).order_by("state", "-created_at")
    return render(request, "workflow/issues.html", {"issues": rows, "brands": scope.brands()})


@scoped_view
def issue(request: HttpRequest, scope: Scope, issue_id: int) -> HttpResponse:
    obj = get_scoped_or_404(TrackedIssue.objects.select_related("brand"), scope, id=issue_id)
    if request.method == "POST":
        p = request.POST
        action = p.get("action")
        try:
            if action == "link":
                ids = [int(x) for x in p.get("conversation_ids", "").replace(",", " ").split() if x.isdigit()]
                n = issue_services.link_conversations(scope, obj, ids)
                messages.success(request, f"Linked {n} conversation(s).")
            elif action == "unlink":
                issue_services.unlink_conversation(scope, obj, int(p.get("conversation_id", "0")))
            elif action == "update":
                issue_services.post_update(scope, obj, p.get("text", ""), closing=p.get("closing") == "on")
                messages.success(request, "Update written; it goes out once a supervisor approves it.")
            elif action in ("approve", "reject", "edit"):
                upd = get_scoped_or_404(IssueUpdate.objects.all(), scope, id=int(p.get("update_id", "0")))
                if action == "reject":
                    issue_services.reject_update(scope, upd, p.get("comment", ""))
                    messages.success(request, "Update rejected.")
                else:
                    issue_services.approve_update(scope, upd, p.get("text") if action == "edit" else None)
                    messages.success(request, "Update approved and sent to every linked conversation.")
        except (ValueError, ReplyTooLong) as exc:
            _err(request, exc)
        nxt = p.get("next")
        return redirect(nxt if nxt == "/approvals/" else f"/issues/{obj.pk}/")
    updates = list(obj.updates.select_related("author", "approved_by").prefetch_related("deliveries"))
    convs = list(obj.conversations.select_related("author").order_by("-last_message_at"))
    return render(request, "workflow/issue.html", {"issue": obj, "updates": updates, "convs": convs})


# --------------------------------------------------------------------------- audit log


def _parse_day(value: str) -> datetime | None:
    from datetime import UTC

    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC) if value else None
    except ValueError:
        return None


class _Echo:
    def write(self, value: str) -> str:
        return value


@scoped_view
def audit_log(request: HttpRequest, scope: Scope) -> HttpResponse | StreamingHttpResponse:
    g = request.GET
    qs = audit_events(
        scope,
        verb=g.get("verb", "").strip(),
        actor=g.get("actor", "").strip(),
        target=g.get("target", "").strip(),
        since=_parse_day(g.get("since", "")),
        until=_parse_day(g.get("until", "")),
    )
    if g.get("format") == "csv":
        writer = csv.writer(_Echo())

        def rows() -> Any:
            yield writer.writerow(["time", "actor", "verb", "target_type", "target_id", "data"])
            for e in qs.iterator(chunk_size=2000):
                yield writer.writerow(
                    [
                        e.created_at.isoformat(),
                        e.actor.get_username() if e.actor else "system",
                        e.verb,
                        e.target_type,
                        e.target_id,
                        _json(e.data),
                    ]
                )

        response = StreamingHttpResponse(rows(), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
        return response
    events = list(qs[:200])
    keep = {k: v for k, v in g.items() if v and k != "format"}
    from urllib.parse import urlencode

    return render(
        request,
        "workflow/audit.html",
        {"events": events, "f": keep, "csv_query": urlencode({**keep, "format": "csv"})},
    )


def _json(data: Any) -> str:
    import json

    return json.dumps(data, sort_keys=True, default=str)
