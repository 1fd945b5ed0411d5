"""Web routes of the ingest app (mounted at the site root by hubbub.web.urls)."""

from django.urls import path

from hubbub.ingest import views

urlpatterns = [
    path("quarantine/", views.quarantine, name="quarantine"),
    path("settings/ingest/", views.health, name="ingest_health"),
]
