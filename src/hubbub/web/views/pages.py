"""Smaller pages of the layout: the brand switcher (the health checks live in hubbub.ops)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from hubbub.tenancy.scoping import Scope
from hubbub.web.views.common import scoped_view


@require_POST
@scoped_view
def switch_brand(request: HttpRequest, scope: Scope) -> HttpResponse:
    value = request.POST.get("brand", "")
    if value.isdigit() and int(value) in scope.brand_ids:
        request.session["brand_id"] = int(value)
    else:
        request.session.pop("brand_id", None)
    nxt = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        nxt = "/"
    return redirect(nxt.split("?")[0])
