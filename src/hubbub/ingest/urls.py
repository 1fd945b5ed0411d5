"""Web routes of the ingest app (mounted at the site root by hubbub.web.urls)."""

from django.urls import path

from hubbub.ingest import channel_oauth_views, channel_views, views

urlpatterns = [
    path("quarantine/", views.quarantine, name="quarantine"),
    path("settings/ingest/", views.health, name="ingest_health"),
    path("settings/channels/", channel_views.channels, name="channels"),
    *(
        path(f"settings/channels/{network}/{step}/", view, {"network": network}, name=f"channel_{network}_{step}")
        for network in channel_oauth_views.NAMES
        for step, view in (("authorize", channel_oauth_views.authorize), ("callback", channel_oauth_views.callback))
    ),
    path("settings/channels/facebook/pages/", channel_oauth_views.facebook_pages, name="channel_facebook_pages"),
    *(
        path(
            f"settings/channels/{kind}/", channel_views.connect_channel, {"kind": kind}, name=f"channel_connect_{kind}"
        )
        for kind in ("mastodon", "bluesky", "feed", "email")
    ),
    path(
        "settings/channels/<int:channel_id>/check/",
        channel_views.channel_action,
        {"action": "check"},
        name="channel_check",
    ),
    path(
        "settings/channels/<int:channel_id>/disconnect/",
        channel_views.channel_action,
        {"action": "disconnect"},
        name="channel_disconnect",
    ),
]
