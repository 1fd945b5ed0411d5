"""Web routes of the inbox app (mounted at the site root by hubbub.web.urls): the inbox is the home page."""

from django.urls import path

from hubbub.inbox import saved_views, views

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("views/", saved_views.saved_views, name="inbox_views"),
    path("views/save/", saved_views.save_view, name="inbox_view_save"),
    path("views/<int:view_id>/delete/", saved_views.delete_view, name="inbox_view_delete"),
    path("c/<int:conversation_id>/", views.conversation, name="conversation"),
    path("c/<int:conversation_id>/reply/", views.reply, name="reply"),
    path("c/<int:conversation_id>/status/", views.status, name="status"),
    path("c/<int:conversation_id>/assign/", views.assign, name="assign"),
    path("c/<int:conversation_id>/note/", views.note, name="note"),
    path("c/<int:conversation_id>/tags/", views.tags, name="tags"),
    path("c/<int:conversation_id>/replies/<int:reply_id>/retry/", views.retry_reply, name="reply_retry"),
]
