from typing import Any

from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    name = "hubbub.workflow"
    label = "workflow"

    def ready(self) -> None:
        """Workflow sits above the inbox: it answers the inbox's approval question and follows its events
        (a status change or a sent reply moves the SLA clocks) instead of being called by it."""
        from hubbub.inbox.actions.replies import register_approval_check
        from hubbub.inbox.signals import reply_sent, status_changed
        from hubbub.workflow.services import approvals, sla_hooks

        def _approval_check(role: str | None, conversation: Any, text: str) -> list[str]:
            return approvals.approval_reasons(role, conversation, conversation.brand_id, text)

        register_approval_check(_approval_check)

        def _status_changed(sender: Any, conversation: Any, old_status: str, **kwargs: Any) -> None:
            sla_hooks.on_status_changed(conversation, old_status)

        def _reply_sent(sender: Any, conversation: Any, **kwargs: Any) -> None:
            sla_hooks.on_reply_sent(conversation)

        status_changed.connect(_status_changed, weak=False, dispatch_uid="workflow.sla.status_changed")
        reply_sent.connect(_reply_sent, weak=False, dispatch_uid="workflow.sla.reply_sent")
