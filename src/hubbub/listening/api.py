"""Listening API (mounted under /api/v1/): chart data, queries, alerts, incidents, temperature check.

The war room page draws its charts from these same endpoints. Analysts may
read everything here and edit queries; supervisors run incidents. The request bodies of the writes are the
listening inputs (`listening.inputs`), which the web forms read too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from ninja import Query as QueryParam
from ninja import Router, Schema, Status

from hubbub.api.auth import request_scope
from hubbub.api.crud import Crud, Endpoint, register_crud
from hubbub.api.schemas import ErrorOut, Id, answers
from hubbub.listening import charts, services
from hubbub.listening.checks import run_temperature_check
from hubbub.listening.detection import alert_data
from hubbub.listening.inputs import AlertRuleIn, CloseIn, IncidentIn, QueryIn
from hubbub.listening.models import Alert, AlertRule, Incident, ListeningQuery
from hubbub.listening.query_language import QuerySyntaxError
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, get_scoped_or_404, require_role, scoped

router = Router(tags=["listening"])


class ChartParams(Schema):
    range: str = "24h"
    brand: Id | None = None
    end: str = "auto"


@router.get("/listening/charts/{name}", response=answers(dict[str, Any], 404), summary="War room chart data")
def chart(request: HttpRequest, name: str, params: QueryParam[ChartParams]) -> Any:  # type: ignore[type-arg]
    """One chart of the war room: `summary`, `volume`, `sentiment`, `share-of-voice`, `languages`,
    `places` (the map: US states and countries),
    `queries`, `top-authors`, `top-posts` or `emerging-terms`, for `range` (1h, 6h, 24h, 7d, 30d, 90d, 1y)
    ending at `end` (ISO time, `now`, or `auto` = now unless the range is empty, then the latest data)."""
    scope = request_scope(request)
    fn = charts.CHARTS.get(name)
    if fn is None:
        raise Http404(f"Unknown chart {name!r}; charts: {', '.join(charts.CHARTS)}")
    if params.brand is not None and params.brand not in scope.brand_ids:
        raise Http404("Not found")
    w = charts.resolve_window(scope, params.range, params.brand, params.end)
    return fn(scope, w)


class QueryOut(Schema):
    id: int
    brand_id: int
    name: str
    query: str
    is_active: bool
    created_at: datetime


class ValidateIn(Schema):
    query: str


class QueryErrorOut(Schema):
    detail: str
    position: int | None = None  # 0-based character of the problem


@router.post("/listening/queries/validate", response=answers(dict[str, Any]), summary="Check a query's syntax")
def validate(request: HttpRequest, body: ValidateIn) -> Any:
    """`{"ok": true, "normalised": ...}` or `{"ok": false, "error": ..., "position": n}` (0-based character)."""
    request_scope(request)
    try:
        q = services.validate_query(body.query)
    except QuerySyntaxError as exc:
        return {"ok": False, "error": exc.message, "position": exc.position}
    return {"ok": True, "normalised": q.normalised(), "terms": q.terms()}


def _create_query(scope: Scope, data: QueryIn) -> Any:
    """A query on one of the caller's brands (else 404); a syntax error (limits included) is a 400 that says
    where, a name the brand already uses a 409."""
    if data.brand_id not in scope.brand_ids:
        return Status(404, {"detail": "Not found"})
    try:
        return services.save_query(
            scope, brand_id=data.brand_id, name=data.name, query=data.query, is_active=data.is_active
        )
    except QuerySyntaxError as exc:
        return Status(400, {"detail": str(exc), "position": exc.position})
    except services.QueryNameTaken as exc:
        return Status(409, {"detail": str(exc)})


register_crud(
    router,
    Crud(__name__, "/listening/queries", QueryIn, QueryOut, ListeningQuery.objects.all, "query_id", "brand_id"),
    rows=(Endpoint("list_queries"), lambda scope: scoped(ListeningQuery.objects.all(), scope)),
    create=(Endpoint("create_query", errors={400: QueryErrorOut, 404: ErrorOut, 409: ErrorOut}), _create_query),
    delete=(Endpoint("delete_query"), services.delete_query),
)


class AlertRuleOut(Schema):
    """A stored alert rule (not `AlertRuleIn`: an answer is not checked again like a new input)."""

    name: str
    brand_id: int | None
    is_active: bool
    sensitivity: float
    min_volume: int
    quiet_start: int | None
    quiet_end: int | None
    quiet_mode: str
    tz_offset_minutes: int
    max_alerts_per_hour: int
    kinds: list[str]
    email_to: list[str]
    webhook_url: str
    id: int


def _rules(scope: Scope) -> Any:
    """Supervisors only: a rule's webhook URL is a credential of the chat room it posts to."""
    require_role(scope, Role.SUPERVISOR)
    return scoped(AlertRule.objects.all(), scope, brand_field=None)


