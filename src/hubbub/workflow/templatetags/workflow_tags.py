"""Template helpers for the workflow pieces shown inside inbox pages."""

from __future__ import annotations

from typing import Any

from django import template

from hubbub.workflow.services.canned import render_template
from hubbub.workflow.sla import history

register = template.Library()


@register.simple_tag
def target(policy: Any, metric: str, priority: int) -> str:
    """An SLA policy's target in minutes for a form field ('' when unset)."""
    if policy is None:
        return ""
    value = policy.target_minutes(metric, priority)
    return "" if value is None else str(value)


@register.simple_tag
def render_canned(canned: Any, conv: Any, user: Any) -> str:
    """A canned response with its variables filled in on the server for this conversation."""
    return render_template(canned.body, conv, user)


@register.inclusion_tag("workflow/_thread_workflow.html")
def workflow_panel(conv: Any) -> dict[str, Any]:
    """SLA clocks, routing decisions, SLA history and linked issues of one conversation."""
    return {
        "conv": conv,
        "clocks": list(conv.sla_clocks.order_by("metric")),
        "routing": list(conv.routing_log or [])[-10:],
        "history": history(conv),
        "issues": list(conv.tracked_issues.all()),
    }
