"""Survey API (mounted under /api/v1/): push survey responses (a survey tool's webhook, an integration) and
read them back. Endpoints parse, check the scope and call `insights.importing`, the same path as
`hubbub import surveys` and the upload on the voice-of-the-customer page."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from hubbub.api.auth import request_scope
from hubbub.api.schemas import Count, Id, answers
from hubbub.insights import importing
from hubbub.insights.models import SurveyResponse
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import require_role

router = Router(tags=["insights"])


class SurveyBatchIn(Schema):
    scale: str  # csat, nps or MIN-MAX (e.g. 1-7): a single response cannot tell its scale
    brand_id: Id | None = None  # the brand of responses that name none
    # Each: score and submitted_at (required), comment, external_id, email, customer_id, brand, channel.
    # Objects, not a typed schema: a bad response is rejected on its own with its reason, not the whole batch.
    responses: list[Any]


class RowError(Schema):
    row: int
    reason: str


class SurveyBatchOut(Schema):
    read: int
    imported: int
    updated: int
    rejected: int
    duplicates: int
    truncated: int
    linked: int
    scale: str
    rejection_reasons: dict[str, int]
    errors: list[RowError]


class SurveyOut(Schema):
    id: int
    external_id: str
    brand_id: int | None
    submitted_at: datetime
    score: Decimal
    scale: str
    scale_min: Decimal
    scale_max: Decimal
    customer_id: int | None
    channel: str
    comment: str
    sentiment: str
    intent: str
    topic: str


class SurveyListParams(Schema):
    limit: int = Field(100, ge=1, le=500)
    offset: Count = 0
    brand: Id | None = None
    since: datetime | None = None


@router.post(
    "/insights/surveys",
    response=answers(SurveyBatchOut),
    summary="Add or update survey responses (up to 1,000 per request; re-sending a response updates it)",
)
def add_surveys(request: HttpRequest, body: SurveyBatchIn) -> Any:
    """Every response is validated like a row of a survey file: a bad one (no score, a score off the scale,
    an unreadable date, an unknown brand) is rejected with its row number and reason and kept in quarantine,
    the others are stored. The key is `external_id` (or a hash of the response), so retries are safe."""
    scope = request_scope(request)
    return importing.import_rows(scope, body.responses, body.scale, body.brand_id)


@router.get("/insights/surveys", response=answers(list[SurveyOut]), summary="Survey responses, newest first")
def list_surveys(request: HttpRequest, params: Query[SurveyListParams]) -> Any:  # type: ignore[type-arg]
    scope = request_scope(request)
    require_role(scope, Role.ANALYST)
    qs = SurveyResponse.objects.filter(organization_id=scope.organization_id).filter(
        Q(brand_id__in=scope.brand_ids) | Q(brand__isnull=True)
    )
    if params.brand is not None:
        qs = qs.filter(brand_id=params.brand if params.brand in scope.brand_ids else -1)
    if params.since is not None:
        qs = qs.filter(submitted_at__gte=params.since)
    return list(qs.order_by("-submitted_at", "-id")[params.offset : params.offset + params.limit])
