"""Pieces every benchmark shares: a Django set up on its own temporary data directory, and real airline
tweets replicated with fresh ids and authors to any volume (each copy threads like new traffic)."""

from __future__ import annotations

import os
from typing import Any


def setup_django(data_dir: str, database_url: str | None = None) -> None:
    """Point settings at `data_dir` (and `database_url`, else embedded SQLite) before Django loads; migrate."""
    os.environ["HUBBUB_DATA_DIR"] = data_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "hubbub.settings"
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ.pop("HUBBUB_TASKS_IMMEDIATE", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def replicated_airline_events(n: int) -> list[Any]:
    """n InboundEvents from the packaged airline tweets; copy k gets ids `<id>-k` and one of 7 author variants."""
    from hubbub.connectors.csv_import import parse_airline
    from hubbub.demo import AIRLINE_FILE

    _, rows = parse_airline(AIRLINE_FILE)
    base = [r.event for r in rows if r.event is not None]
    out: list[Any] = []
    copy = 0
    while len(out) < n:
        for ev in base:
            if len(out) >= n:
                break
            clone = type(ev)(**{f: getattr(ev, f) for f in ev.__dataclass_fields__})
            clone.external_id = f"{ev.external_id}-{copy}"
            clone.author_id = f"{ev.author_id}-{copy % 7}"
            clone.author_handle = clone.author_id
            out.append(clone)
        copy += 1
    return out


# The six brands of the shared airline data set, as (name, slug).
AIRLINE_BRANDS = [
    ("Virgin America", "virgin-america"),
    ("United", "united"),
    ("Southwest", "southwest"),
    ("Delta", "delta"),
    ("US Airways", "us-airways"),
    ("American", "american"),
]


def seed_airline_org() -> Any:
    """An organisation "bench" with the six airline brands of the shared data, and one agent."""
    from django.contrib.auth import get_user_model

    from hubbub.tenancy.models import Brand, Membership, Organization

    org = Organization.objects.create(slug="bench", name="Bench")
    for name, slug in AIRLINE_BRANDS:
        Brand.objects.create(organization=org, name=name, slug=slug, handles=[slug])
    user = get_user_model().objects.create_user("bench-agent", password="x-bench-12345")
    Membership.objects.create(user=user, organization=org, role="agent")
    return org, user
