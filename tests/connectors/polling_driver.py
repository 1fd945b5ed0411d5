"""Run as a separate process by tests/connectors/test_polling_concurrency.py, on the real SQLite database of a
data directory (WAL, busy timeout: the test database is in memory, where SQLite's locking is another thing):
`python -m tests.connectors.polling_driver N` makes N channels whose connector writes to the database while it
fetches (as Bluesky keeps a refreshed session), lets two workers (threads with their own connections) poll them
all at once, each on its own pool, with the real `accept`, and prints what happened as JSON."""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any


def main(n: int) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "hubbub.settings"
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("HUBBUB_TASKS_IMMEDIATE", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from hubbub.connectors import base, polling
    from hubbub.connectors.models import Channel
    from hubbub.ingest.channel_intake import accept_channel_events
    from hubbub.ingest.models import RawEvent
    from hubbub.tenancy.models import Brand, Organization
    from tests.connectors.test_polling_concurrency import FakeNetwork

    org = Organization.objects.create(slug="locks", name="Locks")
    brand = Brand.objects.create(organization=org, name="Acme Air", slug="acme-air", handles=["AcmeAir"])
    for i in range(n):
        channel = Channel(organization=org, brand=brand, network="other", name=f"@acme{i}")
        channel.credentials = {"base_url": f"https://host{i % 3}.example"}
        channel.save()
    network = FakeNetwork(events_per_poll=5, writes=True)
    base.register(network)
    outcomes: list[Any] = []

    def worker() -> None:
        from django.db import connections

        try:
            outcomes.extend(polling.poll_due(accept_channel_events, concurrency=8))
        finally:
            connections.close_all()

    workers = [threading.Thread(target=worker) for _ in range(2)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    report: dict[str, Any] = {
        "polled": len(outcomes),
        "errors": [o.error for o in outcomes if not o.ok],
        "polled_twice": sorted(name for name, times in network.polls.items() if times > 1),
        "stored": RawEvent.objects.filter(organization=org).count(),
        "distinct": RawEvent.objects.filter(organization=org).values("external_id").distinct().count(),
        "sessions_kept": sum("session" in c.credentials for c in Channel.objects.all()),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main(int(sys.argv[1]))
