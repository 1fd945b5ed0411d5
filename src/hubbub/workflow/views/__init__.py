"""Workflow pages, one module per concern (urls.py names each view by its module):

- `approvals`: the approvals queue and the approve / edit / reject decision.
- `rules`: routing rules (list, editor with live preview, move, delete).
- `policies`: the settings page: SLA policies, business hours, approval policies.
- `teams`: teams' assignment policies and agents' availability.
- `canned`: canned responses.
- `bulk_reply`: the inbox's bulk reply (all or nothing) and `BULK_LIMIT`.
- `presence`: the composer's heartbeat and collision warning.
- `issues`: tracked issues and their progress updates.
- `audit_log`: the audit log page and its CSV export.
- `form_support`: the select options and error messages the forms share.

Views parse forms, load rows through the scope and call `workflow.services`.
"""
