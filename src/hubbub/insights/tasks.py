"""Task-engine entry points of the Reports' daily rollups (Huey): idempotent, safe to run twice."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from hubbub.insights import rollups


@db_periodic_task(crontab(minute="*"))
def rebuild_marked_report_days() -> int:
    """Build the days a change marked (a reply, a resolve, an assignment, an ingest batch): until then the
    Reports derive those days from the rows, so this only decides how long they pay for that."""
    return rollups.rebuild_marked()


@db_periodic_task(crontab(minute="7"))
def remark_recent_report_days() -> None:
    """The safety net: today and yesterday are marked again every hour, so a mark lost between a commit and
    its write (a worker killed there) cannot leave those days stale."""
    rollups.mark_recent()
