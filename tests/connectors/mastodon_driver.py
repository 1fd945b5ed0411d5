"""Run as a separate process by tests/connectors/test_mastodon_kills.py, on the real database of a data
directory: `setup BASE_URL TOKEN` makes an organisation, a brand, an agent and the brand's Mastodon channel;
`poll` polls the channel once and processes what came in; `reply TEXT` queues an approved reply to the
first conversation; `reclaim` runs the periodic reclaim once; `report` prints every reply's state as JSON."""

from __future__ import annotations

import json
import os
import sys


def main(command: str, *args: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hubbub.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from hubbub.connectors.models import Channel
    from hubbub.inbox.actions.delivery import reclaim_stuck_replies
    from hubbub.inbox.actions.replies import do_create_reply
    from hubbub.inbox.models import Conversation, Direction, Message, Reply
    from hubbub.inbox.tasks import deliver_reply_task
    from hubbub.ingest.channel_intake import poll_channel_now
    from hubbub.ingest.services import process_pending
    from hubbub.tenancy.models import Brand, Membership, Organization
    from hubbub.tenancy.scoping import scope_for

    if command == "setup":
        org = Organization.objects.create(slug="kills", name="Kills")
        brand = Brand.objects.create(organization=org, name="Acme Air", slug="acme-air", handles=["AcmeAir"])
        user = get_user_model().objects.create_user(username="agent1", password="pw-kills-12345")
        Membership.objects.create(user=user, organization=org, role="agent")
        channel = Channel(organization=org, brand=brand, network="mastodon", name="@AcmeAir")
        channel.credentials = {"base_url": args[0], "access_token": args[1]}
        channel.save()
        print(json.dumps({"channel": channel.pk}))
    elif command == "poll":
        outcome = poll_channel_now(Channel.objects.get())
        process_pending()
        print(json.dumps({"ok": outcome.ok, "new": outcome.new, "error": outcome.error}))
    elif command == "reply":
        membership = Membership.objects.select_related("user").get(user__username="agent1")
        scope = scope_for(membership.user, membership.organization_id)
        assert scope is not None
        reply = do_create_reply(scope, Conversation.objects.order_by("id").first(), args[0])  # type: ignore[arg-type]
        print(json.dumps({"reply": reply.pk, "state": reply.state}))
    elif command == "reclaim":
        print(json.dumps({"queued": reclaim_stuck_replies(deliver_reply_task)}))
    elif command == "report":
        rows = []
        for r in Reply.objects.order_by("id"):
            recorded = Message.objects.filter(direction=Direction.OUT, external_id=r.external_id).count()
            rows.append({"id": r.pk, "state": r.state, "attempts": r.attempts, "recorded": recorded, "text": r.text})
        print(json.dumps(rows))


if __name__ == "__main__":
    main(sys.argv[1], *sys.argv[2:])
