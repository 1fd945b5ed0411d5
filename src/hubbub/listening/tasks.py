"""Periodic listening jobs (Huey): run the crisis detectors over new mentions every minute."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from hubbub.listening import detection


@db_periodic_task(crontab(minute="*"))
@lock_task("listening-detectors")
def run_detectors_task() -> int:
    """Feed mentions stored since the last run into the detectors; returns how many alerts were raised.

    The lock keeps two workers from feeding the same mentions twice (the
    watermark and the stored-alert de-duplication make a rerun harmless anyway).
    """
    return len(detection.run_detection().alerts)
