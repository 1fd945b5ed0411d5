"""Workflow services: the actions and hooks views, the API, the CLI and the pipeline call.

Every state change is one plainly named function doing the write, the audit entry and the live
event together; callers only parse, check the scope and call it. Import each function from its
module (this package re-exports nothing):

- `routing`: `route_planned` (ingest, before insert) and `route_new_conversations` (stored rows)
  apply the routing rules, then assignment, SLA clocks and auto-replies; the rule facts.
- `sla_hooks`: `on_customer_messages`, `on_status_changed`, `on_reply_sent`: which SLA clock to
  pause, resume, start or stop.
- `rule_admin`: routing rules as supervisors edit them (create, update, delete, move, preview).
- `policies`: business hours, SLA policies and approval policies (save, delete).
- `approvals`: `approval_reasons`, the one check every reply passes (registered with the inbox), and the
  incident lookup listening registers.
- `bulk`: `bulk_reply` (all or nothing), `BulkReplyRefused`, `BULK_REPLY_LIMIT`.
- `canned`: canned responses (variables, render, save, delete) and the rules' auto-reply.
- `assignment`: team assignment policies, `auto_assign`, agent availability.
- `presence`: composer presence (who else is writing on a conversation).
- `audit_log`: the audit-log query.
- `ownership`: `same_org`, the organisation check before every supervisor edit.
"""
