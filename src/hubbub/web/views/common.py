"""Helpers for views: the scope of the request, or a redirect to log in / a 403."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase

from hubbub.tenancy.scoping import PermissionDenied, Scope

_R = TypeVar("_R", bound=HttpResponseBase)


def scoped_view(fn: Callable[..., _R]) -> Callable[..., _R | HttpResponseRedirect]:
    """Require login and a membership; turn service PermissionDenied into a 403 page."""

    @wraps(fn)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> _R | HttpResponseRedirect:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        scope: Scope | None = getattr(request, "tenant", None)
        if scope is None:
            raise DjangoPermissionDenied("Your account is not a member of any organisation yet.")
        try:
            return fn(request, scope, *args, **kwargs)
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(str(exc)) from exc

    return wrapper
