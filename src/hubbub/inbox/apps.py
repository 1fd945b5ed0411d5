from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "hubbub.inbox"
    label = "inbox"

    def ready(self) -> None:
        """The live stream (web, below the inbox) polls the inbox's messages through what is registered here."""
        from hubbub.inbox.live_backlog import conversation_brands, conversations_since, latest_message_id
        from hubbub.web.views.live import register_message_backlog

        register_message_backlog(latest_message_id, conversations_since, conversation_brands)

        from hubbub.inbox import webhook_events

        webhook_events.connect()
