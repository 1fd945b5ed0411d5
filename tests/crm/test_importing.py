"""Customers and orders come in from CSV files with a column mapping; tiers follow the rules."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hubbub.crm import import_jobs, importing
from hubbub.crm.customer_export import export_rows
from hubbub.crm.inputs import TierRulesIn
from hubbub.crm.models import Customer
from hubbub.ingest.models import QuarantinedEvent


def write(tmp_path, name, text):  # type: ignore[no-untyped-def]
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.fixture
def customers_file(tmp_path):  # type: ignore[no-untyped-def]
    return write(
        tmp_path,
        "customers.csv",
        "Customer ID,Full Name,E-mail,Phone,City,Twitter,Segment,Shoe size\n"
        "C1,Ann Lee,ann@example.com,+1 555 010 2030,Boston,annlee,gold,38\n"
        "C2,Bob Ray,bob@example.com,,Denver,,silver,44\n"
        "C2,Bob Ray again,bob@example.com,,Denver,,silver,44\n"
        ",,,,,,,\n"
        "C4,Cy,not-an-email,,,,,\n",
    )


def test_customer_import_maps_columns_reports_and_quarantines(acme, customers_file) -> None:
    org = acme["org"]
    out = importing.run(org.pk, "customers", customers_file, mapping={"name": "Full Name", "custom.segment": "Segment"})
    assert out["imported"] == 2
    assert out["duplicates"] == 1
    assert out["rejected"] == 2
    assert out["unknown_columns"] == ["Shoe size"]
    assert set(out["rejection_reasons"]) == {"no name, email, phone or id", "invalid email"}
    ann = Customer.objects.get(organization=org, external_id="C1")
    assert (ann.name, ann.email, ann.location, ann.handles) == ("Ann Lee", "ann@example.com", "Boston", ["annlee"])
    assert ann.custom_fields == {"segment": "gold"}
    assert QuarantinedEvent.objects.filter(organization=org, source="import:customers").count() == 2


def test_reimport_updates_instead_of_duplicating(acme, customers_file, tmp_path) -> None:
    org = acme["org"]
    importing.run(org.pk, "customers", customers_file)
    again = write(tmp_path, "c2.csv", "customer_id,name,email\nC1,Ann Lee-Smith,ann@example.com\n")
    out = importing.run(org.pk, "customers", again)
    assert (out["imported"], out["updated"]) == (0, 1)
    assert Customer.objects.get(organization=org, external_id="C1").name == "Ann Lee-Smith"
    assert Customer.objects.filter(organization=org).count() == 2


def test_orders_set_value_and_tier_by_the_org_rules(acme, customers_file, tmp_path) -> None:
    org = acme["org"]
    importing.run(org.pk, "customers", customers_file)
    lines = ["order_id,customer,date,total,product,channel"]
    lines += [f"O{i},C1,2026-0{1 + i % 9}-02,100.50,Shoes,web" for i in range(7)]
    lines += [
        "O90,bob@example.com,2026-03-01,20,Socks,store",
        "O91,C9,2026-03-01,20,Socks,store",
        "O92,C1,yesterday,1,x,",
    ]
    out = importing.run(org.pk, "orders", write(tmp_path, "orders.csv", "\n".join(lines) + "\n"))
    assert (out["imported"], out["rejected"]) == (8, 2)
    ann = Customer.objects.get(organization=org, external_id="C1")
    bob = Customer.objects.get(organization=org, external_id="C2")
    assert ann.order_count == 7 and ann.lifetime_value == Decimal("703.50")
    assert ann.tier == Customer.Tier.LOYAL and bob.tier == Customer.Tier.ONE_TIME
    assert ann.first_purchase_at is not None and ann.last_purchase_at >= ann.first_purchase_at


def test_tier_rules_are_configurable(acme, customers_file, tmp_path, scope_of) -> None:
    from hubbub.crm.services import update_tier_rules

    org = acme["org"]
    importing.run(org.pk, "customers", customers_file)
    importing.run(org.pk, "orders", write(tmp_path, "o.csv", "order_id,customer,date,total\nA,C2,2026-01-01,5\n"))
    update_tier_rules(scope_of(acme["users"]["supervisor"]), TierRulesIn(regular_min_orders=1, loyal_min_orders=50))
    assert Customer.objects.get(organization=org, external_id="C2").tier == Customer.Tier.REGULAR


def test_export_lists_customers_as_csv(acme, customers_file) -> None:
    importing.run(acme["org"].pk, "customers", customers_file)
    text = "".join(export_rows(Customer.objects.filter(organization=acme["org"]).order_by("id")))
    assert text.lstrip("\ufeff").splitlines()[0].startswith("id,external_id,name,email")
    assert "Ann Lee,ann@example.com" in text


def test_cli_import_with_map(acme, customers_file) -> None:
    import json

    from typer.testing import CliRunner

    from hubbub.cli import app

    res = CliRunner().invoke(
        app, ["import", "customers", str(customers_file), "--org", "acme", "--map", "name=Full Name", "--json"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout.strip().splitlines()[-1])["imported"] == 2


def test_spreadsheet_exports_in_windows_1252_with_semicolons_import(acme, tmp_path) -> None:
    """A French Excel "CSV": Windows-1252 bytes and `;` between columns. It used to crash the CLI import."""
    org = acme["org"]
    path = tmp_path / "clients.csv"
    path.write_bytes("Customer ID;Full Name;E-mail;City\nC9;Renée Dupré;renee@example.com;Besançon\n".encode("cp1252"))
    out = importing.run(org.pk, "customers", path, mapping={"name": "Full Name"})
    assert out["imported"] == 1 and out["rejected"] == 0 and out["unknown_columns"] == []
    renee = Customer.objects.get(organization=org, external_id="C9")
    assert (renee.name, renee.email, renee.location) == ("Renée Dupré", "renee@example.com", "Besançon")


def test_upload_preview_reads_semicolon_headers() -> None:
    header, sample = import_jobs.read_header(b"Full Name;E-mail\nAnn Lee;ann@example.com\n")
    assert header == ["Full Name", "E-mail"] and sample == [["Ann Lee", "ann@example.com"]]
