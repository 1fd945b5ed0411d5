"""Listening pages: queries (editor with live syntax check and preview), alerts, the war
room (wall screen), incidents and the temperature check.

Views only parse input (each write form into the API's own input, `listening.inputs`), check permission
(analysts may view and edit queries; supervisors run incidents and alert rules) and call services.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from ninja import Schema

from hubbub.api.schemas import Id
from hubbub.ids import parse_id
from hubbub.inputs import InvalidInput, form_input
from hubbub.listening import charts, services
from hubbub.listening.checks import run_temperature_check
from hubbub.listening.inputs import (
    AlertRuleIn,
    CloseIn,
    IncidentIn,
    IncidentLinkIn,
    IncidentNoteIn,
    QueryIn,
    StatementIn,
)
from hubbub.listening.learning import learning_status
from hubbub.listening.models import (
    MIN_VOLUME_DEFAULT,
    Alert,
    AlertRule,
    Grain,
    Incident,
    ListeningQuery,
    QueryRollup,
)
from hubbub.listening.query_language import QuerySyntaxError
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, get_scoped_or_404, scoped
from hubbub.web.views.common import scoped_view


def _selected_brand(request: HttpRequest, scope: Scope) -> int | None:
    raw = request.GET.get("brand") or request.session.get("brand_id")
    try:
        value = int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None
    return value if value in scope.brand_ids else None


# ------------------------------------------------------------------ queries


@scoped_view
def listening(request: HttpRequest, scope: Scope) -> HttpResponse:
    """Queries per brand (with matches in the last 7 days), recent alerts, alert rules."""
    queries = list(scoped(ListeningQuery.objects.select_related("brand"), scope))
    since = timezone.now() - timedelta(days=7)
    week = dict(
        QueryRollup.objects.filter(
            organization_id=scope.organization_id,
            query_id__in=[q.pk for q in queries],
            grain=Grain.DAY,
            bucket__gte=since.replace(hour=0, minute=0, second=0, microsecond=0),
        )
        .values_list("query_id")
        .annotate(n=Sum("total"))
        .values_list("query_id", "n")
    )
    for q in queries:
        q.week_matches = week.get(q.pk, 0)  # type: ignore[attr-defined]
    alerts = list(scoped(Alert.objects.select_related("brand"), scope)[:20])
    rules = list(scoped(AlertRule.objects.select_related("brand"), scope, brand_field=None))
    brands = list(scope.brands())
    return render(
        request,
        "listening/index.html",
        {
            "queries": queries,
            "alerts": alerts,
            "rules": rules,
            "brands": brands,
            "detector_status": learning_status(brands),
            "min_volume_default": MIN_VOLUME_DEFAULT,
        },
    )


def _query_form(request: HttpRequest, scope: Scope, instance: ListeningQuery | None) -> HttpResponse:
    brands = list(scope.brands())
    data: dict[str, Any] = {
        "name": instance.name if instance else "",
        "query": instance.query if instance else "",
        "brand_id": instance.brand_id if instance else (_selected_brand(request, scope) or ""),
        "is_active": instance.is_active if instance else True,
    }
    error = None
    if request.method == "POST":
        try:
            form = form_input(QueryIn, request.POST)  # the API's `POST /listening/queries` body
        except InvalidInput as exc:
            data = {**data, **exc.data, "is_active": exc.data.get("is_active", False)}
            error = {"message": str(exc), "position": None}
        else:
            data = form.model_dump()
            try:
                q = services.save_query(
                    scope,
                    brand_id=form.brand_id,
                    name=form.name,
                    query=form.query,
                    is_active=form.is_active,
                    instance=instance,
                )
            except QuerySyntaxError as exc:
                error = _syntax_error(form.query, exc)
            except services.QueryNameTaken as exc:
                error = {"message": str(exc), "position": None}
            else:
                messages.success(request, f"Saved “{q.name}”; it is matched on every new mention from now on.")
                return redirect("listening")
    return render(
        request,
        "listening/query_form.html",
        {"form": data, "instance": instance, "brands": brands, "error": error},
        status=400 if error else 200,
    )


@scoped_view
def query_new(request: HttpRequest, scope: Scope) -> HttpResponse:
    return _query_form(request, scope, None)


@scoped_view
def query_edit(request: HttpRequest, scope: Scope, query_id: int) -> HttpResponse:
    return _query_form(request, scope, get_scoped_or_404(ListeningQuery.objects.all(), scope, id=query_id))


@require_POST
@scoped_view
def query_delete(request: HttpRequest, scope: Scope, query_id: int) -> HttpResponse:
    q = get_scoped_or_404(ListeningQuery.objects.all(), scope, id=query_id)
    services.delete_query(scope, q)
    messages.success(request, "Query deleted.")
    return redirect("listening")


def _syntax_error(text: str, exc: QuerySyntaxError) -> dict[str, Any]:
    """The message plus the query split around the offending character, for underlining."""
    pos = max(0, min(exc.position, len(text)))
    return {
        "message": exc.message,
        "position": pos,
        "before": text[:pos],
        "at": text[pos : pos + 1] or " ",
        "after": text[pos + 1 :],
    }


@scoped_view
def query_check(request: HttpRequest, scope: Scope) -> HttpResponse:
    """htmx: syntax check as the user types; shows the error at its character or what was understood."""
    text = request.POST.get("query", "") if request.method == "POST" else request.GET.get("query", "")
    if not text.strip():
        return render(request, "listening/_query_check.html", {"empty": True})
    try:
        q = services.validate_query(text)
    except QuerySyntaxError as exc:
        return render(request, "listening/_query_check.html", {"error": _syntax_error(text, exc)})
    return render(request, "listening/_query_check.html", {"normalised": q.normalised(), "terms": q.terms()})


@scoped_view
def query_preview(request: HttpRequest, scope: Scope) -> HttpResponse:
    """htmx: matches of the query on the latest stored mentions."""
    text = request.POST.get("query", "") if request.method == "POST" else request.GET.get("query", "")
    brand = request.POST.get("brand_id") or request.GET.get("brand_id")
    brand_id = parse_id(brand)
    try:
        result = services.preview_query(scope, text, brand_id)
    except QuerySyntaxError as exc:
        return render(request, "listening/_query_preview.html", {"error": _syntax_error(text, exc)})
    return render(request, "listening/_query_preview.html", {"result": result})


# ------------------------------------------------------------------ alerts


@scoped_view
def alerts(request: HttpRequest, scope: Scope) -> HttpResponse:
    rows = scoped(Alert.objects.select_related("brand", "query"), scope)
    brand = _selected_brand(request, scope)
    if brand:
        rows = rows.filter(brand_id=brand)
    return render(request, "listening/alerts.html", {"alerts": rows[:200]})


@require_POST
@scoped_view
def alert_ack(request: HttpRequest, scope: Scope, alert_id: int) -> HttpResponse:
    services.acknowledge_alert(scope, get_scoped_or_404(Alert.objects.all(), scope, id=alert_id))
    return redirect(request.POST.get("next") or "listening_alerts")


@require_POST
@scoped_view
def rule_save(request: HttpRequest, scope: Scope) -> HttpResponse:
    """Create or change an alert rule (supervisors), read into the API's `AlertRuleIn`."""
    try:
        rule_id = form_input(RulePicked, request.POST).rule_id
    except InvalidInput:
        raise Http404("No such rule.") from None
    rule = get_scoped_or_404(AlertRule.objects.all(), scope, brand_field=None, id=rule_id) if rule_id else None
    try:
        services.save_alert_rule(scope, rule, form_input(AlertRuleIn, request.POST))
    except (ValueError, ValidationError) as exc:  # InvalidInput: the field and why; ValidationError: the model's
        messages.error(request, f"Rule not saved: {exc.messages[0] if isinstance(exc, ValidationError) else exc}")
    else:
        messages.success(request, "Alert rule saved; the detectors pick it up on their next run.")
    return redirect("listening")


