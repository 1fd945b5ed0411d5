"""Every upload is held to limits on size, columns, line and field length, checked from its header before any
page is built from it; the page says which limit was reached and what to do."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from hubbub.crm.models import ImportJob
from hubbub.insights.models import SurveyResponse

pytestmark = pytest.mark.django_db

CUSTOMERS = "/customers/import/"
SURVEYS = "/reports/voice-of-the-customer/upload/"


@pytest.fixture
def client(acme) -> Client:  # type: ignore[no-untyped-def]
    c = Client()
    c.force_login(acme["users"]["supervisor"])
    return c


def _upload(client: Client, url: str, data: bytes, **fields: str) -> str:
    file = SimpleUploadedFile("upload.csv", data, "text/csv")
    response = client.post(url, {**fields, "file": file}, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def _wide(columns: int, rows: int = 1) -> bytes:
    header = ",".join(f"c{i}" for i in range(columns))
    row = ",".join("x" for _ in range(columns))
    return ("name,email," + header + "\n" + ("Ann,ann@example.com," + row + "\n") * rows).encode()


def test_a_million_column_header_is_refused_before_any_mapping_page(client) -> None:
    page = _upload(client, CUSTOMERS, _wide(1_000_000, rows=0), fmt="customers")
    assert "The header (the first line) is longer than 100,000 characters" in page
    assert not ImportJob.objects.exists()


def test_more_columns_than_the_limit_are_refused(client) -> None:
    page = _upload(client, CUSTOMERS, _wide(600), fmt="customers")
    assert "The file has 602 columns; the limit is 500" in page and "Keep only the columns you import" in page
    assert not ImportJob.objects.exists()
    assert '<option value="c9"' in _upload(client, CUSTOMERS, _wide(10), fmt="customers")  # within: the mapping
    assert ImportJob.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"name,email\n" + b"A" * 1_100_000 + b",a@example.com\n", "Line 2 is longer than 1,000,000 characters"),
        (b'name,email\n"' + b"A" * 200_000 + b'",a@example.com\n', "is longer than 131,072 characters"),
    ],
    ids=["line", "field"],
)
def test_over_long_lines_and_fields_are_refused(client, body: bytes, said: str) -> None:
    page = _upload(client, CUSTOMERS, body, fmt="customers")
    assert said in page and "upload it again" in page
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize(("url", "fields"), [(CUSTOMERS, {"fmt": "customers"}), (SURVEYS, {})])
def test_no_upload_is_stored_past_the_size_limit(client, settings, url: str, fields: dict[str, Any]) -> None:
    settings.UPLOAD_MAX_BYTES = 10_000
    page = _upload(client, url, b"name,email\n" + b"Ann,ann@example.com\n" * 1000, **fields)
    assert "The file is too large" in page and "the limit is 9.8\xa0KB" in page
    assert not ImportJob.objects.exists() and not SurveyResponse.objects.exists()


def test_survey_uploads_are_held_to_the_column_limit(client) -> None:
    header = "score,date," + ",".join(f"q{i}" for i in range(600))
    page = _upload(client, SURVEYS, (header + "\n5,2026-01-01" + ",x" * 600 + "\n").encode())
    assert "The file has 602 columns; the limit is 500" in page
    assert not SurveyResponse.objects.exists()


def test_a_draft_stored_before_the_limit_shows_why_not_its_columns(client, acme) -> None:
    job = ImportJob.objects.create(
        organization=acme["org"],
        created_by=acme["users"]["supervisor"],
        fmt="customers",
        file_name="wide.csv",
        content=b"",
        header=[f"c{i}" for i in range(5_000)],
        sample=[],
    )
    page = client.get(f"/customers/import/jobs/{job.pk}/").content.decode()
    assert "The file has 5,000 columns; the limit is 500" in page and "Upload the file again" in page
    assert 'value="c4999"' not in page  # no choice of its columns
