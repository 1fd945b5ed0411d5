"""No CSV download lets a spreadsheet run a formula that a customer, a network or a user typed.

The exports are found the way a user finds them: every page of the URL conf is opened as an admin and
every link that downloads a CSV is followed, so a new export is checked without anyone listing it here.
Every route whose path ends in `.csv` must be among those found (else the crawl missed one), and no
module under `src/` may write CSV except `hubbub.csv_export`.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin

import pytest
from django.test import Client

from hubbub.crm.models import Customer
from hubbub.csv_export import FORMULA_START
from hubbub.tenancy.models import AuditEvent, Brand
from tests.security.routes import all_routes

pytestmark = pytest.mark.django_db

SRC = Path(__file__).resolve().parents[2] / "src" / "hubbub"
# Modules that write CSV files that are not downloads: demo.py writes the demo's input files for the
# importers (escaping would change the data they import).
WRITES_CSV_INPUT_FILES = {"demo.py", "demo_history.py"}  # files the demo imports, not downloads
HREF = re.compile(r'href="([^"]+)"')


@pytest.fixture
def seeded(acme, make_event, ingest):  # type: ignore[no-untyped-def]
    """Formula payloads in every kind of text an export carries: customer fields, a brand name (report
    rows), an audit entry's verb and target."""
    org = acme["org"]
    Customer.objects.create(
        organization=org,
        name='=HYPERLINK("http://evil.example","click")',
        email="ann@example.com",
        phone="+1+cmd|' /C calc'!A0",
        address="@SUM(1+1)*cmd|' /C calc'!A0",
        location="\tTabbed",
        external_id="-2+3+cmd|' /C calc'!A0",
    )
    Brand.objects.create(organization=org, name="=EVIL()", slug="evil", handles=["Evil"])
    now = datetime.now(UTC).replace(microsecond=0)
    ingest(org, [make_event("\rhello", brand="evil", author="eve", created_at=now)])
    AuditEvent.objects.create(organization=org, verb="=audit()", target_type="@cmd", target_id="-1+1")
    return acme


def _csv_downloads(client: Client) -> dict[str, str]:
    """Every CSV a user can download by following links from the pages without parameters."""
    candidates: set[str] = set()
    for route in all_routes():
        if route.params or route.is_admin or route.is_api:
            continue
        page_url = route.fill({})
        response = client.get(page_url)
        if response.status_code != 200 or not response.get("Content-Type", "").startswith("text/html"):
            continue
        for href in HREF.findall(response.content.decode()):
            href = href.replace("&amp;", "&")
            if "csv" in href.lower() or "export" in href.lower():
                candidates.add(urljoin(page_url, href))
    found: dict[str, str] = {}
    for url in sorted(candidates):
        response = client.get(url)
        if response.status_code == 200 and response.get("Content-Type", "").startswith("text/csv"):
            body = response.getvalue() if response.streaming else response.content
            found[url] = body.decode("utf-8-sig")
    return found


def _unsafe_cells(text: str) -> list[str]:
    unsafe = []
    for row in csv.reader(io.StringIO(text, newline="")):
        for cell in row:
            if cell.startswith(FORMULA_START) and not _is_number(cell):
                unsafe.append(cell)
    return unsafe


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_every_csv_download_escapes_formulas(seeded) -> None:
    client = Client()
    client.force_login(seeded["users"]["admin"])
    downloads = _csv_downloads(client)

    csv_routes = [r for r in all_routes() if r.template.endswith(".csv")]
    for route in csv_routes:
        pattern = "^/" + re.sub(r"<[^>]+>", "[^/]+", re.escape(route.template).replace(r"\<", "<").replace(r"\>", ">"))
        assert any(re.match(pattern, url) for url in downloads), f"no link found to the export {route.template}"
    assert any("format=csv" in url for url in downloads), "the audit log's export was not found"

    for url, text in downloads.items():
        assert _unsafe_cells(text) == [], f"{url} writes formula cells raw"
    everything = "\n".join(downloads.values())
    for shown in ("'=HYPERLINK(", "'+1+cmd", "'@SUM(1+1)", "'\tTabbed", "'-2+3+cmd", "'=audit()", "'@cmd", "'=EVIL()"):
        assert shown in everything, f"{shown!r} missing: the payload was not exported at all"


def test_only_the_shared_writer_writes_csv() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.name in WRITES_CSV_INPUT_FILES or path == SRC / "csv_export.py":
            continue
        text = path.read_text()
        if "csv.writer" in text or "csv.DictWriter" in text or "text/csv" in text:
            offenders.append(str(path.relative_to(SRC)))
    assert offenders == [], "write CSV downloads with hubbub.csv_export (formula-safe, streamed)"
