"""Moving a user between the organisations they belong to (an agency's staff work for several clients).

The session's `organization_id` is what `TenancyMiddleware` reads to build the scope; it is only ever set
here, after the membership was checked, so a crafted id can never open another organisation's data.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.sessions.backends.base import SessionBase
from django.http import Http404

from hubbub.ids import storable
from hubbub.tenancy.models import Membership, Organization
from hubbub.tenancy.services import audit

SESSION_KEY = "organization_id"
# The brand filter names a brand of the organisation it was chosen in: it would hide everything in the next.
BRAND_KEY = "brand_id"


def memberships_of(user: AbstractBaseUser) -> list[Membership]:
    """The user's memberships, organisation loaded, in a stable order (the switcher's options)."""
    return list(
        Membership.objects.select_related("organization").filter(user_id=user.pk).order_by("organization__name")
    )


def switch_organization(user: AbstractBaseUser, session: SessionBase, organization_id: object) -> Organization:
    """Make `organization_id` the session's organisation. 404 (not 403) when the user is no member of it:
    whether an organisation exists is not revealed. Audited in the organisation switched to, and the brand
    filter is reset."""
    if not (isinstance(organization_id, int) or (isinstance(organization_id, str) and organization_id.isdigit())):
        raise Http404("Not found")
    org_id = int(organization_id)
    if not storable(org_id):
        raise Http404("Not found")
    membership = (
        Membership.objects.select_related("organization").filter(user_id=user.pk, organization_id=org_id).first()
    )
    if membership is None:
        raise Http404("Not found")
    previous = session.get(SESSION_KEY)
    session[SESSION_KEY] = org_id
    session.pop(BRAND_KEY, None)
    audit(org_id, user, "organization.switched", membership.organization, previous_organization_id=previous)
    return membership.organization
