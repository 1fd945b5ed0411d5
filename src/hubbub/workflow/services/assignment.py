"""Who gets a conversation: each team's assignment policy, automatic assignment, availability.

`auto_assign` is called by routing for every batch and when an agent goes away, with a fixed
number of queries per call; it only sets `assignee_id` on the rows it is given (the caller
writes them) and audits in bulk.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import Count

from hubbub import live
from hubbub.db import fast_update
from hubbub.inbox.models import Conversation, Status
from hubbub.inputs import checked
from hubbub.tenancy.models import AuditEvent, Membership, Role, Team
from hubbub.tenancy.scoping import PermissionDenied, Scope, require_role
from hubbub.tenancy.services import audit, audit_entry
from hubbub.workflow.inputs import AssignmentIn
from hubbub.workflow.models import AssignmentPolicy
from hubbub.workflow.services.ownership import same_org
from hubbub.workflow.signals import conversations_rerouted


def save_assignment_policy(scope: Scope, team: Team, mode: str, capacity: int) -> AssignmentPolicy:
    """Round-robin or least-loaded, up to `capacity` open conversations per agent: the rules of
    `workflow.inputs.AssignmentIn`, the form's and the API's, apply to any caller."""
    require_role(scope, Role.SUPERVISOR)
    same_org(scope, team)
    valid = checked(AssignmentIn, mode=mode, capacity=capacity)
    mode, capacity = valid.mode, valid.capacity
    policy, _ = AssignmentPolicy.objects.update_or_create(
        team=team, defaults={"organization_id": scope.organization_id, "mode": mode, "capacity": capacity}
    )
    audit(
        scope.organization_id, scope.user, "assignment_policy.save", policy, team=team.pk, mode=mode, capacity=capacity
    )
    return policy


def auto_assign(org_id: int, convs: Sequence[Conversation], actor: Any) -> list[Conversation]:
    """Give team conversations to available agents (round-robin or least loaded, under capacity).

    Fixed queries per call: policies, members, availability, open loads. Sets
    `assignee_id` on the objects (callers save) and writes audit entries in bulk.
    """
    if not convs:
        return []
    team_ids = {c.team_id for c in convs if c.team_id}
    policies = {
        p.team_id: p
        for p in AssignmentPolicy.objects.filter(organization_id=org_id, team_id__in=team_ids).exclude(
            mode=AssignmentPolicy.Mode.MANUAL
        )
    }
    if not policies:
        return []
    members: dict[int, list[int]] = defaultdict(list)
    through = Team.members.through
    for team_id, user_id in through.objects.filter(team_id__in=list(policies)).values_list("team_id", "user_id"):
        members[team_id].append(user_id)
    available = set(
        Membership.objects.filter(
            organization_id=org_id,
            is_available=True,
            role__in=[Role.AGENT, Role.SUPERVISOR, Role.ADMIN],
            user__is_active=True,
        ).values_list("user_id", flat=True)
    )
    all_users = {u for us in members.values() for u in us}
    load = dict(
        Conversation.objects.filter(organization_id=org_id, assignee_id__in=all_users)
        .exclude(status=Status.RESOLVED)
        .values("assignee_id")
        .annotate(n=Count("id"))
        .values_list("assignee_id", "n")
    )
    assigned: list[Conversation] = []
    for conv in sorted(convs, key=lambda c: (-c.priority, c.first_message_at)):
        policy = policies.get(conv.team_id)  # type: ignore[arg-type]
        if policy is None:
            continue
        candidates = sorted(u for u in members[policy.team_id] if u in available and load.get(u, 0) < policy.capacity)
        if not candidates:
            continue
        if policy.mode == AssignmentPolicy.Mode.ROUND_ROBIN:
            last = policy.last_assigned_user_id or 0
            later = [u for u in candidates if u > last]
            chosen = later[0] if later else candidates[0]
        else:
            chosen = min(candidates, key=lambda u: (load.get(u, 0), u))
        policy.last_assigned_user_id = chosen
        load[chosen] = load.get(chosen, 0) + 1
        conv.assignee_id = chosen
        assigned.append(conv)
    for policy in policies.values():
        AssignmentPolicy.objects.filter(pk=policy.pk).update(last_assigned_user_id=policy.last_assigned_user_id)
    AuditEvent.objects.bulk_create(
        [
            audit_entry(
                org_id,
                "conversation.assign",
                "conversation",
                c.pk,
                brand_id=c.brand_id,
                actor_id=getattr(actor, "pk", None),
                new=c.assignee_id,
                team=c.team_id,
                auto=True,
            )
            for c in assigned
        ]
    )
    return assigned


def set_availability(scope: Scope, user_id: int, available: bool) -> Membership:
    """Online/away. Going away hands the agent's open conversations back: auto-assigned
    teams re-assign them at once, manual teams get them back in their queue."""
    require_role(scope, Role.AGENT)
    if user_id != scope.user.pk and not scope.can(Role.SUPERVISOR):
        raise PermissionDenied("Only supervisors can change someone else's availability.")
    membership = Membership.objects.filter(organization_id=scope.organization_id, user_id=user_id).first()
    if membership is None:
        raise PermissionDenied("That user is not a member of this organisation.")
    with transaction.atomic():
        membership.is_available = available
        membership.save(update_fields=["is_available"])
        audit(scope.organization_id, scope.user, "member.availability", membership, user=user_id, available=available)
        moved: list[Conversation] = []
        if not available:
            convs = list(
                Conversation.objects.filter(organization_id=scope.organization_id, assignee_id=user_id).exclude(
                    status=Status.RESOLVED
                )
            )
            for c in convs:
                c.assignee_id = None
            moved = auto_assign(scope.organization_id, [c for c in convs if c.team_id], actor=scope.user)
            fast_update(convs, ["assignee_id"])
            if convs:  # not one `do_assign` each: the apps above hear of the bulk change here
                conversations_rerouted.send(
                    sender=Conversation,
                    organization_id=scope.organization_id,
                    conversation_ids=[c.pk for c in convs],
                    fields={"assignee_id"},
                )
            AuditEvent.objects.bulk_create(
                [
                    audit_entry(
                        scope.organization_id,
                        "conversation.unassign",
                        "conversation",
                        c.pk,
                        brand_id=c.brand_id,
                        actor_id=scope.user.pk,
                        old=user_id,
                        why="agent away",
                    )
                    for c in convs
                    if c.assignee_id is None
                ]
            )
    live.publish("availability", scope.organization_id, user_id=user_id, available=available, reassigned=len(moved))
    return membership
