"""The REST API object (django-ninja). OpenAPI at /api/openapi.json, docs at /api/docs.

Each app owns its endpoints (`hubbub.<app>.api.router`); `hubbub.api_site`, a project module, mounts them
here under /api/v1/, so this app, low in the tree, imports none of the apps above it.
Endpoints only parse, check scope and call the same services the UI uses.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import NinjaAPI

from hubbub.api.auth import ScopedSessionAuth, TokenAuth
from hubbub.tenancy.scoping import PermissionDenied

api = NinjaAPI(
    title="Hubbub API",
    version="1",
    description="Conversations, messages and replies of the unified inbox. Authenticate with "
    "`Authorization: Bearer <token>` (tokens are issued in the admin).",
    auth=[TokenAuth(), ScopedSessionAuth()],
    urls_namespace="api",
)


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> Any:
    return api.create_response(request, {"detail": str(exc)}, status=403)


@api.exception_handler(ValueError)
def _bad_value(request: HttpRequest, exc: ValueError) -> Any:
    return api.create_response(request, {"detail": str(exc)}, status=400)
