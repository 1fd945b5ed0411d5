"""Tenant isolation checks generated from the URL conf and the API's OpenAPI schema.

Why generated: a hand-written isolation test covers the endpoints someone remembered. Here every route of
the resolver (web pages and forms, the Django admin) and every operation of the ninja API is requested, by
every role, with the ids of another organisation's objects (and, for an agent restricted to one brand, of
another brand's), by GET and by each method that changes something. A check leaks when an answer shows a
foreign object's marker (`isolation_world`) or when a foreign row changed; every request runs in a
transaction that is rolled back, so the checks never disturb each other. Parameterless pages and list
endpoints are read by every role and must not show foreign markers either. An analyst (the lowest role)
must not change the own organisation's data through any mutating route but those in `ANALYST_MAY`.

`isolation_checks()` returns `(checks, leaks)` for `tests/security/test_isolation.py` and
`benchmarks/security.py` (`isolation_checks`, `isolation_leaks`); it needs a migrated, empty-enough database
(it creates the organisations `iso-home` and `iso-other`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import connection, transaction
from django.db.models import Model
from django.http import HttpResponseBase
from django.test import Client

from tests.security.isolation_world import BRAND_KINDS, ROLES, World, build_world, marker
from tests.security.routes import Route, all_routes

# Parameters named after what they hold: the kind of seeded object whose id fills them.
PARAM_KINDS = {
    "conversation_id": "conversation", "reply_id": "reply", "rule_id": "rule", "team_id": "team",
    "canned_id": "canned", "issue_id": "issue", "update_id": "update", "customer_id": "customer",
    "link_id": "link", "merge_id": "merge", "profile_id": "profile", "query_id": "query",
    "alert_id": "alert", "incident_id": "incident", "job_id": "job", "message_id": "message", "id": "user",
    "channel_id": "channel", "membership_id": "membership", "token_id": "token",
    "endpoint_id": "webhook", "delivery_id": "webhook_delivery", "view_id": "saved_view",
}  # fmt: skip
# The admin names its objects `object_id` (or `pk`); the model in the path says which kind (others: a
# conversation id, which the admin must refuse like any other).
ADMIN_KINDS = {
    "customer": "customer", "socialprofile": "profile", "identitylink": "link", "conversation": "conversation",
    "message": "message", "reply": "reply", "note": "note", "tag": "tag", "cannedresponse": "canned",
    "team": "team", "user": "user",
}  # fmt: skip

# Routes whose parameters the generator cannot fill from their names: the values to use. The test fails
# when one of these routes is gone, so the list never outlives what it describes.
FIXED: dict[str, dict[str, str]] = {
    # a parameter named `policy_id` (or `rule_id`) that is not a routing rule: the kind from the path
    "api/v1/workflow/sla-policies/<policy_id>": {"policy_id": "@sla_policy"},
    "api/v1/workflow/approval-policies/<policy_id>": {"policy_id": "@approval_policy"},
    "api/v1/listening/alert-rules/<rule_id>": {"rule_id": "@alert_rule"},
    # names of charts, reports, tables, confusion matrices, decisions and incident actions
    "api/v1/listening/charts/<name>": {"name": "volume"},
    "analysis/confusion/<str:name>.png": {"name": "sentiment"},
    "reports/export/<slug:name>/<slug:table>.csv": {"name": "volume", "table": "brands"},
    "customers/links/<int:link_id>/<str:decision>/": {"decision": "confirm"},
    "war-room/incidents/<int:incident_id>/<str:action>/": {"action": "close"},
    # a network's webhook intake: no session, the network's signature is the auth (tests/connectors/test_webhooks.py)
    "hooks/<str:network>/": {"network": "x"},
    # a password link: a user id (base64) and a token only its e-mail holds; a forged pair must be refused
    "account/set-password/<uidb64>/<token>/": {"uidb64": "MQ", "token": "forged-token"},
}
# Routes not requested at all, and why.
SKIPPED = {
    "live/": "the live stream never ends (tests/security/test_brand_restrictions.py covers it)",
    "logout/": "would end the session the next checks use",
    "admin/logout/": "would end the session the next checks use",
    "admin/r/<path:content_type_id>/<path:object_id>/": "the admin's view-on-site redirect: names no data",
    "admin/(?P<url>.*)$": "the admin's catch-all: no object",
    "admin/^(?P<app_label>*": "the admin's app index (its app list changes with the apps): no object",
}
# Mutating routes an analyst may use on the own organisation, and why (every other one must change nothing).
ANALYST_MAY: dict[str, str] = {
    # analysts run listening (docs: DESIGN "Who uses it"): they manage queries and acknowledge alerts
    "api/v1/listening/queries/<query_id>": "deleting a listening query",
    "listening/queries/<int:query_id>/delete/": "deleting a listening query",
    "listening/alerts/<int:alert_id>/ack/": "acknowledging an alert",
}
SAFE = ("GET",)


@dataclass(frozen=True)
class Leak:
    role: str
    method: str
    path: str
    status: int
    why: str


@dataclass(frozen=True)
class Operation:
    """One request shape: a route and a method (the API's from its schema; web routes are read and posted)."""

    route: Route
    method: str


def skipped(template: str) -> bool:
    """Whether `SKIPPED` names the route (a key ending in `*` names the routes it starts)."""
    return any(template == k or (k.endswith("*") and template.startswith(k[:-1])) for k in SKIPPED)


def operations() -> list[Operation]:
    """Every (route, method) to check, from the resolver and the OpenAPI schema."""
    from hubbub.api_site import api

    schema = api.get_openapi_schema()
    api_methods: dict[str, list[str]] = {}
    for path, methods in schema["paths"].items():
        template = re.sub(r"\{(\w+)\}", r"<\1>", path.lstrip("/"))
        api_methods[template] = [m.upper() for m in methods]
    found: list[Operation] = []
    for route in all_routes():
        if skipped(route.template):
            continue
        methods = api_methods.get(route.template, ["GET"]) if route.is_api else ["GET", "POST"]
        found += [Operation(route, m) for m in methods]
    return found


def _kind(route: Route, param: str) -> str | None:
    fixed = FIXED.get(route.template, {}).get(param)
    if fixed is not None:
        return fixed[1:] if fixed.startswith("@") else None
    if param in ("object_id", "pk") and route.is_admin:
        model = route.template.split("/")[2] if route.template.count("/") > 2 else ""
        return ADMIN_KINDS.get(model, "conversation")
    return PARAM_KINDS.get(param)


def fill(route: Route, ids: dict[str, int]) -> str | None:
    """The route's path with the ids of `ids` (one organisation and brand), or None when a parameter has no
    id of that kind there."""
    values: dict[str, object] = {}
    for param in route.params:
        kind = _kind(route, param)
        fixed = FIXED.get(route.template, {}).get(param)
        if kind is None and fixed is not None:
            values[param] = fixed
        elif kind is None:
            raise LookupError(f"{route.template}: no kind for <{param}>; name it in PARAM_KINDS or FIXED")
        elif kind not in ids:
            return None
        else:
            values[param] = ids[kind]
    return route.fill(values)


def unfillable() -> list[str]:
    """Routes with a parameter that neither its name nor `FIXED` explains (the test fails on any)."""
    bad = []
    for route in all_routes():
        if skipped(route.template):
            continue
        try:
            fill(route, {k: 1 for k in (*PARAM_KINDS.values(), *ADMIN_KINDS.values(), "sla_policy",
                                         "approval_policy", "alert_rule")})  # fmt: skip
        except LookupError as exc:
            bad.append(str(exc))
    return bad


def _fingerprint(rows: Any) -> str:
    return hashlib.sha256(repr(list(rows)).encode()).hexdigest()


def _tenant_models() -> list[type[Model]]:
    found = []
    for model in apps.get_models():
        names = {f.name for f in model._meta.concrete_fields}
        if "organization" in names:
            found.append(model)
    return found


def snapshot(org_id: int, brand_id: int | None = None) -> dict[str, str]:
    """A fingerprint of every tenant row of an organisation (or of one brand's rows of it), per model."""
    prints: dict[str, str] = {}
    for model in _tenant_models():
        names = {f.name for f in model._meta.concrete_fields}
        qs = model._default_manager.filter(organization_id=org_id)
        if brand_id is not None:
            if "brand" in names:
                qs = qs.filter(brand_id=brand_id)
            elif "conversation" in names:
                qs = qs.filter(conversation__brand_id=brand_id)
            else:
                continue
        fields = [f.attname for f in model._meta.concrete_fields if not getattr(f, "auto_now", False)]
        prints[model._meta.label] = _fingerprint(qs.order_by("pk").values_list(*fields))
    return prints


class Checker:
    """Runs the requests of one world and collects the leaks."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.checks = 0
        self.leaks: list[Leak] = []
        self.baselines: dict[str, dict[str, str]] = {}
        self.web: dict[str, Client] = {}
        self.api: dict[str, Client] = {}
        for role, user in world.users.items():
            client = Client(raise_request_exception=False)
            client.force_login(user)
            self.web[role] = client
            self.api[role] = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {world.tokens[role]}")

    def _send(self, role: str, op: Operation, path: str) -> HttpResponseBase:
        client = self.api[role] if op.route.is_api else self.web[role]
        if op.method == "GET":
            return client.get(path)
        if op.route.is_api:
            return client.generic(op.method, path, "{}", content_type="application/json")
        return client.post(path, {})

    def _baseline(self, protected: dict[str, Any]) -> dict[str, str]:
        key = repr(sorted(protected.items()))
        if key not in self.baselines:  # every request is rolled back: the rows are as first seen
            self.baselines[key] = snapshot(**protected)
        return self.baselines[key]

    def request(self, role: str, op: Operation, path: str, markers: set[str], protected: list[dict[str, Any]]) -> None:
        """One check: the answer shows none of `markers`, and the rows of `protected` snapshots stay as
        they were."""
        self.checks += 1
        before = [self._baseline(p) for p in protected]
        writes = _Writes()
        with transaction.atomic(), connection.execute_wrapper(writes):
            response = self._send(role, op, path)
            body = _body(response)
            # only a request that wrote anything can have changed a row: the others need no snapshot
            after = [snapshot(**p) for p in protected] if writes.seen else before
            transaction.set_rollback(True)
        status = response.status_code
        shown = sorted(m for m in markers if m in body)
        if 200 <= status < 300 and shown:
            self.leaks.append(Leak(role, op.method, path, status, f"shows {', '.join(shown)}"))
        changed = sorted({k for b, a in zip(before, after, strict=True) for k in b if b[k] != a.get(k)})
        if changed:
            self.leaks.append(Leak(role, op.method, path, status, f"changed {', '.join(changed)}"))


class _Writes:
    """A database execute wrapper that notes whether a statement wrote a tenant table (sessions aside)."""

    def __init__(self) -> None:
        self.seen = False

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        head = sql.lstrip()[:7].upper()
        if head.startswith(("INSERT", "UPDATE", "DELETE")) and "django_session" not in sql[:200]:
            self.seen = True
        return execute(sql, params, many, context)


def _body(response: HttpResponseBase) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")  # type: ignore[attr-defined]
    return response.content.decode(errors="replace")  # type: ignore[attr-defined]


def _cases(world: World) -> Iterator[tuple[str, Operation, str, set[str], list[dict[str, Any]]]]:
    home, other = world.home.pk, world.other.pk
    h2_brand = world.home.brands.get(name="H2").pk
    foreign_org = world.markers("O1")
    foreign_brand = world.markers("H2", BRAND_KINDS)
    for op in operations():
        mutating = op.method not in SAFE
        own_path = fill(op.route, world.ids["H1"])
        if not op.route.params:
            # a page or list names no object: read by every role, it must list no foreign row; posted (with an
            # empty form) it can name none, so only the analyst's post below is a check
            for role in ROLES if not mutating else ():
                markers = foreign_org | (foreign_brand if role == "restricted" else set())
                yield role, op, own_path or "", markers, []
            if mutating and op.route.template not in ANALYST_MAY:
                yield "analyst", op, own_path or "", set(), [{"org_id": home}]
            continue
        foreign_path = fill(op.route, world.ids["O1"])
        for role in ROLES:
            if foreign_path is not None:
                yield role, op, foreign_path, foreign_org, [{"org_id": other}] if mutating else []
        brand_kinds = {_kind(op.route, p) for p in op.route.params} - {None}
        brand_path = fill(op.route, world.ids["H2"])
        if brand_path is not None and brand_kinds <= BRAND_KINDS:
            protected = [{"org_id": home, "brand_id": h2_brand}] if mutating else []
            yield "restricted", op, brand_path, foreign_brand, protected
        if mutating and own_path is not None and op.route.template not in ANALYST_MAY:
            yield "analyst", op, own_path, set(), [{"org_id": home}]


def isolation_checks(world: World | None = None) -> tuple[int, list[Leak]]:
    """Build the world (unless given), run every check; (number of requests checked, leaks found)."""
    world = world or build_world()
    checker = Checker(world)
    for case in _cases(world):
        checker.request(*case)
    return checker.checks, checker.leaks


def shown_to_owner(world: World) -> set[str]:
    """The GET routes with ids whose answer shows the own object's marker to the own admin: what a leak would
    look like, so a test can prove the markers are seen where they should be."""
    checker = Checker(world)
    shown: set[str] = set()
    for op in operations():
        path = fill(op.route, world.ids["H1"]) if op.route.params and op.method == "GET" else None
        if path is None:
            continue
        with transaction.atomic():
            body = _body(checker._send("admin", op, path))
            transaction.set_rollback(True)
        kinds = {_kind(op.route, p) for p in op.route.params} - {None}
        if any(marker("H1", k) in body for k in kinds if k is not None):
            shown.add(op.route.template)
    return shown
