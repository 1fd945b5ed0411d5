from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "hubbub.inbox"
    label = "inbox"
