"""What workflow tells the apps above it (insights), for the changes it makes to stored conversations outside
the inbox's `do_*` actions, which send the inbox's own signals. Receivers run inside the sender's transaction."""

from __future__ import annotations

from django.dispatch import Signal

# organization_id: int, conversation_ids: list[int], fields: set[str] — workflow rewrote these Conversation
# fields of stored conversations in bulk: the routing rules applied again (`route_new_conversations`: team,
# priority, SLA policy and clocks, spam, status, assignee) or an agent going away (their assignee)
conversations_rerouted = Signal()
