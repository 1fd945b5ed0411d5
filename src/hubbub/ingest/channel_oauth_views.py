"""Settings → Channels, the sign-in buttons: "Sign in with Mastodon", "Connect X account", "Connect with
Facebook", "Connect Threads". Each sends the admin to the network with a pending authorization in their session
and takes them back at its callback, where that authorization is popped (used once, whatever happens) and
handed with the `code` and `state` to the network's module (`connectors.mastodon_oauth`, `x_oauth`,
`meta_oauth`), which checks the state and connects the account through `channel_admin`. Facebook has one more
step: the admin picks which Page, and whether its Instagram account, on `facebook_pages`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from hubbub.connectors import mastodon_oauth, meta_oauth, x_oauth
from hubbub.connectors.channel_admin import ChannelFormError
from hubbub.connectors.models import Channel
from hubbub.connectors.oauth_flow import PendingAuthorization, session_key
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, require_role
from hubbub.web.views.common import scoped_view

NAMES = {"mastodon": "Mastodon", "x": "X", "facebook": "Facebook", "threads": "Threads"}
_PAGES = "oauth_facebook_pages"  # the session key of the Pages a Facebook sign-in listed, sealed

Start = Callable[[Scope, int, QueryDict, str], tuple[str, PendingAuthorization]]
_START: dict[str, Start] = {
    "mastodon": lambda scope, brand_id, post, back: mastodon_oauth.start(
        scope, brand_id, post.get("base_url", ""), back
    ),
    "x": lambda scope, brand_id, post, back: x_oauth.start(scope, brand_id, back),
    "facebook": lambda scope, brand_id, post, back: meta_oauth.start_facebook(scope, brand_id, back),
    "threads": lambda scope, brand_id, post, back: meta_oauth.start_threads(scope, brand_id, back),
}
Finish = Callable[[Scope, PendingAuthorization | None, str, str], tuple[Channel, str]]
_FINISH: dict[str, Finish] = {
    "mastodon": mastodon_oauth.finish,
    "x": x_oauth.finish,
    "threads": meta_oauth.finish_threads,
}


@dataclass(frozen=True)
class SignIn:
    """One network's connect button on Settings → Channels, or what the operator must set for it to show."""

    network: str
    heading: str
    button: str
    hint: str
    settings: tuple[str, ...]  # what the operator sets when `ready` says no
    app: str  # where the operator makes the app whose id and secret those are
    ready: Callable[[], bool]

    def authorize_url(self) -> str:
        return reverse(f"channel_{self.network}_authorize")

    def callback_url(self) -> str:
        return reverse(f"channel_{self.network}_callback")


SIGN_INS = (
    SignIn(
        "x",
        "Connect an X account",
        "Connect X account",
        "You go to X to sign in as the brand's account and authorize Hubbub to read its mentions and messages and "
        "to reply; you come back here connected. Hubbub renews the access token itself (X's last two hours).",
        ("HUBBUB_X_CLIENT_ID", "HUBBUB_X_CLIENT_SECRET"),
        "an OAuth 2.0 app of type Web App in X's developer portal",
        x_oauth.configured,
    ),
    SignIn(
        "facebook",
        "Connect a Facebook Page and its Instagram account",
        "Connect with Facebook",
        "You sign in with a Facebook account that manages the brand's Page, then choose the Page, and whether the "
        "Instagram business account linked to it, to connect. Comments and messages arrive by Meta's webhooks.",
        ("HUBBUB_META_APP_ID", "HUBBUB_META_APP_SECRET"),
        "a Meta app with Facebook Login",
        meta_oauth.facebook_configured,
    ),
    SignIn(
        "threads",
        "Connect a Threads account",
        "Connect Threads",
        "You sign in to Threads as the brand's account and authorize Hubbub to read and answer replies and "
        "mentions. The access token lasts 60 days: connect the account again before then.",
        ("HUBBUB_THREADS_APP_ID", "HUBBUB_THREADS_APP_SECRET"),
        "a Meta app with the Threads use case; the Meta app's id and secret serve when these are not set",
        meta_oauth.threads_configured,
    ),
)


@require_POST
@scoped_view
def authorize(request: HttpRequest, scope: Scope, network: str) -> HttpResponse:
    """Send the admin to the network's consent page, keeping what the callback needs in their session."""
    try:
        brand_id = int(request.POST.get("brand", ""))
        callback = request.build_absolute_uri(reverse(f"channel_{network}_callback"))
        url, pending = _START[network](scope, brand_id, request.POST, callback)
    except ValueError as exc:  # a ChannelFormError, or a brand that is not a number
        messages.error(request, str(exc) if isinstance(exc, ChannelFormError) else "Choose the brand.")
        return redirect("channels")
    request.session[session_key(network)] = pending.to_session()
    return HttpResponseRedirect(url)  # the network's own page (Mastodon: the instance, checked by the outbound policy)


@scoped_view
def callback(request: HttpRequest, scope: Scope, network: str) -> HttpResponse:
    """The network sent the admin back with a code (or with an error, when they refused)."""
    require_role(scope, Role.ADMIN)
    pending = PendingAuthorization.from_session(request.session.pop(session_key(network), None))
    if request.GET.get("error"):
        messages.error(request, f"The {NAMES[network]} account was not connected: the authorization was refused.")
        return redirect("channels")
    code, state = request.GET.get("code", ""), request.GET.get("state", "")
    try:
        if network == "facebook":
            request.session[_PAGES] = meta_oauth.finish_facebook(scope, pending, code, state).to_session()
            return redirect("channel_facebook_pages")
        channel, found = _FINISH[network](scope, pending, code, state)
    except ChannelFormError as exc:
        messages.error(request, str(exc))
        return redirect("channels")
    messages.success(request, f"Connected {found} to {channel.brand.name}. Mentions arrive within a minute.")
    return redirect("channels")


@require_http_methods(["GET", "POST"])
@scoped_view
def facebook_pages(request: HttpRequest, scope: Scope) -> HttpResponse:
    """Which of the Pages the Facebook sign-in listed to connect, and whether its Instagram account too."""
    require_role(scope, Role.ADMIN)
    if request.method == "GET":
        choice = meta_oauth.PageChoice.from_session(request.session.get(_PAGES))
        if choice is None:
            messages.error(request, "No Facebook sign-in is waiting for a choice: connect with Facebook again.")
            return redirect("channels")
        brand = next((b for b in scope.brands() if b.pk == choice.brand_id), None)
        return render(request, "ingest/facebook_pages.html", {"pages": choice.pages, "brand": brand})
    picked = request.POST.getlist("connect")
    if not picked:
        messages.error(request, "Choose the Page, its Instagram account, or both.")
        return redirect("channel_facebook_pages")
    choice = meta_oauth.PageChoice.from_session(request.session.pop(_PAGES, None))
    try:
        connected = meta_oauth.connect_page(
            scope, choice, request.POST.get("page", ""), "facebook" in picked, "instagram" in picked
        )
    except ChannelFormError as exc:
        messages.error(request, str(exc))
        return redirect("channels")
    for channel, found in connected:
        messages.success(
            request, f"Connected {found} to {channel.brand.name}. New comments and messages arrive as Meta sends them."
        )
    return redirect("channels")
