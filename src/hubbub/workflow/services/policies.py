"""The supervisors' settings: business hours, SLA policies and approval policies.

Each save takes its input validated by its schema (`workflow.inputs`: the API's body and the web
form alike), checks what needs the organisation (the business hours and brands named are its own),
keeps its references consistent (one default SLA policy per brand) and audits.
How approval policies are applied to a reply is `approvals`; this only stores them.
"""

from __future__ import annotations

from django.db import transaction

from hubbub.inputs import InvalidInput
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, require_role
from hubbub.tenancy.services import audit
from hubbub.workflow.inputs import ApprovalPolicyIn, BusinessHoursIn, SLAPolicyIn
from hubbub.workflow.models import ApprovalPolicy, BusinessHours, SLAPolicy
from hubbub.workflow.services.ownership import same_org


def save_business_hours(scope: Scope, data: BusinessHoursIn, hours: BusinessHours | None = None) -> BusinessHours:
    require_role(scope, Role.SUPERVISOR)
    if hours is not None:
        same_org(scope, hours)
    hours = hours or BusinessHours(organization_id=scope.organization_id)
    schedule = data.schedule if isinstance(data.schedule, dict) else {}  # text was read into a dict by the schema
    hours.name, hours.schedule, hours.holidays, hours.timezone = data.name, schedule, data.holidays, data.timezone
    hours.save()
    audit(
        scope.organization_id,
        scope.user,
        "business_hours.save",
        hours,
        name=hours.name,
        schedule=hours.schedule,
        holidays=hours.holidays,
    )
    return hours


def save_sla_policy(scope: Scope, data: SLAPolicyIn, policy: SLAPolicy | None = None) -> SLAPolicy:
    """Create or change an SLA policy; targets are minutes by metric and priority."""
    require_role(scope, Role.SUPERVISOR)
    if policy is not None:
        same_org(scope, policy)
    hours_id, brand_id = data.business_hours_id, data.brand_id
    if hours_id and not BusinessHours.objects.filter(organization_id=scope.organization_id, id=hours_id).exists():
        raise InvalidInput.of("business_hours_id", "Unknown business hours.")
    if brand_id and brand_id not in scope.brand_ids:
        raise InvalidInput.of("brand_id", "Unknown brand.")
    policy = policy or SLAPolicy(organization_id=scope.organization_id)
    policy.name, policy.targets, policy.business_hours_id, policy.brand_id = data.name, data.targets, hours_id, brand_id
    policy.warn_at_pct = data.warn_at_pct
    policy.is_default = data.is_default
    with transaction.atomic():
        if policy.is_default:  # one default per brand, and one for the organisation (brand left empty)
            same = SLAPolicy.objects.filter(organization_id=scope.organization_id, is_default=True)
            same = same.filter(brand_id=policy.brand_id) if policy.brand_id else same.filter(brand__isnull=True)
            same.exclude(pk=policy.pk).update(is_default=False)
        policy.save()
        audit(scope.organization_id, scope.user, "sla_policy.save", policy, name=policy.name, targets=data.targets)
    return policy


def delete_sla_policy(scope: Scope, policy: SLAPolicy) -> None:
    require_role(scope, Role.SUPERVISOR)
    same_org(scope, policy)
    audit(scope.organization_id, scope.user, "sla_policy.delete", policy, name=policy.name)
    policy.delete()


def save_approval_policy(scope: Scope, data: ApprovalPolicyIn, policy: ApprovalPolicy | None = None) -> ApprovalPolicy:
    require_role(scope, Role.SUPERVISOR)
    if policy is not None:
        same_org(scope, policy)
    if not set(data.brand_ids) <= set(scope.brand_ids):
        raise InvalidInput.of("brand_ids", "Unknown brand.")
    policy = policy or ApprovalPolicy(organization_id=scope.organization_id)
    policy.name = data.name
    policy.is_active = data.is_active
    policy.roles = data.roles
    policy.brand_ids = data.brand_ids
    policy.intents = data.intents
    policy.topics = data.topics
    policy.sensitive_words = data.sensitive_words
    policy.during_incident = data.during_incident
    policy.save()
    audit(
        scope.organization_id,
        scope.user,
        "approval_policy.save",
        policy,
        name=policy.name,
        roles=policy.roles,
        brand_ids=policy.brand_ids,
        intents=policy.intents,
        topics=policy.topics,
        words=policy.sensitive_words,
        during_incident=policy.during_incident,
    )
    return policy


def delete_approval_policy(scope: Scope, policy: ApprovalPolicy) -> None:
    require_role(scope, Role.SUPERVISOR)
    same_org(scope, policy)
    audit(scope.organization_id, scope.user, "approval_policy.delete", policy, name=policy.name)
    policy.delete()
