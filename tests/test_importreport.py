"""An import's rejected rows reach the quarantine that ingest registers, and are never dropped silently."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from hubbub import importreport
from hubbub.importreport import ImportReport
from hubbub.ingest.models import QuarantinedEvent


@pytest.mark.django_db
def test_rejected_rows_are_quarantined_with_their_reason_on_flush(acme) -> None:
    report = ImportReport(acme["org"].pk, "import:customers", "people.csv")
    report.reject(3, "bad email: not-an-address", {"email": "not-an-address"})
    report.note(4, "name cut to 200 characters", "x" * 10)
    assert (report.rejected, dict(report.reasons)) == (1, {"bad email": 1})
    assert not QuarantinedEvent.objects.exists()  # kept in memory until the chunk's transaction flushes
    report.flush()
    rows = {q.location: q for q in QuarantinedEvent.objects.all()}
    assert set(rows) == {"people.csv:3", "people.csv:4"}
    assert rows["people.csv:3"].reason == "bad email: not-an-address"
    assert rows["people.csv:3"].source == "import:customers" and "not-an-address" in rows["people.csv:3"].raw
    assert report.quarantine == []


def test_flush_refuses_when_no_quarantine_is_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importreport, "_sinks", [])
    report = ImportReport(1, "import:surveys", "s.csv")
    report.reject(2, "no score", {})
    with pytest.raises(ImproperlyConfigured):
        report.flush()