def _save_rule(scope: Scope, rule: AlertRule | None, data: AlertRuleIn) -> Any:
    """The rule saved, or a 422 that says why not (a webhook address that is not allowed, bad quiet hours)."""
    try:
        return services.save_alert_rule(scope, rule, data)
    except ValidationError as exc:
        return Status(422, {"detail": "; ".join(exc.messages)})
    except ValueError as exc:  # the webhook address refused (`InvalidInput`)
        return Status(422, {"detail": str(exc)})


register_crud(
    router,
    Crud(__name__, "/listening/alert-rules", AlertRuleIn, AlertRuleOut, AlertRule.objects.all, "rule_id"),
    rows=(Endpoint("list_alert_rules"), _rules),
    create=(Endpoint("create_alert_rule", errors={422: dict}), lambda scope, data: _save_rule(scope, None, data)),
    update=(Endpoint("update_alert_rule", errors={404: dict, 422: dict}), _save_rule),
)


def _alert_out(a: Alert) -> dict[str, Any]:
    """The alert as the `alert.raised` webhook carries it, plus how it was sent and whether it was seen."""
    return {
        **alert_data(a),
        "notified": a.notified,
        "acknowledged_at": a.acknowledged_at.isoformat() if a.acknowledged_at else None,
    }


@router.get("/listening/alerts", response=answers(list[dict[str, Any]]))
def list_alerts(
    request: HttpRequest,
    brand: Id | None = None,
    limit: int = QueryParam(50, ge=1, le=200),  # type: ignore[type-arg]
) -> Any:
    scope = request_scope(request)
    qs = scoped(Alert.objects.all(), scope)
    if brand is not None:
        qs = qs.filter(brand_id=brand)
    return [_alert_out(a) for a in qs[:limit]]


def _incident_out(i: Incident) -> dict[str, Any]:
    return {
        "id": i.pk,
        "brand_id": i.brand_id,
        "alert_id": i.alert_id,
        "title": i.title,
        "status": i.status,
        "opened_at": i.opened_at.isoformat(),
        "closed_at": i.closed_at.isoformat() if i.closed_at else None,
        "holding_statement": i.holding_statement,
        "statement_state": i.statement_state,
        "report": i.report,
        "timeline": [
            {
                "at": e.created_at.isoformat(),
                "verb": e.verb,
                "text": e.text,
                "actor": e.actor.get_username() if e.actor else None,
            }
            for e in i.timeline.select_related("actor")
        ],
    }


@router.get("/listening/incidents", response=answers(list[dict[str, Any]]))
def list_incidents(request: HttpRequest, status: str | None = None) -> Any:
    qs = scoped(Incident.objects.all(), request_scope(request))
    if status:
        qs = qs.filter(status=status)
    return [_incident_out(i) for i in qs[:100]]


@router.post("/listening/incidents", response=answers({201: dict[str, Any]}, 404))
def create_incident(request: HttpRequest, body: IncidentIn) -> Any:
    scope = request_scope(request)
    if body.brand_id not in scope.brand_ids:
        return Status(404, {"detail": "Not found"})
    alert = get_scoped_or_404(Alert.objects.all(), scope, id=body.alert_id) if body.alert_id else None
    incident = services.open_incident(scope, body.brand_id, body.title, alert)
    return Status(201, _incident_out(incident))


@router.get("/listening/incidents/{incident_id}", response=answers(dict[str, Any], 404))
def get_incident(request: HttpRequest, incident_id: Id) -> Any:
    return _incident_out(get_scoped_or_404(Incident.objects.all(), request_scope(request), id=incident_id))


@router.post("/listening/incidents/{incident_id}/close", response=answers(dict[str, Any], 404))
def close_incident(request: HttpRequest, incident_id: Id, body: CloseIn) -> Any:
    scope = request_scope(request)
    incident = get_scoped_or_404(Incident.objects.all(), scope, id=incident_id)
    return _incident_out(services.close_incident(scope, incident, body.summary))


class TemperatureIn(Schema):
    brand_id: Id
    idea: str


@router.post(
    "/listening/temperature", response=answers(dict[str, Any], 404), summary="Temperature check for a campaign idea"
)
def temperature(request: HttpRequest, body: TemperatureIn) -> Any:
    """Risk score 0-100 with reasons, recent volume/sentiment around the terms and the brand,
    negative themes with example posts, and how the brand's past hashtags fared."""
    scope = request_scope(request)
    if body.brand_id not in scope.brand_ids:
        raise Http404("Not found")
    result = run_temperature_check(scope, body.brand_id, body.idea)
    return _jsonable(result)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
