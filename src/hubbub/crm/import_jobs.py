"""Background CRM imports for the upload page: a file stored on an `ImportJob`, run by a Huey task.

upload: `create_job` checks size, encoding and header and stores the file on an ImportJob (draft) →
mapping: `start_job` checks the columns, queues the job and enqueues the task after commit →
worker: `run_job` claims it, counts the rows and runs `crm.importing.run_stream` (the CLI's code), writing
progress once per chunk. The file lives in the database, so any worker machine can read it; it is emptied
when the job ends. `sweep_jobs` cleans up after abandoned drafts and dead workers.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import Counter
from datetime import timedelta
from functools import partial
from itertools import chain, islice
from typing import TextIO

from django.conf import settings
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from hubbub import textfiles, upload_limits
from hubbub.crm.import_columns import FIELDS, column_names, resolve_columns
from hubbub.crm.importing import CHUNK, run_stream
from hubbub.crm.models import ImportJob
from hubbub.importreport import ImportReport
from hubbub.queueing import enqueue
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, require_role

log = logging.getLogger("hubbub.crm")

DEFAULT_MAX_UPLOAD_MB = 50
DRAFT_TTL = timedelta(days=1)
STALLED_AFTER = timedelta(minutes=30)
REQUEUE_AFTER = timedelta(minutes=10)
# One field of each group must come from the file, else every row would be rejected.
REQUIRED: dict[str, list[tuple[str, ...]]] = {
    "customers": [("external_id", "name", "email", "phone")],
    "orders": [("customer",)],
    "mapping": [("customer",), ("handle",)],
}
STALLED_MESSAGE = (
    "The worker stopped while importing this file (no progress for 30 minutes). "
    "Rows imported before that are kept; upload the file again to finish."
)


def max_upload_bytes() -> int:
    """The web upload limit: `settings.CRM_IMPORT_MAX_BYTES` (from `HUBBUB_IMPORT_MAX_MB`, default 50 MB)."""
    return int(getattr(settings, "CRM_IMPORT_MAX_BYTES", DEFAULT_MAX_UPLOAD_MB * 1024 * 1024))


def too_large_message(size: int) -> str:
    return (
        f"The file is too large ({filesizeformat(size)}; the limit is {filesizeformat(max_upload_bytes())}). "
        "Split it into smaller files (re-importing is safe), or run “hubbub import customers FILE” on the server."
    )


def read_header(data: bytes) -> tuple[list[str], list[list[str]]]:
    """The header and first three rows of an uploaded file; a ValueError says what is wrong with it, including
    a limit of `hubbub.upload_limits` (header length, columns, line and field length) that it passes.

    Read by the same rules as the CLI and the job (`_open`, `textfiles.wrap`): UTF-8, Windows-1252 and UTF-16
    exports alike, delimiter chosen by the column names. Only what is not text at all is refused."""
    if b"\x00" in data[:8192] and not data.startswith(textfiles.UTF16_BOMS):
        raise ValueError("The file holds binary data, not CSV text (is it an Excel workbook?). Save it as CSV.")
    try:
        fh = _open(data)
        first = upload_limits.header_line(fh)  # read no further than the header limit
        known = column_names([f for fields in FIELDS.values() for f in fields])
        lines = chain([first], upload_limits.bounded_lines(fh))
        reader = csv.reader(lines, delimiter=textfiles.sniff_delimiter(first, known))
        header = next(reader, [])
        upload_limits.check_header(header)  # before any page lists the columns
        sample = list(islice(reader, 3))
    except csv.Error as exc:
        raise upload_limits.csv_problem(exc) from exc
    for line_number, row in enumerate([header, *sample], start=1):
        upload_limits.check_fields(row, line_number)
    if not any(h.strip() for h in header):
        raise ValueError("The file is empty or its first line is not a header row with the column names.")
    twice = sorted(h for h, n in Counter(header).items() if n > 1 and h.strip())
    if twice:
        raise ValueError(f"Column names must be unique; this file repeats {', '.join(twice)}.")
    return header, sample


def check_columns(fmt: str, header: list[str], mapping: dict[str, str]) -> dict[str, str]:
    """Field → column for a job, refusing a mapping with which every row would be rejected."""
    cols, _unknown = resolve_columns(fmt, header, mapping)
    for group in REQUIRED[fmt]:
        if not any(f in cols for f in group):
            raise ValueError(f"Choose the column for {' or '.join(group)}: without it every row would be rejected.")
    return cols


def create_job(scope: Scope, fmt: str, name: str, data: bytes) -> ImportJob:
    """Store an upload as a draft job, after the quick checks (size, text, header); the mapping comes next."""
    require_role(scope, Role.SUPERVISOR)
    if fmt not in FIELDS:
        raise ValueError(f"unknown CRM format {fmt!r}; use customers, orders or mapping")
    if len(data) > max_upload_bytes():
        raise ValueError(too_large_message(len(data)))
    header, sample = read_header(data)
    return ImportJob.objects.create(
        organization_id=scope.organization_id,
        created_by=scope.user,
        fmt=fmt,
        file_name=(name or "upload.csv")[:255],
        file_size=len(data),
        content=data,
        header=header,
        sample=sample,
    )


def start_job(scope: Scope, job: ImportJob, mapping: dict[str, str]) -> bool:
    """Queue a draft job with the chosen columns; the task is enqueued once the row is committed.

    False if the job was no longer a draft (a second click), so it is never queued twice.
    """
    require_role(scope, Role.SUPERVISOR)
    mapping = {k: v for k, v in mapping.items() if v}
    check_columns(job.fmt, job.header, mapping)
    with transaction.atomic():
        queued = ImportJob.objects.filter(
            pk=job.pk, organization_id=scope.organization_id, status=ImportJob.Status.DRAFT
        ).update(status=ImportJob.Status.QUEUED, mapping=mapping, updated_at=timezone.now())
        if queued:
            transaction.on_commit(partial(_enqueue, job.pk))
    return bool(queued)


def _enqueue(job_id: int) -> None:
    from hubbub.crm.tasks import run_import_job_task  # tasks imports this module: a cycle at module level

    enqueue(run_import_job_task, job_id)  # a queue outage holds the task: never an error after the commit


def _open(content: bytes) -> TextIO:
    """An uploaded file's bytes as text, by the CLI's rules (`textfiles.wrap`). Decoded as read: a 50 MB file
    does not become a 200 MB string."""
    return textfiles.wrap(io.BytesIO(content))


def run_job(job_id: int) -> str:
    """Import a queued job's file (the Huey task); returns the job's final status.

    Claiming flips queued → running in one UPDATE, so a task delivered twice runs the file once.
    Progress (rows, counts, first rejected rows) is one UPDATE per chunk of `CHUNK` rows.
    """
    now = timezone.now()
    jobs = ImportJob.objects.filter(pk=job_id)
    if not jobs.filter(status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, started_at=now, updated_at=now
    ):
        return "not queued"
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    content = bytes(job.content)  # PostgreSQL hands back a memoryview
    job.content = b""
    report = ImportReport(job.organization_id, f"import:{job.fmt}", job.file_name)

    def progress(done: int, _total: int) -> None:
        jobs.update(
            processed_rows=done,
            created_count=report.imported,
            updated_count=report.updated,
            skipped_count=report.duplicates,
            rejected_count=report.rejected,
            errors=report.errors,
            updated_at=timezone.now(),
        )

    try:
        # DictReader skips blank lines, so they are not counted either.
        jobs.update(total_rows=max(sum(1 for row in csv.reader(_open(content)) if row) - 1, 0))
        summary = run_stream(
            job.organization_id,
            job.fmt,
            _open(content),
            job.file_name,
            job.mapping,
            progress,
            job.created_by,
            report=report,
            chunk_size=CHUNK,
            target=job,
        )
    except Exception as exc:  # the job page must say what happened, whatever it was
        log.exception("import job %s failed", job_id)
        jobs.update(
            status=ImportJob.Status.FAILED,
            message=f"{type(exc).__name__}: {exc}"[:1000],
            errors=report.errors,
            content=b"",
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
        return ImportJob.Status.FAILED
    jobs.update(
        status=ImportJob.Status.DONE,
        total_rows=summary["read"],
        processed_rows=summary["read"],
        created_count=report.imported,
        updated_count=report.updated,
        skipped_count=report.duplicates,
        rejected_count=report.rejected,
        errors=report.errors,
        unknown_columns=summary["unknown_columns"],
        content=b"",
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    return ImportJob.Status.DONE


def sweep_jobs() -> dict[str, int]:
    """Housekeeping (a periodic task): drop abandoned drafts with their files, fail jobs whose worker
    died, and enqueue again queued jobs whose task was lost (claiming makes a second delivery a no-op)."""
    now = timezone.now()
    dropped, _ = ImportJob.objects.filter(status=ImportJob.Status.DRAFT, created_at__lt=now - DRAFT_TTL).delete()
    stalled = ImportJob.objects.filter(status=ImportJob.Status.RUNNING, updated_at__lt=now - STALLED_AFTER).update(
        status=ImportJob.Status.FAILED, message=STALLED_MESSAGE, content=b"", finished_at=now, updated_at=now
    )
    lost = list(
        ImportJob.objects.filter(status=ImportJob.Status.QUEUED, updated_at__lt=now - REQUEUE_AFTER).values_list(
            "pk", flat=True
        )[:100]
    )
    ImportJob.objects.filter(pk__in=lost).update(updated_at=now)
    for pk in lost:
        _enqueue(pk)
    return {"drafts_dropped": dropped, "stalled": stalled, "requeued": len(lost)}
