"""Web routes of the inbox app (mounted at the site root by hubbub.web.urls): the inbox is the home page."""

from django.urls import path

from hubbub.inbox import views

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("c/<int:conversation_id>/", views.conversation, name="conversation"),
    path("c/<int:conversation_id>/reply/", views.reply, name="reply"),
    path("c/<int:conversation_id>/status/", views.status, name="status"),
    path("c/<int:conversation_id>/assign/", views.assign, name="assign"),
    path("c/<int:conversation_id>/note/", views.note, name="note"),
    path("c/<int:conversation_id>/tags/", views.tags, name="tags"),
]
