"""What the inbox tells the apps above it. The inbox is lower in the app tree than workflow, crm and
listening, so it never calls them: it sends these signals, and they subscribe in their `AppConfig.ready`
(workflow stops the SLA clock on `reply_sent`, for instance). Receivers run inside the sender's transaction,
so what they write commits or rolls back with the change they react to."""

from __future__ import annotations

from django.dispatch import Signal

# conversation: Conversation, old_status: str — a conversation's status changed (do_change_status)
status_changed = Signal()
# conversation: Conversation, old_assignee_id: int | None — a conversation's assignee or team changed (do_assign)
conversation_assigned = Signal()
# conversation: Conversation, reply: Reply — a reply was posted and recorded as the brand's message
reply_sent = Signal()
# organization_id: int, groups: {survivor id: [absorbed ids]}, now — conversations are about to be merged
# (nothing moved yet: workflow keeps one live SLA clock per survivor and metric)
conversations_merging = Signal()
# organization_id: int, into: {absorbed id: survivor id}, resume: [survivor ids whose paused clocks run again],
# now — the rows of the absorbed conversations now point at their survivors (crm moves its synced links)
conversations_merged = Signal()
# organization_id: int, conversation_ids: [int], answered: {conversation id: first response time}, now — the
# conversations' summaries were recomputed from their messages (workflow stops the answered ones' clocks)
conversations_refolded = Signal()
# organization_id: int, conversation_ids: list[int], days: set[date] — messages were stored on these conversations
# (created or grown by the ingest batch step), written on these UTC days (insights marks its report rollups)
messages_ingested = Signal()
# organization_id: int, days: set[date], labels: set[str] — the analysis labels named were rewritten on inbound
# messages written on these UTC days (re-analysis, the accurate tier's refinement, an agent's correction)
messages_relabelled = Signal()
