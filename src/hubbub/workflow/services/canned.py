"""Canned responses: their variables, rendering, save and delete, and the routing rules'
auto-reply that sends one.

The variables ({first_name}, {agent_name}, {case_number}, {brand}) are filled the same way in
the composer, the API's render endpoint, issue updates and auto-replies; unknown braces stay as
typed so a template never fails to render.
"""

from __future__ import annotations

import logging
from typing import Any

from hubbub.connectors.models import MAX_REPLY_CHARS
from hubbub.inbox.actions.replies import Origin, do_create_reply
from hubbub.inbox.models import CannedResponse, Conversation
from hubbub.inputs import InvalidInput
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import PermissionDenied, Scope, require_role
from hubbub.tenancy.services import audit
from hubbub.workflow.inputs import CannedIn
from hubbub.workflow.services.ownership import same_org

log = logging.getLogger("hubbub.workflow")


class _Vars(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def canned_variables(conv: Conversation, agent: Any | None) -> dict[str, str]:
    author = conv.author
    customer = author.customer if author.customer_id else None
    full = (customer.name if customer and customer.name else "") or author.display_name or author.handle or ""
    first = full.split()[0] if full.split() else "there"
    if agent is None:
        agent_name = conv.brand.name
    else:
        agent_name = (getattr(agent, "first_name", "") or agent.get_username()).strip()
    return {
        "first_name": first,
        "agent_name": agent_name,
        "case_number": f"C-{conv.pk:06d}",
        "brand": conv.brand.name,
    }


def render_template(body: str, conv: Conversation, agent: Any | None) -> str:
    """Fill {first_name}, {agent_name}, {case_number}, {brand}; unknown braces stay as typed."""
    try:
        return body.format_map(_Vars(canned_variables(conv, agent)))
    except (ValueError, IndexError):  # stray braces: leave the text alone
        return body


def render_canned(scope: Scope, canned: CannedResponse, conv: Conversation) -> dict[str, Any]:
    if canned.organization_id != scope.organization_id or conv.organization_id != scope.organization_id:
        raise PermissionDenied("Not part of this organisation.")
    text = render_template(canned.body, conv, scope.user)
    limit = MAX_REPLY_CHARS.get(conv.network)  # type: ignore[call-overload]
    return {"text": text, "length": len(text), "limit": limit, "fits": limit is None or len(text) <= limit}


def save_canned(scope: Scope, data: CannedIn, canned: CannedResponse | None = None) -> CannedResponse:
    require_role(scope, Role.SUPERVISOR)
    if canned is not None:
        same_org(scope, canned)
    if data.brand_id and data.brand_id not in scope.brand_ids:
        raise InvalidInput.of("brand_id", "Unknown brand.")
    canned = canned or CannedResponse(organization_id=scope.organization_id)
    canned.title, canned.body, canned.brand_id = data.title, data.body, data.brand_id
    canned.save()
    audit(scope.organization_id, scope.user, "canned.save", canned, title=canned.title)
    return canned


def delete_canned(scope: Scope, canned: CannedResponse) -> None:
    require_role(scope, Role.SUPERVISOR)
    same_org(scope, canned)
    audit(scope.organization_id, scope.user, "canned.delete", canned, title=canned.title)
    canned.delete()


def auto_reply(conv_id: int, canned_id: int) -> None:
    """A routing rule's auto-reply: rendered, then created like any reply (length and approval checked)."""
    conv = Conversation.objects.select_related("author", "author__customer", "brand").get(pk=conv_id)
    canned = CannedResponse.objects.filter(organization_id=conv.organization_id, id=canned_id).first()
    if canned is None:
        return
    try:
        do_create_reply(None, conv, render_template(canned.body, conv, None), Origin.AUTO)
    except ValueError as exc:  # too long for the network, or empty once rendered: the rule cannot answer here
        log.warning("auto-reply %s skipped on conversation %s: %s", canned_id, conv.pk, exc)
