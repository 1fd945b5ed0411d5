"""Why a reply must be approved before it is sent: routing rules, an active war-room incident and the
approval policies. `approval_reasons` is the one gate every reply passes, whatever its origin: the inbox
asks it through `inbox.actions.replies` (approving and rejecting held replies are inbox actions too).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured

from hubbub.inbox.models import Conversation
from hubbub.workflow.models import ApprovalPolicy

log = logging.getLogger("hubbub.workflow")


# Who can tell whether a brand is in a war-room incident: listening, above workflow in the app tree, registers
# its lookup at start-up (`ListeningConfig.ready`). Workflow never imports listening.
IncidentLookup = Callable[[int], object]
_incident_lookups: list[IncidentLookup] = []


def register_incident_lookup(lookup: IncidentLookup) -> None:
    if lookup not in _incident_lookups:
        _incident_lookups.append(lookup)


def _active_incident(brand_id: int) -> bool:
    """Whether the brand has an open incident. Fails closed: a lookup that breaks counts as "incident", and
    with no lookup registered the question cannot be answered at all (a configuration error, not a "no")."""
    if not _incident_lookups:
        raise ImproperlyConfigured("No incident lookup is registered: is hubbub.listening installed?")
    try:
        return any(lookup(brand_id) for lookup in _incident_lookups)
    except Exception:  # never let a war-room bug open the gate
        log.exception("the incident lookup for brand %s failed; holding the reply for approval", brand_id)
        return True


def reply_approval_check(role: str | None, conv: Conversation, text: str) -> list[str]:
    """The check the inbox asks for every reply (registered in `WorkflowConfig.ready`)."""
    return approval_reasons(role, conv, conv.brand_id, text)


def approval_reasons(role: str | None, conv: Conversation, brand_id: int, text: str) -> list[str]:
    """Why a reply with this text by this role on this conversation needs approval (empty: none)."""
    reasons = []
    if conv.requires_approval:
        reasons.append("routing rule requires approval for this conversation")
    incident = _active_incident(brand_id)
    if incident:
        reasons.append("the brand has an active incident (war room): every reply needs approval")
    lowered = text.lower()
    for p in ApprovalPolicy.objects.filter(organization_id=conv.organization_id, is_active=True):
        if p.roles and role not in p.roles:
            continue
        if p.brand_ids and brand_id not in p.brand_ids:
            continue
        if p.intents and conv.intent not in p.intents:
            continue
        if p.topics and conv.topic not in p.topics:
            continue
        detail = ""
        if p.sensitive_words:
            hit = [w for w in p.sensitive_words if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", lowered)]
            if not hit:
                continue
            detail = f": contains {', '.join(repr(w) for w in hit)}"
        if p.during_incident:
            if not incident:
                continue
            detail += " during an active incident"
        reasons.append(f"policy '{p.name}'{detail}")
    return reasons
