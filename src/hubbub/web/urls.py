from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path

from hubbub.web.views import live, organizations, pages


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers ask for /favicon.ico on pages without a <link rel="icon"> (API docs, admin, raw JSON)."""
    return HttpResponsePermanentRedirect(static("hubbub/favicon.svg"))


urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="registration/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("brand/", pages.switch_brand, name="switch_brand"),
    path("organization/", organizations.switch, name="switch_organization"),
    path("live/", live.stream, name="live"),
    path("favicon.ico", favicon, name="favicon"),
    # Each bounded context owns its pages; these includes mount them.
    path("", include("hubbub.inbox.urls")),
    path("", include("hubbub.workflow.urls")),
    path("", include("hubbub.crm.urls")),
    path("", include("hubbub.listening.urls")),
    path("", include("hubbub.analysis.urls")),
    path("", include("hubbub.insights.urls")),
    path("", include("hubbub.ingest.urls")),
    path("", include("hubbub.accounts.urls")),
    path("", include("hubbub.api.webhook_urls")),
]
