"""The inbox's write path: every change of a conversation or a reply is one `do_*` function here (Zulip's
`zerver/actions`). Each checks the role, writes, audits, and publishes its live event after commit; the inbox
UI, the API, bulk actions, automations, issue updates and the CLI call only these.

- `conversations`: status, assignment, notes, tags;
- `replies`: creating a reply of any origin, through the one approval check;
- `approvals`: a supervisor approves (maybe edits) or rejects a held reply;
- `delivery`: posting approved replies exactly once, retries, failed replies, reclaiming stuck ones.
"""
