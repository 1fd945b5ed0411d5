"""Channels benchmark: how long one worker takes to poll every connected source once.

    python benchmarks/channels.py [--sources 1000] [--latency 0.05]

Self-contained: a temporary HUBBUB_DATA_DIR (SQLite), and local fakes that speak each network's wire format
(`tests/fakes/`), every answer delayed by `--latency` seconds to play a distant network. Prints the figures and
writes benchmarks/results/channels.json (overwritten: every figure of this file is measured on each run).

Parts (each returns figure name -> number; add yours to PARTS):

polling: `--sources` channels of one organisation, a third each: Mastodon accounts on the shipped sandbox
server (`connectors/sandbox`), Bluesky accounts on one fake PDS, and feeds (a WordPress blog, a Discourse forum
and a review site's Atom feed, each id made unique per source) on one fake web site. One worker runs
`connectors.polling.poll_due` over all of them, accepting events with `ingest.services.accept` (processing is
the ingest benchmark's business):
    poll_cycle_first_s_<n>_sources   the first cycle: Bluesky logins, every entry new
    poll_cycle_s_<n>_sources         a busy cycle: every source has one new mention or entry
    poll_cycle_quiet_s_<n>_sources   nothing new: a page of notifications or a 304 per source

webhooks: `--webhooks` signed X and Meta deliveries into `hubbub serve --no-worker` from a separate process
(`channels_webhooks.py`): webhook_rps, webhook_p99_ms, lost_events, duplicate_events.

inbox: `--inbox-rate` X mentions a second for `--inbox-seconds` into `hubbub serve` with its worker, an agent's
live stream open (`channels_inbox.py`): inbox_latency_p95_s, from the post to the stream's event.

webhooks_postgres: the webhook part again on a fresh PostgreSQL database (`HUBBUB_BENCH_POSTGRES`, default the
local server), in a child process: the same figures with the suffix `_postgres`.

idle: `--idle-mails` mails delivered one by one to a support mailbox on a local Dovecot, each stored by a real
`hubbub worker` through its IMAP IDLE watcher (`channels_idle.py`): email_idle_latency_s (median),
email_idle_latency_max_s.

kills: `--kills` replies, each sent by a worker killed after the Mastodon sandbox accepted it and before Hubbub
recorded it, then retried (`channels_kills.py`): duplicate_posts_after_kill, counted on the sandbox.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "channels.json"
sys.path.insert(0, str(ROOT))  # tests.fakes

from _common import setup_django  # noqa: E402
from channels_idle import measure_idle  # noqa: E402
from channels_inbox import measure_inbox  # noqa: E402
from channels_kills import measure_kills  # noqa: E402
from channels_webhooks import measure_webhooks  # noqa: E402

PG_ADMIN = os.environ.get("HUBBUB_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")
FEED_FILES = (("rss", "wordpress-blog.rss"), ("forum", "discourse-latest.rss"), ("review", "reviews.atom"))
_ID = re.compile(rb"(<guid[^>]*>|<id>)([^<]+)(</guid>|</id>)")


def _unique_ids(body: bytes, source: int) -> bytes:
    """The document with every entry id made this source's own, so sources do not share messages."""
    return _ID.sub(lambda m: m[1] + m[2] + f"#s{source}".encode() + m[3], body)


def _new_entry(body: bytes, source: int, cycle: int) -> bytes:
    """The document with one more entry on top (RSS item or Atom entry), as a site's next post."""
    if b"<item>" in body:
        item = f"<item><title>New post {cycle}</title><link>https://site{source}.example/p/{cycle}</link>"
        item += f"<guid>https://site{source}.example/p/{cycle}</guid><description>acme update {cycle}</description>"
        return body.replace(b"<item>", item.encode() + b"</item><item>", 1)
    entry = f"<entry><title>Review {cycle}</title><id>tag:site{source},{cycle}</id><updated>2026-12-01T10:00:00Z"
    entry += f"</updated><author><name>R{source}</name></author><content>fine {cycle}</content></entry>"
    return body.replace(b"<entry>", entry.encode() + b"<entry>", 1)


