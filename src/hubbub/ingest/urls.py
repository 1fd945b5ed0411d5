"""Web routes of the ingest app (mounted at the site root by hubbub.web.urls)."""

from django.urls import path

from hubbub.ingest import channel_views, views

urlpatterns = [
    path("quarantine/", views.quarantine, name="quarantine"),
    path("settings/ingest/", views.health, name="ingest_health"),
    path("settings/channels/", channel_views.channels, name="channels"),
    path("settings/channels/mastodon/authorize/", channel_views.authorize_mastodon, name="channel_mastodon_authorize"),
    path("settings/channels/mastodon/callback/", channel_views.mastodon_callback, name="channel_mastodon_callback"),
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
