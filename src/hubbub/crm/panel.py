"""The customer panel beside a conversation in the inbox: the CRM record, profiles, open and past
conversations, the sentiment trend, suggestions, orders and interactions, with bounded, indexed queries."""

from __future__ import annotations

from typing import Any

from hubbub.crm.models import Customer, IdentityLink, Interaction, Order, SocialProfile
from hubbub.inbox.models import Conversation
from hubbub.tenancy.scoping import Scope, scoped


def _sparkline(values: list[float], width: int = 120, height: int = 24) -> str:
    """SVG polyline points for sentiment scores in [-1, 1], oldest first."""
    if len(values) < 2:
        return ""
    step = width / (len(values) - 1)
    return " ".join(
        f"{i * step:.1f},{(1 - (max(-1.0, min(1.0, v)) + 1) / 2) * height:.1f}" for i, v in enumerate(values)
    )


def panel_context(scope: Scope, conversation: Any) -> dict[str, Any]:
    """Everything the customer panel beside a conversation shows, with bounded, indexed queries."""
    author = conversation.author
    customer = author.customer if author.customer_id else None
    if customer is not None and customer.merged_into_id:
        customer = Customer.objects.filter(pk=customer.merged_into_id).first()
    if customer is not None:
        profiles = list(SocialProfile.objects.filter(organization_id=scope.organization_id, customer=customer)[:50])
    else:
        profiles = [author]
    profile_ids = [p.pk for p in profiles]
    convs = scoped(Conversation.objects.filter(author_id__in=profile_ids), scope).exclude(pk=conversation.pk)
    open_convs = list(convs.exclude(status="resolved").select_related("brand").order_by("-last_message_at")[:10])
    past_convs = list(convs.filter(status="resolved").select_related("brand").order_by("-last_message_at")[:10])
    trend = list(
        scoped(Conversation.objects.filter(author_id__in=profile_ids), scope)
        .exclude(sentiment="")
        .order_by("-last_message_at")
        .values_list("sentiment_score", flat=True)[:30]
    )[::-1]
    ctx: dict[str, Any] = {
        "crm_customer": customer,
        "crm_profiles": profiles,
        "crm_open": open_convs,
        "crm_past": past_convs,
        "crm_conversation_total": convs.count(),
        "crm_trend_points": _sparkline(trend),
        "crm_trend_last": trend[-1] if trend else None,
        "crm_suggestions": list(
            IdentityLink.objects.filter(
                organization_id=scope.organization_id, profile=author, status=IdentityLink.Status.SUGGESTED
            )
            .select_related("customer")
            .order_by("-confidence")[:3]
        ),
        "crm_conversation": conversation,
    }
    if customer is not None:
        ctx["crm_orders"] = list(Order.objects.filter(customer=customer).order_by("-ordered_at")[:5])
        ctx["crm_interactions"] = list(
            Interaction.objects.filter(customer=customer).exclude(kind="csat").select_related("author")[:5]
        )
        ctx["crm_csat"] = Interaction.objects.filter(customer=customer, kind="csat").order_by("-occurred_at").first()
        ctx["crm_link"] = (
            IdentityLink.objects.filter(profile=author, customer=customer)
            .exclude(status=IdentityLink.Status.REJECTED)
            .select_related("confirmed_by")
            .order_by("-created_at")
            .first()
        )
    return ctx
