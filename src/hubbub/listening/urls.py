"""Web routes of the listening app (mounted at the site root by hubbub.web.urls)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []  # type: ignore[type-arg]