def _slow_mastodon(latency: float) -> Any:
    """The shipped Mastodon sandbox with every answer delayed by `latency`, like the other fakes."""
    from hubbub.connectors.sandbox.mastodon_fake import MastodonFake, MastodonHandler

    fake = MastodonFake()
    # Mastodon's budget is 300 requests per 5 minutes per account; the sandbox keeps one for all of its accounts,
    # which a few hundred accounts polled within a minute use up. Each account here makes one or two a cycle.
    fake.state.spend = lambda: True

    class Slow(MastodonHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            time.sleep(latency)
            super().do_GET()

        def do_POST(self) -> None:  # noqa: N802
            time.sleep(latency)
            super().do_POST()

    fake.httpd.RequestHandlerClass = type("Handler", (Slow,), {"fake": fake})
    return fake


class PollingBench:
    """The sources, their fakes and the cycles of one polling run."""

    def __init__(self, sources: int, latency: float) -> None:
        from tests.fakes.bluesky import FakeBluesky
        from tests.fakes.feeds import FEEDS, FakeFeedSite

        self.sources, self.latency = sources, latency
        self.mastodon = _slow_mastodon(latency).start()
        self.pds = FakeBluesky(latency=latency).start()
        self.site = FakeFeedSite(latency=latency).start()
        self.feed_docs = {name: (FEEDS / name).read_bytes() for _, name in FEED_FILES}
        self.accounts: list[Any] = []
        self.feed_paths: list[str] = []
        self.toots: list[str] = []

    def connect(self) -> None:
        from hubbub.connectors.models import Channel
        from hubbub.tenancy.models import Brand, Organization

        org = Organization.objects.create(slug="bench", name="Bench")
        brand = Brand.objects.create(organization=org, name="Acme Air", slug="acme-air", handles=["AcmeAir"])
        n_mastodon = self.sources // 3
        n_bluesky = (self.sources - n_mastodon) // 2
        channels = []
        for i in range(n_mastodon):
            username = f"brand{i}"
            self.mastodon.state.add_account(username, f"Brand {i}", token=f"brand-token-{i:06d}")
            self.toots.append(username)
            ch = Channel(organization=org, brand=brand, network="mastodon", name=f"@{username}")
            ch.credentials = {"base_url": self.mastodon.url, "access_token": f"brand-token-{i:06d}"}
            channels.append(ch)
        for i in range(n_bluesky):
            account = self.pds.add_account(f"brand{i}.bsky.social", password=f"app-pass-{i}")
            self.accounts.append(account)
            ch = Channel(organization=org, brand=brand, network="bluesky", name=account.handle)
            ch.credentials = {"handle": account.handle, "app_password": f"app-pass-{i}", "service": self.pds.url}
            channels.append(ch)
        for i in range(self.sources - n_mastodon - n_bluesky):
            network, name = FEED_FILES[i % len(FEED_FILES)]
            path = f"/s{i}/{name}"
            content_type = "application/atom+xml" if name.endswith(".atom") else "application/rss+xml"
            url = self.site.serve(path, _unique_ids(self.feed_docs[name], i), content_type)
            self.feed_paths.append(path)
            ch = Channel(organization=org, brand=brand, network=network, name=url)
            ch.credentials = {"url": url}
            channels.append(ch)
        Channel.objects.bulk_create(channels)

    def add_activity(self, cycle: int) -> None:
        """One new mention for every Mastodon and Bluesky account, one new entry in every feed."""
        for username in self.toots:
            self.mastodon.state.post_as(f"customer{cycle}", f"@{username} hello from cycle {cycle}")
        customer = self.pds.add_account(f"customer{cycle}.bsky.social")
        at = datetime.now(UTC) + timedelta(seconds=cycle)
        for account in self.accounts:
            post = self.pds.post(customer, f"@{account.handle} hello from cycle {cycle}")
            self.pds.notify(post, "mention", indexed_at=at, to=account)
        for i, path in enumerate(self.feed_paths):
            doc = self.site.documents[path]
            self.site.serve(path, _new_entry(doc.body, i, cycle), doc.content_type)

    def cycle(self) -> tuple[float, int, int]:
        """One worker polls every channel once: (seconds, events, failed polls)."""
        from hubbub.connectors import polling
        from hubbub.connectors.models import Channel
        from hubbub.ingest import services

        def accept(channel: Any, events: Any) -> int:
            return services.accept(channel.organization_id, events, source=f"channel:{channel.pk}").accepted

        Channel.objects.update(next_poll_at=None)
        start = time.perf_counter()
        outcomes = polling.poll_due(accept)
        elapsed = time.perf_counter() - start
        assert len(outcomes) == self.sources, f"{len(outcomes)} of {self.sources} channels polled"
        return elapsed, sum(o.events for o in outcomes), sum(not o.ok for o in outcomes)

    def stop(self) -> None:
        self.mastodon.stop()
        self.pds.stop()
        self.site.stop()


def measure_polling(args: argparse.Namespace) -> dict[str, float]:
    n = args.sources
    bench = PollingBench(n, args.latency)
    try:
        bench.connect()
        bench.add_activity(1)
        figures: dict[str, float] = {}
        for label, prepare in (("first_", None), ("", lambda: bench.add_activity(2)), ("quiet_", None)):
            if prepare:
                prepare()
            seconds, events, failed = bench.cycle()
            print(f"poll cycle {label or 'busy_'}: {n} sources in {seconds:.1f} s, {events} events, {failed} failed")
            if failed:
                raise SystemExit(f"{failed} polls failed: the figure would not measure a full cycle")
            figures[f"poll_cycle_{label}s_{n}_sources"] = round(seconds, 2)
        return figures
    finally:
        bench.stop()


def measure_webhooks_postgres(args: argparse.Namespace) -> dict[str, float]:
    """The webhook part again with PostgreSQL as the database: this script as a child process (Django is set up
    once per process) on a fresh database; its figures get the suffix `_postgres`."""
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute("DROP DATABASE IF EXISTS hubbub_bench_channels")
            conn.execute("CREATE DATABASE hubbub_bench_channels")
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL not available ({exc}): no PostgreSQL webhook figures", file=sys.stderr)
        return {}
    url = PG_ADMIN.rsplit("/", 1)[0] + "/hubbub_bench_channels"
    cmd = [sys.executable, __file__, "--parts", "webhooks", "--webhooks", str(args.webhooks), "--database-url", url]
    out = subprocess.run([*cmd, "--no-write"], capture_output=True, text=True, check=True).stdout
    print(out.rsplit("\n", 2)[0], flush=True)
    return {f"{name}_postgres": value for name, value in json.loads(out.strip().splitlines()[-1]).items()}


PARTS: dict[str, Callable[[argparse.Namespace], dict[str, float]]] = {
    "polling": measure_polling,
    # signed X/Meta deliveries into `hubbub serve` (see channels_webhooks.py)
    "webhooks": lambda args: measure_webhooks(args.webhooks),
    "webhooks_postgres": measure_webhooks_postgres,
    # X mentions posted → the live event of an open inbox (see channels_inbox.py)
    "inbox": lambda args: measure_inbox(args.inbox_rate, args.inbox_seconds),
    # workers killed after the network took a reply (see channels_kills.py)
    "kills": lambda args: measure_kills(args.kills),
    # a mail delivered → stored, through a real worker's IMAP IDLE watcher (see channels_idle.py)
    "idle": lambda args: measure_idle(args.idle_mails),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every fake answer")
    parser.add_argument("--webhooks", type=int, default=20_000, help="webhook deliveries (5 %% more sent twice)")
    parser.add_argument("--inbox-rate", type=float, default=200, help="mentions a second posted to the inbox")
    parser.add_argument("--inbox-seconds", type=float, default=30, help="for how long")
    parser.add_argument("--kills", type=int, default=3, help="replies, each sent by a worker killed mid-send")
    parser.add_argument("--idle-mails", type=int, default=10, help="mails delivered one by one to a watched mailbox")
    parser.add_argument("--database-url", help="PostgreSQL instead of SQLite (the webhooks_postgres child)")
    parser.add_argument("--no-write", action="store_true", help="print the figures as one line; no results file")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of {', '.join(PARTS)}")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hubbub-bench-channels-") as data_dir:
        os.environ["HUBBUB_OUTBOUND_ALLOW"] = "127.0.0.1"  # the fakes; nothing else is reachable
        os.environ.setdefault("HUBBUB_SECRET_KEY", "benchmark")
        setup_django(data_dir, args.database_url)
        results: dict[str, float] = {}
        for name in args.parts.split(","):
            results.update(PARTS[name.strip()](args))
    if args.no_write:
        print(json.dumps(results), flush=True)
        return
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    # A run of some parts rewrites their keys and keeps the other parts' figures (each part's own section of
    # docs/performance.md says when it was measured); a run of every part rewrites the whole file.
    every_part = set(args.parts.split(",")) >= set(PARTS)
    kept = {} if every_part or not RESULTS.exists() else json.loads(RESULTS.read_text())
    RESULTS.write_text(json.dumps({**kept, **results}, indent=2, sort_keys=True) + "\n")
    print(json.dumps(results, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
