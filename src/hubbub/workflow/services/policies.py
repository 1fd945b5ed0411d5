"""The supervisors' settings: business hours, SLA policies and approval policies.

Each save validates its input (the API's pydantic schema and the web form both end here),
keeps the organisation's references consistent (one default SLA policy per brand) and audits.
How approval policies are applied to a reply is `approvals`; this only stores them.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction

from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, require_role
from hubbub.tenancy.services import audit
from hubbub.workflow.hours import Calendar, parse_schedule_text, zone
from hubbub.workflow.models import ApprovalPolicy, BusinessHours, Metric, SLAPolicy
from hubbub.workflow.services.ownership import same_org


def save_business_hours(scope: Scope, data: dict[str, Any], hours: BusinessHours | None = None) -> BusinessHours:
    require_role(scope, Role.SUPERVISOR)
    if hours is not None:
        same_org(scope, hours)
    name = str(data.get("name", "")).strip()
    if not name:
        raise ValueError("Business hours need a name.")
    schedule = data.get("schedule")
    if isinstance(schedule, str):
        schedule = parse_schedule_text(schedule)
    holidays = data.get("holidays") or []
    if isinstance(holidays, str):
        holidays = [h.strip() for h in re.split(r"[,\s]+", holidays) if h.strip()]
    tz = str(data.get("timezone") or "UTC")
    if zone(tz).key != tz and tz != "UTC":
        raise ValueError(f"Unknown time zone {tz!r}.")
    try:
        Calendar.build(tz, schedule or {}, holidays)
    except ValueError as exc:
        raise ValueError(f"Holidays must be dates like 2026-12-25 ({exc}).") from exc
    hours = hours or BusinessHours(organization_id=scope.organization_id)
    hours.name, hours.schedule, hours.holidays, hours.timezone = name[:120], schedule or {}, sorted(holidays), tz
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


def save_sla_policy(scope: Scope, data: dict[str, Any], policy: SLAPolicy | None = None) -> SLAPolicy:
    """Create or change an SLA policy; targets are minutes by metric and priority."""
    require_role(scope, Role.SUPERVISOR)
    if policy is not None:
        same_org(scope, policy)
    name = str(data.get("name", "")).strip()
    if not name:
        raise ValueError("An SLA policy needs a name.")
    targets: dict[str, dict[str, int]] = {}
    for metric in Metric.values:
        per = (data.get("targets") or {}).get(metric) or {}
        clean = {}
        for prio, minutes in per.items():
            if minutes in (None, ""):
                continue
            m = int(minutes)
            if m <= 0 or str(prio) not in ("0", "1", "2", "3"):
                raise ValueError("Targets are positive minutes per priority 0-3.")
            clean[str(prio)] = m
        if clean:
            targets[metric] = clean
    hours_id = data.get("business_hours_id") or None
    if hours_id and not BusinessHours.objects.filter(organization_id=scope.organization_id, id=hours_id).exists():
        raise ValueError("Unknown business hours.")
    brand_id = data.get("brand_id") or None
    if brand_id and int(brand_id) not in scope.brand_ids:
        raise ValueError("Unknown brand.")
    warn = int(data.get("warn_at_pct") or 75)
    if not 1 <= warn <= 99:
        raise ValueError("Warn at a percentage between 1 and 99.")
    policy = policy or SLAPolicy(organization_id=scope.organization_id)
    policy.name, policy.targets, policy.business_hours_id, policy.brand_id = name[:120], targets, hours_id, brand_id
    policy.warn_at_pct = warn
    policy.is_default = bool(data.get("is_default", False))
    with transaction.atomic():
        if policy.is_default:  # one default per brand, and one for the organisation (brand left empty)
            same = SLAPolicy.objects.filter(organization_id=scope.organization_id, is_default=True)
            same = same.filter(brand_id=policy.brand_id) if policy.brand_id else same.filter(brand__isnull=True)
            same.exclude(pk=policy.pk).update(is_default=False)
        policy.save()
        audit(scope.organization_id, scope.user, "sla_policy.save", policy, name=policy.name, targets=targets)
    return policy


def delete_sla_policy(scope: Scope, policy: SLAPolicy) -> None:
    require_role(scope, Role.SUPERVISOR)
    same_org(scope, policy)
    audit(scope.organization_id, scope.user, "sla_policy.delete", policy, name=policy.name)
    policy.delete()


def save_approval_policy(scope: Scope, data: dict[str, Any], policy: ApprovalPolicy | None = None) -> ApprovalPolicy:
    require_role(scope, Role.SUPERVISOR)
    if policy is not None:
        same_org(scope, policy)

    def listed(key: str) -> list[str]:
        v = data.get(key) or []
        if isinstance(v, str):
            v = re.split(r"[,\n]", v)
        return [str(x).strip() for x in v if str(x).strip()]

    name = str(data.get("name", "")).strip()
    if not name:
        raise ValueError("An approval policy needs a name.")
    roles = listed("roles")
    if not set(roles) <= set(Role.values):
        raise ValueError(f"Roles are {', '.join(Role.values)}.")
    brand_ids = [int(b) for b in listed("brand_ids")]
    if not set(brand_ids) <= set(scope.brand_ids):
        raise ValueError("Unknown brand.")
    policy = policy or ApprovalPolicy(organization_id=scope.organization_id)
    policy.name = name[:120]
    policy.is_active = bool(data.get("is_active", True))
    policy.roles = roles
    policy.brand_ids = brand_ids
    policy.intents = listed("intents")
    policy.topics = listed("topics")
    policy.sensitive_words = [w.lower() for w in listed("sensitive_words")]
    policy.during_incident = bool(data.get("during_incident", False))
    policy.save()
    audit(
        scope.organization_id,
        scope.user,
        "approval_policy.save",
        policy,
        name=policy.name,
        roles=roles,
        brand_ids=brand_ids,
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
