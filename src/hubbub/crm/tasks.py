"""Background CRM work (Huey): fuzzy link suggestions for new authors, HubSpot sync, CSV import jobs.

All run off the ingest hot path and the web request: the batch step only does exact-identifier links,
and the upload page only stores the file and queues its job.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from hubbub.connectors.hubspot import HubSpotError
from hubbub.connectors.models import Channel
from hubbub.crm import identity_links, import_jobs
from hubbub.crm.hubspot_connection import CHANNEL_NAME
from hubbub.crm.models import IdentityLink, SocialProfile
from hubbub.crm.sync import sync_hubspot

log = logging.getLogger("hubbub.crm")


def suggest_for_new_profiles(since: timedelta = timedelta(minutes=15), limit: int = 2000) -> int:
    """Score authors first seen recently, still unlinked and never scored, against the customers."""
    cutoff = timezone.now() - since
    fresh = (
        SocialProfile.objects.filter(customer__isnull=True, is_brand_account=False, first_seen_at__gte=cutoff)
        .exclude(id__in=IdentityLink.objects.values("profile_id"))
        .values_list("organization_id", "id")[:limit]
    )
    by_org: dict[int, list[int]] = {}
    for org_id, pid in fresh:
        by_org.setdefault(org_id, []).append(pid)
    made = 0
    for org_id, ids in by_org.items():
        made += len(identity_links.suggest_links(org_id, ids))
    return made


@db_periodic_task(crontab(minute="*/10"))
def suggest_links_periodically() -> int:
    return suggest_for_new_profiles()


@db_periodic_task(crontab(minute="*/15"))
def sync_hubspot_periodically() -> int:
    """Sync every organisation that connected HubSpot; one failing account does not stop the others."""
    done = 0
    for org_id in Channel.objects.filter(network="other", name=CHANNEL_NAME, is_active=True).values_list(
        "organization_id", flat=True
    ):
        try:
            sync_hubspot(org_id)
            done += 1
        except (HubSpotError, ValueError, OSError):
            log.exception("hubspot sync failed for organisation %s", org_id)
    return done


@db_task()
def run_import_job_task(job_id: int) -> str:
    """Run one uploaded CSV import. Not retried: a failure is shown on the job page (with the rows
    before it imported), and uploading the file again is the safe retry."""
    return import_jobs.run_job(job_id)


@db_periodic_task(crontab(minute="*/10"))
def sweep_import_jobs() -> dict[str, int]:
    return import_jobs.sweep_jobs()
