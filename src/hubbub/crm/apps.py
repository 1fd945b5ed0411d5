from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "hubbub.crm"
    label = "crm"

    def ready(self) -> None:
        """Crm sits above the inbox: it adds the customer panel beside every conversation's thread
        (`inbox.panels`) rather than the inbox importing crm."""
        from hubbub.crm.services import panel_context
        from hubbub.inbox.panels import register_conversation_panel

        register_conversation_panel("crm_customer", "crm/_customer_panel.html", panel_context)
