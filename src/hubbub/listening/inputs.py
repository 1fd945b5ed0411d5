"""The listening app's typed inputs: one schema per write, for the API and the web forms alike.

`listening.api` takes them as request bodies; the query editor, the alert-rule form and the incident page read
their posted forms into them (`hubbub.inputs.form_input`); the services take the validated values. What needs
the caller's scope or the outbound policy (a brand of yours, a webhook address Hubbub may call) and the query
language itself (its errors point at a character) stay in the services, so both doors still say the same.

Each class name is its component's name in the OpenAPI document.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import AfterValidator, BeforeValidator, model_validator

from hubbub.api.schemas import Id, IdList
from hubbub.inputs import filled, refuse
from hubbub.listening.models import MIN_VOLUME_DEFAULT

NAME_MAX_CHARS = 120
QUIET_MODES = ("defer", "suppress")
SMALL_INT_MAX = 32_767  # a PositiveSmallIntegerField
INT_MAX = 2_147_483_647


class QueryIn(Schema):
    brand_id: Id = Field(title="Brand")
    name: str = ""  # empty: the query's own text names it
    query: str
    is_active: bool = True


def _rule_name(name: str) -> str:
    return name.strip()[:NAME_MAX_CHARS] or "Default"


def _sensitivity(value: float) -> float:
    if not math.isfinite(value) or value <= 0:
        raise refuse("Sensitivity must be above 0 (1 is the default).")
    return value


def _hour(value: int | None) -> int | None:
    if value is not None and not 0 <= value <= 23:
        raise refuse("Quiet hours are hours of the day, 0 to 23.")
    return value


def _quiet_mode(value: str) -> str:
    if value not in QUIET_MODES:
        raise refuse("In quiet hours alerts are deferred (defer) or dropped (suppress).")
    return value


def _addresses(value: Any) -> Any:
    """Email addresses as a list, or typed in one box, separated by commas, semicolons or spaces."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        return [a for v in value for a in (re.split(r"[,;\s]+", v) if isinstance(v, str) else [v]) if a]
    return value


def _emails(addresses: list[str]) -> list[str]:
    for address in addresses:
        if "@" not in address.strip("@"):
            raise refuse(f"{address!r} is not an email address.")
    return addresses


Hour = Annotated[int | None, AfterValidator(_hour)]


class AlertRuleIn(Schema):
    name: Annotated[str, AfterValidator(_rule_name)] = "Default"
    brand_id: Id | None = None
    is_active: bool = True
    sensitivity: Annotated[float, AfterValidator(_sensitivity)] = 1.0
    min_volume: int = Field(MIN_VOLUME_DEFAULT, ge=0, le=INT_MAX)
    quiet_start: Hour = None
    quiet_end: Hour = None
    quiet_mode: Annotated[str, AfterValidator(_quiet_mode)] = "defer"
    tz_offset_minutes: int = Field(0, ge=-24 * 60, le=24 * 60)
    max_alerts_per_hour: int = Field(4, ge=0, le=SMALL_INT_MAX)
    kinds: list[str] = []
    email_to: Annotated[list[str], BeforeValidator(_addresses), AfterValidator(_emails)] = []
    webhook_url: Annotated[str, AfterValidator(str.strip)] = ""

    @model_validator(mode="after")
    def _both_quiet_ends(self) -> AlertRuleIn:
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise refuse("Give both ends of the quiet hours, or neither.")
        return self


class IncidentIn(Schema):
    brand_id: Id = Field(title="Brand")
    title: str = ""
    alert_id: Id | None = None


class CloseIn(Schema):
    summary: str = ""


class StatementIn(Schema):
    """The incident's holding statement (drafted on the incident page; no API endpoint yet)."""

    text: Annotated[str, AfterValidator(filled("The holding statement is empty."))]


class IncidentNoteIn(Schema):
    """A note on the incident's timeline (the incident page)."""

    text: Annotated[str, AfterValidator(filled("The note is empty."))]


class IncidentLinkIn(Schema):
    """Conversations to link to the incident: ids, or typed in one box ("#12 #15")."""

    conversation_ids: IdList = []