class RulePicked(Schema):
    """Which alert rule the form edits (none: a new one)."""

    rule_id: Id | None = None


# ------------------------------------------------------------------ war room


@scoped_view
def war_room(request: HttpRequest, scope: Scope) -> HttpResponse:
    """The wall screen: big numbers and live charts, drawn from the chart API."""
    range_name = request.GET.get("range", "24h")
    if range_name not in charts.RANGES:
        range_name = "24h"
    brand = _selected_brand(request, scope)
    w = charts.resolve_window(scope, range_name, brand)
    summary = charts.summary(scope, w)
    incidents = scoped(Incident.objects.select_related("brand"), scope).filter(status=Incident.Status.OPEN)
    recent_alerts = scoped(Alert.objects.select_related("brand"), scope)[:6]
    shown = [b for b in scope.brands() if brand is None or b.pk == brand]
    # brands whose detectors have seen mentions and are learning them; one with none says "No mentions yet"
    learning = [s for s in learning_status(shown) if s.learning and s.until is not None]
    return render(
        request,
        "listening/war_room.html",
        {
            "range": range_name,
            "ranges": charts.RANGE_LABELS,
            "brand": brand,
            "window": w,
            "summary": summary,
            "incidents": incidents,
            "recent_alerts": recent_alerts,
            "learning": learning,
            "chart_config": {"range": range_name, "brand": brand, "end": request.GET.get("end", "auto")},
        },
    )


