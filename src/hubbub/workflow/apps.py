from typing import Any

from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    name = "hubbub.workflow"
    label = "workflow"

    def ready(self) -> None:
        """Workflow sits above the inbox: it answers the inbox's approval question and follows its events
        (a status change or a sent reply moves the SLA clocks) instead of being called by it."""
        from hubbub.inbox.actions.replies import register_approval_check
        from hubbub.inbox.signals import (
            conversations_merged,
            conversations_merging,
            conversations_refolded,
            reply_sent,
            status_changed,
        )
        from hubbub.workflow.services import approvals, merge_hooks, sla_hooks

        register_approval_check(approvals.reply_approval_check)

        def _status_changed(sender: Any, conversation: Any, old_status: str, **kwargs: Any) -> None:
            sla_hooks.on_status_changed(conversation, old_status)

        def _reply_sent(sender: Any, conversation: Any, **kwargs: Any) -> None:
            sla_hooks.on_reply_sent(conversation)

        status_changed.connect(_status_changed, weak=False, dispatch_uid="workflow.sla.status_changed")
        reply_sent.connect(_reply_sent, weak=False, dispatch_uid="workflow.sla.reply_sent")

        def _merging(sender: Any, groups: dict[int, list[int]], now: Any, **kwargs: Any) -> None:
            merge_hooks.keep_one_clock_per_survivor(groups, now)

        def _merged(sender: Any, resume: list[int], now: Any, **kwargs: Any) -> None:
            merge_hooks.resume_merged(resume, now)

        def _refolded(sender: Any, conversation_ids: list[int], answered: dict[int, Any], now: Any, **kw: Any) -> None:
            merge_hooks.follow_refold(conversation_ids, answered, now)

        conversations_merging.connect(_merging, weak=False, dispatch_uid="workflow.sla.merging")
        conversations_merged.connect(_merged, weak=False, dispatch_uid="workflow.sla.merged")
        conversations_refolded.connect(_refolded, weak=False, dispatch_uid="workflow.sla.refolded")
