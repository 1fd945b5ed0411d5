"""Routes of the observability app (mounted at the site root by hubbub.urls)."""

from django.urls import path

from hubbub.ops import probes, views

urlpatterns = [
    path("healthz", probes.healthz, name="healthz"),
    path("readyz", probes.readyz, name="readyz"),
    path("metrics", probes.metrics_view, name="metrics"),
    path("settings/system/", views.system, name="system"),
]
