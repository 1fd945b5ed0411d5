"""`hubbub demo`: an agency with six airline brands, real tweets, replayed as a live stream.

History (the first ~85% of the tweets) is imported at once with its timestamps shifted
so it ends now; the rest arrives live, `speed` times faster than it happened, through
the same pipeline and task engine as any webhook would use.
"""

from __future__ import annotations

import csv
import logging
import os
import random
import re
import secrets
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from hubbub.connectors.csv_import import parse_airline
from hubbub.connectors.events import InboundEvent
from hubbub.crm import importing as crm_importing
from hubbub.demo_history import import_survey, survey_rows, with_brand_answers
from hubbub.demo_workspace import adopt_sla, configure_workspace
from hubbub.inbox.models import CannedResponse
from hubbub.ingest.importing import airline_name, ensure_brands, run_import
from hubbub.ingest.models import QuarantinedEvent
from hubbub.ingest.services import accept, enqueue_processing, process_batch
from hubbub.listening.detection import LIVE_WINDOW
from hubbub.tenancy.models import Brand, Membership, Organization, Role, Team

log = logging.getLogger("hubbub.demo")
DATA = Path(__file__).resolve().parent / "demo_data"
AIRLINE_FILE = DATA / "airline_tweets.csv.gz"
TWCS_FILE = DATA / "twcs_first5000.csv.gz"
HISTORY_SHARE = 0.85
HISTORY_GAP = LIVE_WINDOW + timedelta(minutes=5)
DEMO_USERS = [
    ("admin", Role.ADMIN),
    ("supervisor", Role.SUPERVISOR),
    ("agent", Role.AGENT),
    ("analyst", Role.ANALYST),
]


@dataclass
class DemoSetup:
    organization: Organization
    password: str
    live_events: list[InboundEvent]


def demo_password() -> str:
    """One password for the demo users, kept in the data dir so every run prints the same."""
    env = os.environ.get("HUBBUB_DEMO_PASSWORD")
    if env:
        return env
    path = Path(settings.DATA_DIR) / "demo_password"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(9))
        path.chmod(0o600)
    return path.read_text().strip()


def seed_organization(password: str) -> Organization:
    org, _ = Organization.objects.get_or_create(
        slug="skyline-agency", defaults={"name": "Skyline Agency (airline clients)", "is_agency": True}
    )
    User = get_user_model()
    for username, role in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@hubbub.local", "first_name": username.title()}
        )
        if created or not user.check_password(password):
            user.set_password(password)
        user.is_staff = role == Role.ADMIN
        user.is_superuser = role == Role.ADMIN
        user.save()
        Membership.objects.get_or_create(user=user, organization=org, defaults={"role": role})
    care, _ = Team.objects.get_or_create(organization=org, name="Care", defaults={"timezone": "America/Chicago"})
    Team.objects.get_or_create(organization=org, name="Baggage", defaults={"timezone": "America/Chicago"})
    care.members.add(*User.objects.filter(username__in=["agent", "supervisor"]))
    CannedResponse.objects.get_or_create(
        organization=org,
        title="Sorry + DM",
        defaults={
            "body": "Hi {first_name}, we're sorry about this. Please DM us your confirmation number "
            "and we'll look into it right away. ^{agent_name}"
        },
    )
    CannedResponse.objects.get_or_create(
        organization=org,
        title="Thanks!",
        defaults={"body": "Thanks so much, {first_name}! We'll pass this on to the team. ^{agent_name}"},
    )
    return org


def seed_twcs_organization() -> Organization:
    """A second, sealed organisation with the TWCS sample (real brand replies and response times)."""
    org, _ = Organization.objects.get_or_create(
        slug="twcs-sample", defaults={"name": "Customer Support on Twitter (sample)"}
    )
    User = get_user_model()
    admin = User.objects.get(username="admin")
    Membership.objects.get_or_create(user=admin, organization=org, defaults={"role": Role.ADMIN})
    return org


def prepare(now: datetime | None = None, live: bool = True) -> DemoSetup:
    """Seed users and brands; import history (shifted to end now); return the live remainder."""
    now = now or timezone.now()
    password = demo_password()
    with transaction.atomic():
        org = seed_organization(password)
    _stats, rows = parse_airline(AIRLINE_FILE)
    events: list[InboundEvent] = []
    for row in rows:
        if row.event is not None:
            events.append(row.event)
        else:
            QuarantinedEvent.objects.get_or_create(
                organization=org, source="demo", location=row.location, defaults={"reason": row.error, "raw": row.raw}
            )
    events.sort(key=lambda e: e.created_at)
    repair_airline_events(events)
    if not events:
        return DemoSetup(org, password, [])
    cut_index = int(len(events) * HISTORY_SHARE) if live else len(events)
    cutoff = events[cut_index - 1].created_at
    # The history ends a little before the detectors' live window: it teaches them the usual volume, and
    # its last minutes are not taken for a burst happening now (a war room full of alerts on start).
    shift = now - HISTORY_GAP - cutoff
    for ev in events:
        ev.created_at = ev.created_at + shift
    history, remainder = events[:cut_index], events[cut_index:]
    seed_customers(org, events, now)
    names = {ev.brand_slug: airline_name(ev) for ev in history} | {JETBLUE_SLUG: "JetBlue"}
    admin = get_user_model().objects.get(username="admin")
    with transaction.atomic():
        ensure_brands(org.pk, history, names)
        # before the history, so its conversations are routed to the teams' queues and start SLA clocks as
        # live ones would, and the brands' answers in it stop those clocks
        configure_workspace(org, admin)
        adopt_sla(org, admin)
    handles = {slug: hs[0] for slug, hs in Brand.objects.filter(organization=org).values_list("slug", "handles") if hs}
    lived = with_brand_answers(history, handles, random.Random(2015))
    for i in range(0, len(lived.events), 2000):
        result = accept(org.pk, lived.events[i : i + 2000], "demo")
        for j in range(0, len(result.raw_ids), 500):
            process_batch(result.raw_ids[j : j + 500])
    import_survey(org.pk, survey_rows(lived, org.pk, random.Random(2016)))
    twcs_org = seed_twcs_organization()
    run_import(twcs_org.pk, "twcs", TWCS_FILE)
    return DemoSetup(org, password, remainder)


