"""The upload page imports in the background: a job stores the file, a Huey task imports it in chunks,
and the job page polls its progress. Only supervisors and admins import; other organisations get 404."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from hubbub import importreport
from hubbub.crm import import_jobs, import_rows, importing
from hubbub.crm.models import Customer, ImportJob, Order
from hubbub.ingest.models import QuarantinedEvent
from hubbub.tenancy.models import AuditEvent

CUSTOMERS = (
    "Customer ID,Full Name,E-mail,City\n"
    "C1,Ann Lee,ann@example.com,Boston\n"  # row 2
    "C2,Bob Ray,<b>bob</b>,Denver\n"  # row 3: invalid email, with markup to escape
    "C3,Cy Young,cy@example.com,Austin\n"  # row 4
    ",,,\n"  # row 5: nothing to identify the customer
    "C1,Ann Lee again,ann@example.com,Boston\n"  # row 6: repeated in the file
    "C6,Di Hall,di@example.com,Reno\n"  # row 7
)


@pytest.fixture
def sup_client(client, acme):  # type: ignore[no-untyped-def]
    client.force_login(acme["users"]["supervisor"])
    return client


def upload(client, text: str | bytes, name: str = "customers.csv", fmt: str = "customers"):  # type: ignore[no-untyped-def]
    data = text.encode() if isinstance(text, str) else text
    return client.post("/customers/import/", {"fmt": fmt, "file": SimpleUploadedFile(name, data, "text/csv")})


def start(client, job: ImportJob, capture, **mapping: str):  # type: ignore[no-untyped-def]
    """Confirm the column mapping; the task runs inline (tests use Huey's immediate mode) on commit."""
    with capture(execute=True):
        return client.post(f"/customers/import/jobs/{job.pk}/start/", {f"map_{k}": v for k, v in mapping.items()})


def import_file(client, capture, text: str, fmt: str = "customers", **mapping: str) -> ImportJob:  # type: ignore[no-untyped-def]
    r = upload(client, text, fmt=fmt)
    assert r.status_code == 302, r.content
    job = ImportJob.objects.latest("id")
    start(client, job, capture, **mapping)
    job.refresh_from_db()
    return job


def test_upload_stores_the_file_on_a_draft_job_and_asks_for_the_columns(sup_client, acme) -> None:
    r = upload(sup_client, CUSTOMERS)
    job = ImportJob.objects.get(organization=acme["org"])
    assert r.status_code == 302 and r["Location"] == f"/customers/import/jobs/{job.pk}/"
    assert job.status == "draft" and job.created_by == acme["users"]["supervisor"]
    assert job.file_name == "customers.csv" and bytes(job.content) == CUSTOMERS.encode()
    assert job.header == ["Customer ID", "Full Name", "E-mail", "City"] and len(job.sample) == 3
    page = sup_client.get(r["Location"])
    assert page.status_code == 200 and b"Map columns" in page.content
    assert dict(page.context["fields"])["email"] == "E-mail"  # guessed from the header
    assert not Customer.objects.exists()  # nothing imported before the columns are confirmed


def test_the_task_imports_every_row_with_counts_audit_and_no_file_left(
    sup_client, acme, django_capture_on_commit_callbacks
) -> None:
    job = import_file(sup_client, django_capture_on_commit_callbacks, CUSTOMERS, name="Full Name", email="E-mail")
    assert job.status == "done" and job.started_at and job.finished_at
    assert (job.total_rows, job.processed_rows) == (6, 6)
    assert (job.created_count, job.updated_count, job.skipped_count, job.rejected_count) == (3, 0, 1, 2)
    assert job.mapping == {"name": "Full Name", "email": "E-mail"}
    assert sorted(Customer.objects.filter(organization=acme["org"]).values_list("external_id", flat=True)) == [
        "C1",
        "C3",
        "C6",
    ]
    assert bytes(job.content) == b""  # the upload is not kept once imported
    entry = AuditEvent.objects.get(organization=acme["org"], verb="crm.import.customers")
    assert entry.actor_id == acme["users"]["supervisor"].pk
    assert (entry.target_type, entry.target_id) == ("importjob", str(job.pk))
    assert entry.data["imported"] == 3 and entry.data["file"] == "customers.csv"
    html = sup_client.get(f"/customers/import/jobs/{job.pk}/").content.decode()
    assert "Done" in html and "import_job.js" not in html  # finished: no polling


def test_progress_json_follows_the_chunks(sup_client, acme, django_capture_on_commit_callbacks, monkeypatch) -> None:
    seen: list[dict] = []
    real = import_jobs.run_stream

    def spying(*args: Any, **kwargs: Any) -> dict[str, Any]:
        org_id, fmt, fh, name, mapping, report_progress, *rest = args

        def on_progress(done: int, total: int) -> None:
            report_progress(done, total)
            job_id = ImportJob.objects.latest("id").pk
            seen.append(sup_client.get(f"/customers/import/jobs/{job_id}/progress.json").json())

        return real(org_id, fmt, fh, name, mapping, on_progress, *rest, **kwargs)

    monkeypatch.setattr(import_jobs, "CHUNK", 2)
    monkeypatch.setattr(import_jobs, "run_stream", spying)
    job = import_file(sup_client, django_capture_on_commit_callbacks, CUSTOMERS)
    assert [s["processed_rows"] for s in seen] == [2, 4, 6]
    assert [s["percent"] for s in seen] == [33.3, 66.7, 100.0]
    assert all(s["status"] == "running" and s["total_rows"] == 6 and not s["finished"] for s in seen)
    assert [s["rejected"] for s in seen] == [1, 2, 2] and seen[-1]["created"] == 3
    final = sup_client.get(f"/customers/import/jobs/{job.pk}/progress.json").json()
    assert final["status"] == "done" and final["finished"] and final["percent"] == 100.0
    assert final["processed_rows"] == 6 and final["rows_per_second"] >= 0


def test_progress_json_of_a_running_job(sup_client, acme) -> None:
    job = ImportJob.objects.create(
        organization=acme["org"],
        file_name="big.csv",
        status="running",
        total_rows=10_000,
        processed_rows=4_000,
        created_count=3_900,
        rejected_count=100,
        started_at=timezone.now() - timedelta(seconds=10),
    )
    data = sup_client.get(f"/customers/import/jobs/{job.pk}/progress.json").json()
    assert data["percent"] == 40.0 and data["processed_rows"] == 4_000 and data["total_rows"] == 10_000
    assert 300 <= data["rows_per_second"] <= 400
    assert (data["created"], data["rejected"], data["finished"]) == (3_900, 100, False)
    html = sup_client.get(f"/customers/import/jobs/{job.pk}/").content.decode()
    assert "import_job.js" in html and 'value="40.0"' in html and "progress.json" in html


def test_bad_rows_are_listed_with_row_numbers_and_escaped(sup_client, acme, django_capture_on_commit_callbacks) -> None:
    job = import_file(sup_client, django_capture_on_commit_callbacks, CUSTOMERS)
    assert job.errors == [
        {"row": 3, "reason": "invalid email: <b>bob</b>"},
        {"row": 5, "reason": "no name, email, phone or id"},
    ]
    locations = QuarantinedEvent.objects.filter(organization=acme["org"]).values_list("location", flat=True)
    assert sorted(locations) == ["customers.csv:3", "customers.csv:5"]  # all of them kept in Quarantine
    html = sup_client.get(f"/customers/import/jobs/{job.pk}/").content.decode()
    assert "Rejected rows" in html and "<td>3</td>" in html and "<td>5</td>" in html
    assert "&lt;b&gt;bob&lt;/b&gt;" in html and "<b>bob</b>" not in html


def test_only_the_first_rejected_rows_are_kept_on_the_job(
    sup_client, acme, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    monkeypatch.setattr(importreport, "MAX_ERROR_ROWS", 2)
    text = "email\n" + "".join(f"bad{i}\n" for i in range(5))
    job = import_file(sup_client, django_capture_on_commit_callbacks, text)
    assert job.rejected_count == 5 and [e["row"] for e in job.errors] == [2, 3]
    assert QuarantinedEvent.objects.filter(organization=acme["org"]).count() == 5
    assert "The first 2 of 5 rejected rows" in sup_client.get(f"/customers/import/jobs/{job.pk}/").content.decode()


def test_reimporting_the_same_file_is_idempotent(sup_client, acme, django_capture_on_commit_callbacks) -> None:
    first = import_file(sup_client, django_capture_on_commit_callbacks, CUSTOMERS)
    again = import_file(sup_client, django_capture_on_commit_callbacks, CUSTOMERS)
    assert first.pk != again.pk and again.status == "done"
    assert (again.created_count, again.updated_count, again.skipped_count) == (0, 3, 1)
    assert Customer.objects.filter(organization=acme["org"]).count() == 3


def test_orders_import_as_a_job_recomputes_tiers(sup_client, acme, django_capture_on_commit_callbacks) -> None:
    import_file(sup_client, django_capture_on_commit_callbacks, CUSTOMERS)
    orders = "order_id,customer,date,total\n" + "".join(f"O{i},C1,2026-01-0{i},10\n" for i in range(1, 4))
    job = import_file(sup_client, django_capture_on_commit_callbacks, orders, fmt="orders")
    assert job.status == "done" and job.created_count == 3
    ann = Customer.objects.get(organization=acme["org"], external_id="C1")
    assert ann.order_count == 3 and Order.objects.filter(customer=ann).count() == 3


def test_other_organisations_jobs_are_404(client, acme, make_org) -> None:
    job = ImportJob.objects.create(organization=acme["org"], file_name="acme.csv", header=["email"])
    other = make_org("globex")
    client.force_login(other["users"]["admin"])
    for url in (f"/customers/import/jobs/{job.pk}/", f"/customers/import/jobs/{job.pk}/progress.json"):
        assert client.get(url).status_code == 404
    assert client.post(f"/customers/import/jobs/{job.pk}/start/", {"map_email": "email"}).status_code == 404
    assert b"acme.csv" not in client.get("/customers/import/").content
    job.refresh_from_db()
    assert job.status == "draft"


@pytest.mark.parametrize("role", ["agent", "analyst"])
def test_only_supervisors_and_admins_import_or_see_jobs(client, acme, role) -> None:
    job = ImportJob.objects.create(organization=acme["org"], file_name="acme.csv", header=["email"])
    client.force_login(acme["users"][role])
    assert client.get("/customers/import/").status_code == 403
    assert upload(client, CUSTOMERS).status_code == 403
    assert client.get(f"/customers/import/jobs/{job.pk}/").status_code == 403
    assert client.get(f"/customers/import/jobs/{job.pk}/progress.json").status_code == 403
    assert client.post(f"/customers/import/jobs/{job.pk}/start/", {"map_email": "email"}).status_code == 403
    assert ImportJob.objects.count() == 1


def test_admins_import_too(client, acme, django_capture_on_commit_callbacks) -> None:
    client.force_login(acme["users"]["admin"])
    job = import_file(client, django_capture_on_commit_callbacks, CUSTOMERS)
    assert job.status == "done" and job.created_by == acme["users"]["admin"]


def test_oversize_upload_is_refused_with_a_message(sup_client, settings) -> None:
    settings.CRM_IMPORT_MAX_BYTES = 100
    r = upload(sup_client, CUSTOMERS + "C7,Ed,ed@example.com,Rome\n" * 3)
    assert r.status_code == 302
    html = sup_client.get(r["Location"]).content.decode()
    assert "The file is too large (284\xa0bytes; the limit is 100\xa0bytes)" in html
    # A request body far over the limit is refused from its Content-Length, before the file is read.
    r = upload(sup_client, "email\n" + "x@example.com\n" * 10_000, fmt="customers")
    assert "too large" in sup_client.get(r["Location"]).content.decode()
    assert not ImportJob.objects.exists()


SPREADSHEET = (
    "Customer ID;Full Name;E-mail;City\r\n"
    "W1;Zoë Müller;zoe@example.com;Köln\r\n"
    "W2;René Côté;rene@example.com;Montréal\r\n"
)


@pytest.mark.parametrize(
    "data",
    [SPREADSHEET.encode("cp1252"), SPREADSHEET.encode("utf-16"), b"\xef\xbb\xbf" + SPREADSHEET.encode()],
    ids=["windows-1252", "utf-16", "utf-8-bom"],
)
def test_the_upload_reads_what_the_cli_reads(
    sup_client, acme, make_org, tmp_path, django_capture_on_commit_callbacks, data: bytes
) -> None:
    """A spreadsheet's "CSV" from Excel in Paris (Windows-1252, ';') or its "Unicode text" (UTF-16): the preview
    and the background job read it as `hubbub import customers FILE` does, accents and all."""
    r = upload(sup_client, data)
    job = ImportJob.objects.get()
    assert r["Location"] == f"/customers/import/jobs/{job.pk}/"
    assert job.header == ["Customer ID", "Full Name", "E-mail", "City"]
    assert "Zoë Müller" in sup_client.get(r["Location"]).content.decode()  # the preview
    start(sup_client, job, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert (job.status, job.created_count, job.rejected_count) == ("done", 2, 0)

    path = tmp_path / "export.csv"
    path.write_bytes(data)
    other = make_org("cli")
    importing.run(other["org"].pk, "customers", path)
    fields = ("external_id", "name", "email", "location")
    by_web = sorted(Customer.objects.filter(organization=acme["org"]).values_list(*fields))
    assert by_web == sorted(Customer.objects.filter(organization=other["org"]).values_list(*fields))
    assert by_web[0] == ("W1", "Zoë Müller", "zoe@example.com", "Köln")


def test_files_that_are_not_csv_text_are_refused_at_upload(sup_client) -> None:
    for data, says in (
        (b"PK\x03\x04\x00\x00binary", "holds binary data"),
        (b"\n\nemail\n", "The file is empty or its first line is not a header row"),
        (b"email,email\nx@example.com,y@example.com\n", "this file repeats email"),
    ):
        r = upload(sup_client, data)
        assert r.status_code == 302 and r["Location"].startswith("/customers/import/")
        assert says in sup_client.get(r["Location"]).content.decode()
    assert not ImportJob.objects.exists()


def test_a_mapping_that_would_reject_every_row_is_refused(sup_client, django_capture_on_commit_callbacks) -> None:
    upload(sup_client, "Segment,Shoe size\ngold,38\n")
    job = ImportJob.objects.get()
    r = start(sup_client, job, django_capture_on_commit_callbacks)
    assert (
        "Choose the column for external_id or name or email or phone" in sup_client.get(r["Location"]).content.decode()
    )
    job.refresh_from_db()
    assert job.status == "draft"


def test_a_second_click_does_not_run_the_file_twice(sup_client, acme, django_capture_on_commit_callbacks) -> None:
    job = import_file(sup_client, django_capture_on_commit_callbacks, CUSTOMERS)
    start(sup_client, job, django_capture_on_commit_callbacks)
    assert import_jobs.run_job(job.pk) == "not queued"
    assert AuditEvent.objects.filter(verb="crm.import.customers").count() == 1


def test_a_failing_import_is_marked_failed_and_keeps_its_rejected_rows(
    sup_client, acme, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    real = import_rows.customers_chunk
    calls = {"n": 0}

    def second_chunk_breaks(*args):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(*args)

    monkeypatch.setattr(import_jobs, "CHUNK", 3)
    monkeypatch.setattr(import_rows, "customers_chunk", second_chunk_breaks)
    job = import_file(sup_client, django_capture_on_commit_callbacks, CUSTOMERS)
    assert job.status == "failed" and "disk full" in job.message and job.finished_at
    assert job.processed_rows == 3 and job.created_count == 2
    assert job.errors == [{"row": 3, "reason": "invalid email: <b>bob</b>"}]
    assert bytes(job.content) == b""
    html = sup_client.get(f"/customers/import/jobs/{job.pk}/").content.decode()
    assert "The import failed" in html and "upload it again" in html and "import_job.js" not in html


def test_empty_states(sup_client, django_capture_on_commit_callbacks) -> None:
    assert "No imports yet" in sup_client.get("/customers/import/").content.decode()
    job = import_file(sup_client, django_capture_on_commit_callbacks, "email,name\n")
    assert job.status == "done" and job.total_rows == 0
    html = sup_client.get(f"/customers/import/jobs/{job.pk}/").content.decode()
    assert "Nothing to import" in html
    assert "customers.csv" in sup_client.get("/customers/import/").content.decode()  # listed as a recent import


def test_sweep_drops_old_drafts_fails_dead_jobs_and_requeues_lost_ones(acme) -> None:
    old = timezone.now() - timedelta(days=2)
    draft = ImportJob.objects.create(organization=acme["org"], file_name="d.csv", content=b"email\n")
    ImportJob.objects.filter(pk=draft.pk).update(created_at=old)
    dead = ImportJob.objects.create(
        organization=acme["org"], file_name="r.csv", status="running", updated_at=old, content=b"email\n"
    )
    lost = ImportJob.objects.create(
        organization=acme["org"],
        file_name="q.csv",
        status="queued",
        updated_at=old,
        header=["email"],
        content=b"email\nlost@example.com\n",
    )
    fresh = ImportJob.objects.create(organization=acme["org"], file_name="f.csv", status="queued", updated_at=None)
    assert import_jobs.sweep_jobs() == {"drafts_dropped": 1, "stalled": 1, "requeued": 1}
    assert not ImportJob.objects.filter(pk=draft.pk).exists()
    dead.refresh_from_db()
    assert dead.status == "failed" and "worker stopped" in dead.message and bytes(dead.content) == b""
    lost.refresh_from_db()
    assert lost.status == "done" and Customer.objects.filter(email="lost@example.com").exists()
    fresh.refresh_from_db()
    assert fresh.status == "queued"


def test_starting_an_import_while_the_task_queue_is_down_is_not_an_error(
    sup_client, acme, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    """The job is committed before its task is queued: a refused task (Redis stopped) must not turn the
    confirmed import into an error page (which invites a second click); it is held and offered again."""
    from types import SimpleNamespace

    from hubbub import queueing
    from hubbub.crm import tasks

    queued: list[int] = []
    reachable = False

    def task(job_id: int) -> None:
        if not reachable:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        queued.append(job_id)

    monkeypatch.setattr(tasks, "run_import_job_task", task)
    monkeypatch.setattr(queueing, "HUEY", SimpleNamespace(immediate=False))
    outbox = queueing.Outbox()
    monkeypatch.setattr(queueing, "outbox", outbox)
    upload(sup_client, CUSTOMERS)
    job = ImportJob.objects.latest("id")
    r = start(sup_client, job, django_capture_on_commit_callbacks, name="Full Name", email="E-mail")
    assert r.status_code == 302, r.content
    job.refresh_from_db()
    assert job.status == "queued" and len(outbox) == 1 and queued == []
    reachable = True  # the queue is back: the held task goes in, once
    assert outbox.offer_all() and queued == [job.pk] and len(outbox) == 0
