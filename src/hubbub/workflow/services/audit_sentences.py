"""Audit entries as sentences a supervisor can read: "alice assigned conversation #42 to bob (team Care)".

The entries store ids (`{'old': 1, 'new': 3, 'team': None}`) because names change; the page resolves them
when it shows a page of entries: one query per kind (users, teams, brands) for the whole page, never one per
row, and only within the entries' organisation, so a stray id never shows another organisation's names.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model

from hubbub.tenancy.models import AuditEvent, Brand, Team

__all__ = ["Names", "describe", "resolve_names"]

# data keys holding ids, whatever the verb
_KEY_KINDS = {
    "user": "user",
    "user_id": "user",
    "assignee": "user",
    "assignee_id": "user",
    "approver": "user",
    "approver_id": "user",
    "team": "team",
    "team_id": "team",
    "brand": "brand",
    "brand_id": "brand",
}
# verbs whose old/new values are user ids (elsewhere they are states, names, numbers)
_OLD_NEW_USERS = {"conversation.assign"}

_PAST = {
    "assign": "assigned",
    "approve": "approved",
    "reject": "rejected",
    "create": "created",
    "created": "created",
    "save": "saved",
    "update": "updated",
    "updated": "updated",
    "delete": "deleted",
    "deleted": "deleted",
    "move": "moved",
    "open": "opened",
    "close": "closed",
    "link": "linked",
    "unlink": "unlinked",
    "sent": "sent",
    "send": "sent",
    "retry": "retried",
    "failed": "recorded a failed delivery of",
    "note": "added a note to",
    "tags": "changed the tags of",
    "status": "changed the status of",
}


@dataclass(slots=True)
class Names:
    """Display names of the users, teams and brands a page of entries mentions."""

    users: dict[int, str] = field(default_factory=dict)
    teams: dict[int, str] = field(default_factory=dict)
    brands: dict[int, str] = field(default_factory=dict)

    def of(self, kind: str, value: Any) -> str:
        table = {"user": self.users, "team": self.teams, "brand": self.brands}[kind]
        if isinstance(value, int) and value in table:
            return table[value]
        return f"{kind} #{value}" if value is not None else "nobody"


def _ids(events: Iterable[AuditEvent]) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {"user": set(), "team": set(), "brand": set()}
    for e in events:
        data = e.data if isinstance(e.data, dict) else {}
        for key, value in data.items():
            kind = _KEY_KINDS.get(key) or ("user" if key in ("old", "new") and e.verb in _OLD_NEW_USERS else None)
            if kind and isinstance(value, int) and not isinstance(value, bool):
                found[kind].add(value)
    return found


def resolve_names(organization_id: int, events: list[AuditEvent]) -> Names:
    """The names a page of entries needs, three queries at most whatever its length."""
    ids = _ids(events)
    names = Names()
    if ids["user"]:
        users = get_user_model().objects.filter(pk__in=ids["user"], memberships__organization_id=organization_id)
        names.users = {pk: username for pk, username in users.values_list("pk", "username")}
    if ids["team"]:
        teams = Team.objects.filter(pk__in=ids["team"], organization_id=organization_id)
        names.teams = dict(teams.values_list("pk", "name"))
    if ids["brand"]:
        brands = Brand.objects.filter(pk__in=ids["brand"], organization_id=organization_id)
        names.brands = dict(brands.values_list("pk", "name"))
    return names


@functools.cache
def _verbose_names() -> dict[str, str]:
    """`routingrule` -> `routing rule`: entries store the model name, people read the verbose one."""
    return {m._meta.model_name or "": str(m._meta.verbose_name) for m in apps.get_models()}


def _target(e: AuditEvent) -> str:
    kind = e.target_type or e.verb.rsplit(".", 1)[0].rsplit(".", 1)[-1]
    kind = _verbose_names().get(kind, kind.replace("_", " "))
    return f"{kind} #{e.target_id}" if e.target_id else kind


def _value(key: str, value: Any, verb: str, names: Names) -> str:
    kind = _KEY_KINDS.get(key) or ("user" if key in ("old", "new") and verb in _OLD_NEW_USERS else None)
    if kind:
        return names.of(kind, value)
    if isinstance(value, dict):
        return ", ".join(f"{k.replace('_', ' ')} {_value(k, v, verb, names)}" for k, v in value.items()) or "none"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "none"
    if value is None or value == "":
        return "none"
    return str(value)


def _details(e: AuditEvent, data: Mapping[str, Any], names: Names) -> str:
    parts = []
    if "old" in data and "new" in data:
        old, new = (_value(k, data[k], e.verb, names) for k in ("old", "new"))
        parts.append(f"from {old} to {new}")
    for key, value in data.items():
        if key in ("old", "new", "auto") or value is None:
            continue
        parts.append(f"{key.replace('_', ' ')}: {_value(key, value, e.verb, names)}")
    return " (" + "; ".join(parts) + ")" if parts else ""


def _assign_sentence(who: str, e: AuditEvent, data: Mapping[str, Any], names: Names) -> str:
    new = data.get("new")
    if new is None:
        text = f"{who} unassigned {_target(e)}"
    else:
        text = f"{who} assigned {_target(e)} to {names.of('user', new)}"
    if data.get("team") is not None:
        text += f" (team {names.of('team', data['team'])})"
    if data.get("old") is not None:
        text += f", previously {names.of('user', data['old'])}"
    return text + ("" if not data.get("auto") else ", automatically by the routing rules")


def describe(e: AuditEvent, names: Names) -> str:
    """One sentence for an entry: who did what to which record, with ids turned into names."""
    who = e.actor.get_username() if e.actor_id and e.actor is not None else "Hubbub"
    data = e.data if isinstance(e.data, dict) else {"details": e.data}
    if e.verb in _OLD_NEW_USERS:
        return _assign_sentence(who, e, data, names) + "."
    action = _PAST.get(e.verb.rsplit(".", 1)[-1])
    if action is None:
        return f"{who} recorded “{e.verb}” on {_target(e)}{_details(e, data, names)}."
    return f"{who} {action} {_target(e)}{_details(e, data, names)}."
