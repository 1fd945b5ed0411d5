"""The CRM's typed inputs: one schema per write, for the API and the customer pages alike.

`crm.api` takes them as request bodies; the customer list, customer page, conversation panel and loyalty rules
read their posted forms into them (`hubbub.inputs.form_input`). The services keep what needs the organisation
(the customers and profiles named are its own) and the identity logic.

Each class name is its component's name in the OpenAPI document.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import AfterValidator, BeforeValidator, StringConstraints, model_validator

from hubbub.api.schemas import Id
from hubbub.crm.models import Interaction
from hubbub.inputs import refuse

INTERACTION_MAX_CHARS = 5_000


def _handles(value: Any) -> Any:
    """Handles as a list, or typed in one box ("annlee, @ann_m"): without the @, empty ones dropped."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        # a value that is not text is left as it is, for the list's own type check to refuse (422), not to break
        parts = [re.split(r"[,\s]+", v) if isinstance(v, str) else [v] for v in value]
        return [h.lstrip("@") if isinstance(h, str) else h for part in parts for h in part if h != ""]
    return value


def _kind(kind: str) -> str:
    if kind not in Interaction.Kind.values:
        raise refuse(f"Unknown kind {kind!r}; use one of {', '.join(Interaction.Kind.values)}.")
    return kind


# Text fields, stripped, at most as long as their columns.
Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)]
ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
Handles = Annotated[list[Annotated[str, StringConstraints(max_length=200)]], BeforeValidator(_handles)]


class CustomerIn(Schema):
    """A new customer: at least one thing that identifies them (a name, email, phone, handle or external id)."""

    name: Name = ""
    email: Email = ""
    phone: Phone = ""
    address: str = ""
    location: Name = ""
    handles: Handles = []
    external_id: ExternalId = ""
    custom_fields: dict[str, Any] = {}

    @model_validator(mode="after")
    def _someone(self) -> CustomerIn:
        if not (self.name or self.email or self.phone or self.handles or self.external_id):
            raise refuse("Give at least a name, an email, a phone number, a handle or an external id.")
        return self


class CustomerPatch(Schema):
    """Change some of a customer's fields (those left out, or null, stay as they are)."""

    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    address: str | None = None
    location: Name | None = None
    handles: Handles | None = None
    external_id: ExternalId | None = None
    custom_fields: dict[str, Any] | None = None


class MergeIn(Schema):
    other_id: Id = Field(title="Customer to merge in")


class LinkIn(Schema):
    """Link a social profile to a customer by hand (the API names the profile, the customer is the path's)."""

    profile_id: Id


class ProfileLinkIn(Schema):
    """The same link from the conversation's panel, where the profile is the path's and the form names the
    customer."""

    customer_id: Id = Field(title="Customer number")


class InteractionIn(Schema):
    """A phone call, an email or a note an agent logs on a customer, with an optional CSAT score."""

    kind: Annotated[str, AfterValidator(_kind)] = Interaction.Kind.NOTE
    text: Annotated[str, StringConstraints(strip_whitespace=True, max_length=INTERACTION_MAX_CHARS)] = ""
    score: int | None = Field(None, ge=0, le=10)

    @model_validator(mode="after")
    def _something(self) -> InteractionIn:
        if not self.text and self.score is None:
            raise refuse("Write what happened.")
        return self


class TierRulesIn(Schema):
    """The loyalty rules and the identity-matching thresholds of the organisation (those left out stay)."""

    regular_min_orders: int | None = Field(None, ge=0, le=2_147_483_647)
    loyal_min_orders: int | None = Field(None, ge=0, le=2_147_483_647)
    loyal_min_value: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    auto_link_threshold: float | None = Field(None, ge=0, le=1)
    suggest_threshold: float | None = Field(None, ge=0, le=1)
