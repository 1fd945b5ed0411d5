from django.contrib.auth import views as auth_views
from django.urls import include, path

from hubbub.web.views import inbox, live, pages

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="registration/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", inbox.inbox, name="inbox"),
    path("c/<int:conversation_id>/", inbox.conversation, name="conversation"),
    path("c/<int:conversation_id>/reply/", inbox.reply, name="reply"),
    path("c/<int:conversation_id>/status/", inbox.status, name="status"),
    path("c/<int:conversation_id>/assign/", inbox.assign, name="assign"),
    path("c/<int:conversation_id>/note/", inbox.note, name="note"),
    path("c/<int:conversation_id>/tags/", inbox.tags, name="tags"),
    path("brand/", pages.switch_brand, name="switch_brand"),
    path("live/", live.stream, name="live"),
    path("quarantine/", pages.quarantine, name="quarantine"),
    path("reports/", pages.reports, name="reports"),
    path("healthz", pages.healthz, name="healthz"),
    # Each bounded context owns its pages; these includes mount them.
    path("", include("hubbub.workflow.urls")),
    path("", include("hubbub.crm.urls")),
    path("", include("hubbub.listening.urls")),
    path("", include("hubbub.analysis.urls")),
    path("", include("hubbub.insights.urls")),
]
