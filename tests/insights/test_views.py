"""The voice-of-the-customer page: analysts and up, the organisation's own data only, user text escaped."""

from __future__ import annotations

import io
import re

import pytest
from django.urls import reverse

from hubbub.tenancy.scoping import scope_for

URL = reverse("insights_voc")


def test_empty_state_says_how_to_import(client, acme) -> None:
    client.force_login(acme["users"]["analyst"])
    res = client.get(URL)
    assert res.status_code == 200
    body = res.content.decode()
    assert "No survey responses yet" in body and "hubbub import surveys FILE" in body
    # the page lives under Reports in the nav
    assert re.search(r'<a href="/reports/" class="active">(<svg[^>]*>.*?</svg>)?Reports</a>', body)


def test_table_chart_and_verdicts_for_every_role(client, acme, mentions, responses) -> None:
    air = acme["brands"]["Acme Air"]
    mentions(acme["org"], air, [("negative", "<script>alert(1)</script>", 24), ("positive", "", 16)])
    responses(acme["org"], air, [(1, "negative", "refunds", 8), (5, "positive", "", 32)])
    for role in ("analyst", "agent", "supervisor", "admin"):
        client.force_login(acme["users"][role])
        res = client.get(URL)
        assert res.status_code == 200, role
    body = res.content.decode()
    assert "social is more negative than surveys: 60% [45–74] vs 20% [10–35]" in body
    assert 'id="voc-chart"' in body and 'id="voc-data"' in body and "chart.min.js" in body
    assert "Dissatisfied (CSAT 1–2)" in body
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert 'href="/reports/voice-of-the-customer/"' not in body  # the reports tab links back, not to itself


def test_another_organisation_sees_none_of_it(client, acme, make_org, responses) -> None:
    responses(acme["org"], acme["brands"]["Acme Air"], [(1, "negative", "secret-topic", 40)])
    globex = make_org("globex", brands=("Globex",))
    client.force_login(globex["users"]["analyst"])
    body = client.get(URL, {"brand": acme["brands"]["Acme Air"].pk}).content.decode()
    assert "No survey responses" in body and "secret-topic" not in body


def test_filters_and_a_bad_date(client, acme, responses) -> None:
    air, rail = acme["brands"]["Acme Air"], acme["brands"]["Acme Rail"]
    responses(acme["org"], air, [(5, "positive", "", 3)])
    client.force_login(acme["users"]["analyst"])
    assert "No survey responses for this selection" in client.get(URL, {"brand": rail.pk}).content.decode()
    body = client.get(URL, {"from": "yesterday"}).content.decode()
    assert "Dates are written YYYY-MM-DD" in body and "3 survey responses" in body
    body = client.get(URL, {"from": "2026-03-01", "to": "2026-03-01"}).content.decode()
    assert "3 survey responses" in body and "2026-03-01 to 2026-03-01" in body


def test_login_required(client) -> None:
    res = client.get(URL)
    assert res.status_code == 302 and "/login/" in res["Location"]


UPLOAD = reverse("insights_voc_upload")


def test_upload_imports_reports_and_quarantines(client, acme) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from hubbub.ingest.models import QuarantinedEvent
    from hubbub.insights.models import SurveyResponse

    text = "Response ID;Date;CSAT;Feedback\nr1;2026-03-01;5;Lovely <b>crew</b>\nr2;2026-03-01;9;out of range\n"
    client.force_login(acme["users"]["analyst"])
    rail = acme["brands"]["Acme Rail"]
    res = client.post(
        f"{UPLOAD}?brand={rail.pk}", {"file": SimpleUploadedFile("s.csv", text.encode("cp1252"))}, follow=True
    )
    body = res.content.decode()
    assert "s.csv: imported 1, updated 0, duplicates 0, rejected 1 (csat 1–5 scale)" in body
    assert "1 × score out of range" in body
    r1 = SurveyResponse.objects.get(organization=acme["org"])
    assert (r1.external_id, r1.brand, r1.comment) == ("r1", rail, "Lovely <b>crew</b>")
    assert QuarantinedEvent.objects.filter(organization=acme["org"], source="import:surveys").count() == 1


def test_upload_refusals_are_messages_not_errors(client, acme) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(acme["users"]["analyst"])
    body = client.post(UPLOAD, {"file": SimpleUploadedFile("x.csv", b"id,words\n1,hi\n")}, follow=True).content.decode()
    assert "no column for score" in body
    assert "Choose a survey CSV file" in client.post(UPLOAD, follow=True).content.decode()
    assert client.get(UPLOAD).status_code == 405


def test_upload_too_large_for_the_page(client, acme, monkeypatch) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from hubbub.insights import importing
    from hubbub.insights.models import SurveyResponse

    monkeypatch.setattr(importing, "UPLOAD_MAX_BYTES", 10)
    client.force_login(acme["users"]["analyst"])
    data = b"id,date,csat\n1,2026-01-01,5\n"
    body = client.post(UPLOAD, {"file": SimpleUploadedFile("big.csv", data)}, follow=True).content.decode()
    assert "too large for the page" in body and "hubbub import surveys big.csv" in body
    with pytest.raises(ValueError, match="too large"):
        importing.upload(scope_for(acme["users"]["analyst"]), "big.csv", io.BytesIO(data), len(data))
    assert not SurveyResponse.objects.exists()


def test_an_upload_on_disk_with_the_scale_in_its_values_is_read_twice_from_itself(client, acme, settings) -> None:
    """Uploads over Django's memory limit arrive as a temporary file of Django's; the import reads that file
    (twice: the score range first) rather than copying it."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from hubbub.insights.models import SurveyResponse

    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    text = "id,date,rating\n" + "".join(f"r{i},2026-03-01,{i}\n" for i in range(1, 8))
    client.force_login(acme["users"]["analyst"])
    body = client.post(UPLOAD, {"file": SimpleUploadedFile("r.csv", text.encode())}, follow=True).content.decode()
    assert "r.csv: imported 7, updated 0, duplicates 0, rejected 0 (other 1–7 scale)" in body
    assert SurveyResponse.objects.filter(organization=acme["org"], scale="other").count() == 7
