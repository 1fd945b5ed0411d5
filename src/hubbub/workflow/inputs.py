"""The workflow's typed inputs: one schema per write, holding its rules, for the API and the web forms alike.

`workflow.api` takes them as request bodies; the settings, rules, canned, teams, issues, approvals and bulk
reply pages read their posted forms into them (`hubbub.inputs.form_input`); the services take the validated
instance. So a name left empty, a target of 0 minutes or an unknown template variable is refused with the same
words at either door, and the services keep only what needs the database or the caller's scope (that a brand,
team or canned response named is the organisation's, one default policy per brand).

Each class name is its component's name in the OpenAPI document (the responses are in `workflow.schemas`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import AfterValidator, BeforeValidator

from hubbub.api.schemas import Count, Id, IdList
from hubbub.inbox.inputs import ReplyText
from hubbub.inputs import Words, filled, refuse
from hubbub.tenancy.models import Role
from hubbub.workflow.hours import Calendar, parse_schedule_text, zone
from hubbub.workflow.models import AssignmentPolicy, Metric
from hubbub.workflow.rules import clean_actions, clean_conditions

NAME_MAX_CHARS = 120
BULK_REPLY_LIMIT = 100  # conversations in one bulk reply: the inbox's and `POST /api/v1/workflow/bulk-replies`
MAX_CAPACITY = 10_000  # far above any agent's load; bounded so the column (a 32-bit integer) can hold it
CANNED_VARIABLES = ("first_name", "agent_name", "case_number", "brand")
CANNED_NEEDS = "A canned response needs a title and a text."
PRIORITIES = ("0", "1", "2", "3")


def named(message: str) -> Callable[[str], str]:
    """A name: stripped, at most `NAME_MAX_CHARS`, refused with `message` when empty."""
    return filled(message, NAME_MAX_CHARS)


def _rule_language(clean: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The rule language's own cleaning (`workflow.rules`) as a schema rule: its refusal is the field's message."""

    def check(value: dict[str, Any]) -> dict[str, Any]:
        try:
            return clean(value)
        except (ValueError, TypeError) as exc:
            raise refuse(str(exc)) from None

    return check


def _some_action(actions: dict[str, Any]) -> dict[str, Any]:
    if not actions:
        raise refuse("A rule needs at least one action.")
    return actions


Conditions = Annotated[dict[str, Any], AfterValidator(_rule_language(clean_conditions))]


class RuleIn(Schema):
    name: Annotated[str, AfterValidator(named("A rule needs a name."))]
    conditions: Conditions = {}
    actions: Annotated[dict[str, Any], AfterValidator(_rule_language(clean_actions)), AfterValidator(_some_action)] = (
        Field({}, validate_default=True)  # a rule sent without actions is refused like one with none
    )
    is_active: bool = True
    stop_processing: bool = False


class PreviewIn(Schema):
    conditions: Conditions = {}


