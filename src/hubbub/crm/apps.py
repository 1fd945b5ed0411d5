from typing import Any

from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "hubbub.crm"
    label = "crm"

    def ready(self) -> None:
        """Crm sits above the inbox: it adds the customer panel beside every conversation's thread
        (`inbox.panels`) rather than the inbox importing crm, and when the inbox merges conversations, the CRM
        links that name them by id (synced HubSpot activities) move to the survivor in the same transaction."""
        from hubbub.crm.panel import panel_context
        from hubbub.crm.sync import move_synced_conversations
        from hubbub.inbox.panels import register_conversation_panel
        from hubbub.inbox.signals import conversations_merged

        register_conversation_panel("crm_customer", "crm/_customer_panel.html", panel_context)

        def _merged(sender: Any, organization_id: int, into: dict[int, int], **kwargs: Any) -> None:
            move_synced_conversations(organization_id, into)

        conversations_merged.connect(_merged, weak=False, dispatch_uid="crm.sync.conversations_merged")
