"""Run as a separate process by tests/connectors/test_email_kills.py, on the real database of a data directory.

`poll`, `reply TEXT` and `report` are the Mastodon driver's (they do not depend on the network). Here:
`setup CREDENTIALS_JSON` makes the organisation, brand and agent as the Mastodon driver does, with the brand's
email channel instead; `recover` does what the periodic reclaim does once the claims are old enough, then
delivers what it queued with the real delivery action, in this process, so no worker timing is involved."""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta

from tests.connectors import mastodon_driver


def main(command: str, *args: str) -> None:
    if command not in ("setup", "recover"):
        mastodon_driver.main(command, *args)
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hubbub.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.utils import timezone

    from hubbub.connectors.models import Channel
    from hubbub.inbox.actions.delivery import do_deliver_reply, reclaim_stuck_replies

    if command == "setup":
        mastodon_driver.main("setup", "https://unused.invalid", "unused")
        credentials = json.loads(args[0])
        channel = Channel.objects.get()
        channel.network, channel.name, channel.credentials = "email", credentials["address"], credentials
        channel.save()
        print(json.dumps({"channel": channel.pk}))
    else:
        later = timezone.now() + timedelta(seconds=settings.REPLY_STUCK_AFTER_SECONDS + 1)
        queued: list[int] = []
        reclaim_stuck_replies(queued.append, now=later)
        states = [do_deliver_reply(reply_id).state for reply_id in queued]
        print(json.dumps({"queued": queued, "states": states}))


if __name__ == "__main__":
    main(sys.argv[1], *sys.argv[2:])