# ------------------------------------------------------------------ incidents


class IncidentForm(IncidentIn):
    """The alert row's "Open incident" button: the brand is the alert's unless the form names one."""

    brand_id: Id | None = None  # type: ignore[assignment]


@require_POST
@scoped_view
def incident_open(request: HttpRequest, scope: Scope) -> HttpResponse:
    try:
        form = form_input(IncidentForm, request.POST)
    except InvalidInput as exc:
        messages.error(request, f"Incident not opened: {exc}")
        return redirect("war_room")
    alert = get_scoped_or_404(Alert.objects.all(), scope, id=form.alert_id) if form.alert_id else None
    brand = form.brand_id or (alert.brand_id if alert else None)
    if brand is None or brand not in scope.brand_ids:
        messages.error(request, "Choose a brand for the incident.")
        return redirect("war_room")
    incident = services.open_incident(scope, brand, form.title, alert)
    return redirect("incident", incident_id=incident.pk)


@scoped_view
def incident(request: HttpRequest, scope: Scope, incident_id: int) -> HttpResponse:
    inc = get_scoped_or_404(Incident.objects.select_related("brand", "alert", "opened_by"), scope, id=incident_id)
    report = inc.report if inc.status == Incident.Status.CLOSED else services.incident_report(inc)
    links = inc.links.select_related("conversation__author").order_by("-added_at")
    return render(
        request,
        "listening/incident.html",
        {
            "incident": inc,
            "timeline": inc.timeline.select_related("actor"),
            "links": links,
            "report": report,
            "can_run": scope.can(Role.SUPERVISOR),
            "can_draft": scope.can(Role.AGENT),
        },
    )


@require_POST
@scoped_view
def incident_action(request: HttpRequest, scope: Scope, incident_id: int, action: str) -> HttpResponse:
    inc = get_scoped_or_404(Incident.objects.all(), scope, id=incident_id)
    p = request.POST
    try:
        if action == "draft":
            services.draft_statement(scope, inc, form_input(StatementIn, p).text)
        elif action == "approve":
            services.approve_statement(scope, inc)
        elif action == "send":
            services.send_statement(scope, inc)
        elif action == "link":
            n = services.link_conversations(scope, inc, form_input(IncidentLinkIn, p).conversation_ids)
            messages.success(request, f"{n} conversation(s) linked.")
        elif action == "track":
            issue_id = services.track_as_issue(scope, inc)
            return redirect("workflow:issue", issue_id=issue_id)
        elif action == "note":
            services.add_incident_note(scope, inc, form_input(IncidentNoteIn, p).text)
        elif action == "close":
            services.close_incident(scope, inc, form_input(CloseIn, p).summary)
            messages.success(request, "Incident closed; its report is below.")
        else:
            return HttpResponse("Unknown action", status=404)
    except ValueError as exc:  # InvalidInput included: the field and why
        messages.error(request, str(exc))
    return redirect("incident", incident_id=inc.pk)


# ------------------------------------------------------------------ temperature


@scoped_view
def temperature(request: HttpRequest, scope: Scope) -> HttpResponse:
    brands = list(scope.brands())
    idea = request.GET.get("idea", "").strip()
    brand = _selected_brand(request, scope) or (brands[0].pk if brands else None)
    result = None
    error = None
    if idea and brand:
        try:
            result = run_temperature_check(scope, brand, idea)
        except ValueError as exc:
            error = str(exc)
    return render(
        request,
        "listening/temperature.html",
        {"brands": brands, "brand": brand, "idea": idea, "result": result, "error": error},
    )
