"""URL map: the web UI, the REST API under /api/, the Django admin under /admin/."""

from django.contrib import admin
from django.urls import include, path

from hubbub.api_site import api
from hubbub.ingest.webhook_views import hook

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    # Webhook intake of the networks (X Account Activity, Meta Pages/Instagram/Threads): signed, no session.
    path("hooks/<str:network>/", hook, name="webhook"),
    # The label-correction form of the thread pane (its path and name predate its move into the inbox).
    path("", include("hubbub.inbox.label_urls")),
    # Health, readiness and metrics for machines; Settings → System for admins.
    path("", include("hubbub.ops.urls")),
    path("", include("hubbub.web.urls")),
]

handler400 = "hubbub.web.views.errors.bad_request"
handler404 = "hubbub.web.views.errors.not_found"
handler500 = "hubbub.web.views.errors.server_error"
handler403 = "hubbub.web.views.errors.forbidden"
