"""Run as a separate process by tests/inbox/test_delivery_kills.py (the real database of a data directory,
not the test's): `reply CONVERSATION_TEXT` creates an approved reply as agent1 and queues its delivery on the
task queue; `reclaim` runs the periodic reclaim once; `report` prints every reply's state as JSON."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main(command: str, *args: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hubbub.settings")
    import django

    django.setup()
    from django.conf import settings

    from hubbub.inbox.actions.delivery import reclaim_stuck_replies
    from hubbub.inbox.actions.replies import do_create_reply
    from hubbub.inbox.models import Conversation, Direction, Message, Reply
    from hubbub.inbox.tasks import deliver_reply_task
    from hubbub.tenancy.models import Membership
    from hubbub.tenancy.scoping import scope_for

    if command == "reply":
        membership = Membership.objects.select_related("user", "organization").get(user__username="agent1")
        scope = scope_for(membership.user, membership.organization_id)
        assert scope is not None
        conv = Conversation.objects.filter(organization=membership.organization).order_by("id")[int(args[0])]
        reply = do_create_reply(scope, conv, args[1])
        print(json.dumps({"reply": reply.pk, "state": reply.state}))
    elif command == "reclaim":
        print(json.dumps({"queued": reclaim_stuck_replies(deliver_reply_task)}))
    elif command == "report":
        sink = Path(settings.OUTBOUND_SINK_DIR)
        rows = []
        for r in Reply.objects.order_by("id"):
            posts = sorted(p.name for p in sink.glob(f"{r.idempotency_key}*.json")) if sink.exists() else []
            recorded = Message.objects.filter(direction=Direction.OUT, external_id=r.external_id).count()
            rows.append({"id": r.pk, "state": r.state, "attempts": r.attempts, "posts": posts, "recorded": recorded})
        print(json.dumps(rows))


if __name__ == "__main__":
    main(sys.argv[1], *sys.argv[2:])