# The Crowdflower file labels the tweets to @JetBlue "Delta", and its text replaced "late" with "Late Flight"
# and "cancel" with "Cancelled Flight" ("Late Flightr", "Cancelled Flightled"). A visitor reads the brand and the
# words, so the demo names the brand after the handle the tweets address and puts the words back. User imports
# are left as the user's file has them.
JETBLUE_SLUG = "jetblue"
_ARTEFACTS = (
    (re.compile(r"Late Flight"), "late"),  # the artefact is always capitalised; "late flight" is real text
    (re.compile(r"Cancelled Flight"), "cancel"),
)


def repair_airline_events(events: list[InboundEvent]) -> None:
    """Undo the airline data set's two known artefacts in place (see above), in the text and in the author's
    name and handle too ("simuLate Flightthis" is @simulatethis, as the repaired texts that mention them say)."""
    for ev in events:
        if ev.brand_slug == "delta":
            ev.brand_slug = JETBLUE_SLUG
        for pattern, word in _ARTEFACTS:
            for attr in ("text", "author_id", "author_handle", "author_name"):
                value = getattr(ev, attr)
                if pattern.search(value):
                    setattr(ev, attr, pattern.sub(word, value))


def seed_customers(org: Organization, events: list[InboundEvent], now: datetime, share: float = 0.3) -> int:
    """Synthetic CRM records for a seeded share of the tweet authors, so the customer panel has something
    to show: one-time, regular and loyal customers with orders. Imported through the CRM importer (the same
    path as `hubbub import customers/orders`) before the tweets, so ingest links authors by handle.
    The records are invented (emails at example.com, made-up orders), never real people's purchase data."""
    rng = random.Random(2015)
    authors = sorted({ev.author_id for ev in events})
    chosen = [a for a in authors if rng.random() < share]
    products = ["Economy fare", "Main Cabin fare", "First class fare", "Seat upgrade", "Checked bag", "Wi-Fi pass"]
    with tempfile.TemporaryDirectory() as tmp:
        customers_csv = Path(tmp) / "demo_customers.csv"
        orders_csv = Path(tmp) / "demo_orders.csv"
        with customers_csv.open("w", newline="") as cf, orders_csv.open("w", newline="") as of:
            cw, ow = csv.writer(cf), csv.writer(of)
            cw.writerow(["external_id", "name", "email", "handles"])
            ow.writerow(["external_id", "customer", "ordered_at", "amount", "product", "channel"])
            for i, handle in enumerate(chosen):
                cid = f"DEMO-{i:05d}"
                cw.writerow([cid, handle, f"{handle.lower()}@example.com", handle])
                n_orders = rng.choice([1, 1, 1, 1, 1, 2, 2, 3, 4, 6, 10])
                for j in range(n_orders):
                    when = now - timedelta(days=rng.randint(3, 3650))
                    ow.writerow(
                        [
                            f"{cid}-{j}",
                            cid,
                            when.strftime("%Y-%m-%d"),
                            f"{rng.uniform(49, 1200):.2f}",
                            rng.choice(products),
                            rng.choice(["web", "app", "phone", "airport"]),
                        ]
                    )
        crm_importing.run(org.pk, "customers", customers_csv)
        crm_importing.run(org.pk, "orders", orders_csv)
    return len(chosen)


def replay(org_id: int, events: list[InboundEvent], speed: float, stop: threading.Event) -> int:
    """Feed events in their original rhythm, `speed` times faster; arrival time becomes created_at."""
    if not events:
        return 0
    start_wall = time.monotonic()
    origin = events[0].created_at
    sent = 0
    pending: list[InboundEvent] = []
    for ev in events:
        due = (ev.created_at - origin).total_seconds() / max(speed, 0.001)
        wait = due - (time.monotonic() - start_wall)
        if wait > 0 and pending:
            sent += _push(org_id, pending)
            pending = []
        if wait > 0 and stop.wait(min(wait, 3600)):
            break
        ev.created_at = timezone.now()
        pending.append(ev)
        if len(pending) >= 200:
            sent += _push(org_id, pending)
            pending = []
    if pending and not stop.is_set():
        sent += _push(org_id, pending)
    return sent


def _push(org_id: int, events: list[InboundEvent]) -> int:
    result = accept(org_id, events, "demo:live")
    enqueue_processing(result.raw_ids)
    return result.accepted


def brand_count(org: Organization) -> int:
    return Brand.objects.filter(organization=org).count()


def elapsed_since(start: float) -> timedelta:
    return timedelta(seconds=time.monotonic() - start)