def _targets(targets: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Minutes by metric and priority (0-3), each positive; metrics without a target left out."""
    out: dict[str, dict[str, int]] = {}
    for metric, per in targets.items():
        if metric not in Metric.values:
            raise refuse(f"Unknown metric {metric!r}; targets are for {', '.join(Metric.values)}.")
        if any(str(prio) not in PRIORITIES or minutes <= 0 for prio, minutes in per.items()):
            raise refuse("Targets are positive minutes per priority 0-3.")
        if per:
            out[metric] = {str(prio): minutes for prio, minutes in per.items()}
    return out


def _warn_at(pct: int) -> int:
    if not 1 <= pct <= 99:
        raise refuse("Warn at a percentage between 1 and 99.")
    return pct


class SLAPolicyIn(Schema):
    """Targets are minutes by metric and priority, `{"first_response": {"3": 15}}` (a form posts
    `targets.first_response.3`)."""

    name: Annotated[str, AfterValidator(named("An SLA policy needs a name."))]
    targets: Annotated[dict[str, dict[str, Count]], AfterValidator(_targets)] = {}
    business_hours_id: Id | None = None
    brand_id: Id | None = None
    warn_at_pct: Annotated[int, AfterValidator(_warn_at)] = 75
    is_default: bool = False


def _timezone(name: str) -> str:
    name = name.strip() or "UTC"
    if zone(name).key != name and name != "UTC":
        raise refuse(f"Unknown time zone {name!r}.")
    return name


def _schedule(value: dict[str, list[list[str]]] | str) -> dict[str, list[list[str]]]:
    """Opening hours by weekday (0 = Monday), or their text form ("mon-fri 09:00-17:00", one per line)."""
    try:
        schedule = parse_schedule_text(value) if isinstance(value, str) else value
        Calendar.build("UTC", schedule, [])
    except ValueError as exc:
        raise refuse(str(exc) if isinstance(value, str) else f"Opening hours are 'HH:MM' pairs ({exc}).") from None
    return schedule


def _split_days(value: Any) -> Any:
    return [d for d in re.split(r"[,\s]+", value) if d] if isinstance(value, str) else value


def _days(holidays: list[str]) -> list[str]:
    try:
        return sorted({date.fromisoformat(day.strip()).isoformat() for day in holidays})
    except ValueError as exc:
        raise refuse(f"Holidays must be dates like 2026-12-25 ({exc}).") from None


class BusinessHoursIn(Schema):
    name: Annotated[str, AfterValidator(named("Business hours need a name."))]
    timezone: Annotated[str, AfterValidator(_timezone)] = "UTC"
    schedule: Annotated[dict[str, list[list[str]]] | str, AfterValidator(_schedule)] = {}
    holidays: Annotated[list[str], BeforeValidator(_split_days), AfterValidator(_days)] = []


def _roles(roles: list[str]) -> list[str]:
    if not set(roles) <= set(Role.values):
        raise refuse(f"Roles are {', '.join(Role.values)}.")
    return roles


def _lower(words: list[str]) -> list[str]:
    return [w.lower() for w in words]


class ApprovalPolicyIn(Schema):
    name: Annotated[str, AfterValidator(named("An approval policy needs a name."))]
    is_active: bool = True
    roles: Annotated[Words, AfterValidator(_roles)] = []
    brand_ids: list[Id] = []
    intents: Words = []
    topics: Words = []
    sensitive_words: Annotated[Words, AfterValidator(_lower)] = []
    during_incident: bool = False


def _known_variables(body: str) -> str:
    unknown = set(re.findall(r"\{(\w+)\}", body)) - set(CANNED_VARIABLES)
    if unknown:
        raise refuse(f"Unknown variable(s): {', '.join(sorted(unknown))}.")
    return body


class CannedIn(Schema):
    """A canned response; the body may use {first_name}, {agent_name}, {case_number} and {brand}."""

    title: Annotated[str, AfterValidator(filled(CANNED_NEEDS, NAME_MAX_CHARS))]
    body: Annotated[str, AfterValidator(filled(CANNED_NEEDS)), AfterValidator(_known_variables)]
    brand_id: Id | None = None


class BulkReplyIn(Schema):
    conversation_ids: IdList = Field(
        description=f"1 to {BULK_REPLY_LIMIT} conversation ids, each at most once (else 400)"
    )
    text: ReplyText  # the rule of every reply (`inbox.inputs`)


class IssueIn(Schema):
    brand_id: Id
    title: Annotated[str, AfterValidator(filled("Give the issue a title, e.g. 'Outage on check-in'.", 200))]
    conversation_ids: IdList = []


class LinkIn(Schema):
    conversation_ids: IdList


class UnlinkIn(Schema):
    """The issue page's "unlink" button (no API endpoint: linking is additive there)."""

    conversation_id: Id


class UpdateIn(Schema):
    text: Annotated[str, AfterValidator(filled("The update is empty."))]
    closing: bool = False


class AvailabilityIn(Schema):
    available: bool
    user_id: Id | None = None


def _mode(mode: str) -> str:
    if mode not in AssignmentPolicy.Mode.values:
        raise refuse(f"Mode is one of {', '.join(AssignmentPolicy.Mode.values)}.")
    return mode


def _capacity(capacity: int) -> int:
    if not 1 <= capacity <= MAX_CAPACITY:
        raise refuse(f"Capacity is between 1 and {MAX_CAPACITY:,} open conversations per agent.")
    return capacity


class AssignmentIn(Schema):
    mode: Annotated[str, AfterValidator(_mode)]
    capacity: Annotated[int, AfterValidator(_capacity)] = 20
