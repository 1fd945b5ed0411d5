"""The data the tenant-isolation checks run against: two organisations, one object of every kind a URL can name.

"home" has brands H1 and H2 and a member of every role, plus an agent restricted to H1; "other" has brand O1.
Every object carries a marker (`ZQX<tag><kind>Z`) in a text a page or the API would show, so a response that
shows another organisation's (or, for the restricted agent, another brand's) object is found by its marker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model

from hubbub.api.models import ApiToken, WebhookDelivery, WebhookEndpoint
from hubbub.connectors.models import Channel
from hubbub.crm.models import Customer, IdentityLink, ImportJob, MergeRecord, SocialProfile, TierRules
from hubbub.inbox.models import CannedResponse, Conversation, Message, Note, Reply, SavedView, Tag
from hubbub.listening.models import Alert, AlertRule, Incident, ListeningQuery
from hubbub.tenancy.models import Brand, Membership, Organization, Role, Team
from hubbub.workflow.models import ApprovalPolicy, IssueUpdate, RoutingRule, SLAPolicy, TrackedIssue

ROLES = ("admin", "supervisor", "agent", "analyst", "restricted")
# Kinds whose rows belong to one brand: what a brand-restricted user must not see of another brand.
BRAND_KINDS = frozenset({"conversation", "message", "reply", "note", "issue", "update", "query", "alert", "incident"})
PASSWORD = "Isolation-checks-2026!"
AT = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


@dataclass
class World:
    home: Organization
    other: Organization
    users: dict[str, Any]
    tokens: dict[str, str]
    # ids[tag][kind]: tag "H1" (home, own brand), "H2" (home, the brand the restricted agent does not see),
    # "O1" (the other organisation)
    ids: dict[str, dict[str, int]] = field(default_factory=dict)

    def markers(self, tag: str, kinds: frozenset[str] | None = None) -> set[str]:
        return {marker(tag, k) for k in self.ids[tag] if kinds is None or k in kinds}


def marker(tag: str, kind: str) -> str:
    """Unique and never a prefix of another marker (`alert` / `alert_rule`)."""
    return f"ZQX{tag}{kind}Z"


def _conversation(org: Organization, brand: Brand, tag: str) -> dict[str, int]:
    m = lambda kind: marker(tag, kind)  # noqa: E731
    customer = Customer.objects.create(organization=org, name=m("customer"), email=f"{tag.lower()}@example.com")
    profile = SocialProfile.objects.create(
        organization=org, network="x", external_id=f"u-{tag}", handle=m("profile"), customer=customer
    )
    other_customer = Customer.objects.create(organization=org, name=m("merged"))
    conv = Conversation.objects.create(
        organization=org, brand=brand, network="x", author=profile, preview=m("conversation"),
        search_text=m("conversation").lower(), first_message_at=AT, last_message_at=AT, last_inbound_at=AT,
        message_count=1,
    )  # fmt: skip
    message = Message.objects.create(
        organization=org, brand=brand, conversation=conv, network="x", external_id=f"m-{tag}", author=profile,
        text=m("message"), created_at=AT,
    )  # fmt: skip
    reply = Reply.objects.create(
        organization=org, brand=brand, conversation=conv, text=m("reply"), state=Reply.State.PENDING_APPROVAL
    )
    note = Note.objects.create(organization=org, conversation=conv, text=m("note"))
    link = IdentityLink.objects.create(
        organization=org, profile=profile, customer=customer, method="fuzzy", status="suggested", confidence=0.7
    )
    merge = MergeRecord.objects.create(organization=org, survivor=customer, merged=other_customer)
    return {
        "customer": customer.pk, "profile": profile.pk, "conversation": conv.pk, "message": message.pk,
        "reply": reply.pk, "note": note.pk, "link": link.pk, "merge": merge.pk, "merged": other_customer.pk,
    }  # fmt: skip


def _workflow(org: Organization, brand: Brand, tag: str, team: Team) -> dict[str, int]:
    m = lambda kind: marker(tag, kind)  # noqa: E731
    issue = TrackedIssue.objects.create(organization=org, brand=brand, title=m("issue"))
    update = IssueUpdate.objects.create(organization=org, brand=brand, issue=issue, text=m("update"))
    return {
        "issue": issue.pk,
        "update": update.pk,
        "rule": RoutingRule.objects.create(organization=org, name=m("rule")).pk,
        "sla_policy": SLAPolicy.objects.create(organization=org, name=m("sla_policy"), brand=brand).pk,
        "approval_policy": ApprovalPolicy.objects.create(organization=org, name=m("approval_policy")).pk,
        "canned": CannedResponse.objects.create(organization=org, brand=brand, title=m("canned"), body="hi").pk,
        "team": team.pk,
        "tag": Tag.objects.create(organization=org, name=m("tag").lower()).pk,
    }


def _listening(org: Organization, brand: Brand, tag: str) -> dict[str, int]:
    m = lambda kind: marker(tag, kind)  # noqa: E731
    query = ListeningQuery.objects.create(organization=org, brand=brand, name=m("query"), query="delay")
    alert = Alert.objects.create(
        organization=org, brand=brand, kind="spike", detected_at=AT, window_start=AT - timedelta(hours=1),
        expected=1, observed=9, message=m("alert"),
    )  # fmt: skip
    incident = Incident.objects.create(organization=org, brand=brand, title=m("incident"), opened_at=AT)
    job = ImportJob.objects.create(organization=org, fmt="customers", file_name=m("job"), header=["name"])
    channel = Channel.objects.create(organization=org, brand=brand, network="rss", name=m("channel"))
    rule = AlertRule.objects.create(organization=org, brand=brand, name=m("alert_rule"))
    return {
        "query": query.pk,
        "alert": alert.pk,
        "incident": incident.pk,
        "job": job.pk,
        "alert_rule": rule.pk,
        "channel": channel.pk,
    }


def _webhooks(org: Organization, tag: str) -> dict[str, int]:
    endpoint = WebhookEndpoint.objects.create(
        organization=org, url=f"https://hooks.example.com/{marker(tag, 'webhook')}", events=["reply.sent"]
    )
    delivery = WebhookDelivery.objects.create(
        organization=org, endpoint=endpoint, event_type="reply.sent", event_id=marker(tag, "webhook_delivery"),
        payload={}, status=WebhookDelivery.State.GIVEN_UP,
    )  # fmt: skip
    return {"webhook": endpoint.pk, "webhook_delivery": delivery.pk}


def _seed(org: Organization, brand: Brand, tag: str, team: Team) -> dict[str, int]:
    return {
        **_conversation(org, brand, tag),
        **_workflow(org, brand, tag, team),
        **_listening(org, brand, tag),
        **_webhooks(org, tag),
    }


def _org(slug: str, brands: tuple[str, ...]) -> tuple[Organization, dict[str, Brand], Team]:
    org = Organization.objects.create(slug=slug, name=slug.title())
    made = {b: Brand.objects.create(organization=org, name=b, slug=f"{slug}-{b.lower()}", handles=[b]) for b in brands}
    TierRules.objects.create(organization=org)  # else the first page to read them creates them
    return org, made, Team.objects.create(organization=org, name=f"{slug} care")


def build_world() -> World:
    """Create both organisations, their members and one object of every kind per brand."""
    User = get_user_model()
    home, home_brands, home_team = _org("iso-home", ("H1", "H2"))
    other, other_brands, other_team = _org("iso-other", ("O1",))
    users: dict[str, Any] = {}
    for role in ROLES:
        user = User.objects.create_user(username=f"iso-{role}", password=PASSWORD)
        user.is_staff = role == Role.ADMIN  # as `hubbub user add --role admin` makes them
        user.save()
        membership = Membership.objects.create(
            user=user, organization=home, role=Role.AGENT if role == "restricted" else role
        )
        if role == "restricted":
            membership.brands.set([home_brands["H1"]])
        users[role] = user
    tokens = {role: ApiToken.issue(user, home.pk, "isolation")[1] for role, user in users.items()}
    world = World(home=home, other=other, users=users, tokens=tokens)
    world.ids["H1"] = _seed(home, home_brands["H1"], "H1", home_team)
    world.ids["H2"] = _seed(home, home_brands["H2"], "H2", home_team)
    world.ids["O1"] = _seed(other, other_brands["O1"], "O1", other_team)
    stranger = User.objects.create_user(username=marker("O1", "user"), password=PASSWORD)
    stranger_membership = Membership.objects.create(user=stranger, organization=other, role=Role.ADMIN)
    world.ids["O1"]["user"] = stranger.pk
    world.ids["O1"]["membership"] = stranger_membership.pk
    world.ids["O1"]["token"] = ApiToken.issue(stranger, other.pk, marker("O1", "token"))[0].pk
    world.ids["O1"]["saved_view"] = SavedView.objects.create(
        organization=other, user=stranger, name=marker("O1", "saved_view"), query="sentiment=negative"
    ).pk
    return world
