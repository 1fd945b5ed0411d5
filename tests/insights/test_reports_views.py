"""Report pages and CSV exports: tabs, filters, empty states, role rules and formula-safe CSV."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.urls import reverse

from tests.insights.test_reports import NOW, care_data, csat_data  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

RANGE = {"from": "2026-02-24", "to": "2026-03-02"}
PAGES = [
    "reports",
    "insights_reports_sla",
    "insights_reports_volume",
    "insights_reports_agents",
    "insights_reports_csat",
]


def _csv(res) -> list[list[str]]:  # type: ignore[no-untyped-def]
    body = b"".join(res.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


@pytest.mark.parametrize("url_name", PAGES)
def test_every_tab_has_an_empty_state_and_the_sub_navigation(client, acme, url_name) -> None:
    client.force_login(acme["users"]["analyst"])
    res = client.get(reverse(url_name))
    assert res.status_code == 200
    body = res.content.decode()
    assert 'class="empty"' in body and ("Try a wider date range" in body or "hubbub import surveys" in body)
    for label in (
        "Response times",
        "SLA",
        "Volume &amp; sentiment",
        "Agents &amp; teams",
        "CSAT",
        "Voice of the customer",
    ):
        assert f">{label}</a>" in body, label
    assert body.count('aria-current="page"') == 1
    assert re.search(r'<a href="/reports/" class="active">(<svg[^>]*>.*?</svg>)?Reports</a>', body)


def test_sla_page_shows_the_shares_for_the_range(client, care_data, time_machine) -> None:  # noqa: F811
    time_machine.move_to(NOW)
    client.force_login(care_data["users"]["supervisor"])
    body = client.get(reverse("insights_reports_sla"), RANGE).content.decode()
    assert "First response: <strong>60.0%</strong> met of the 5 decided" in body
    assert 'id="sla-chart"' in body and "Acme Air" in body and "No team" in body
    assert 'href="/reports/export/sla/teams.csv?from=2026-02-24&amp;to=2026-03-02&amp;brand=&amp;team="' in body


def test_agent_sees_own_row_only_on_the_page_and_in_the_csv(client, care_data) -> None:  # noqa: F811
    client.force_login(care_data["users"]["agent"])
    body = client.get(reverse("insights_reports_agents"), RANGE).content.decode()
    assert "acme-agent" in body and "acme-supervisor" not in body and "Agents see their own figures" in body
    rows = _csv(client.get(reverse("insights_reports_export", args=["agents", "agents"]), RANGE))
    assert [r[0] for r in rows[1:]] == ["acme-agent"]
    client.force_login(care_data["users"]["supervisor"])
    rows = _csv(client.get(reverse("insights_reports_export", args=["agents", "agents"]), RANGE))
    agent = dict(zip(rows[0], next(r for r in rows if r[0] == "acme-agent"), strict=True))
    assert agent["conversations"] == "3" and agent["first_response_p90"] == "26.0"


def test_csv_cells_that_look_like_formulas_are_defused(client, acme, mentions) -> None:
    from hubbub.tenancy.models import Brand

    evil = Brand.objects.create(organization=acme["org"], name='=HYPERLINK("http://x")', slug="evil")
    mentions(acme["org"], evil, [("negative", "", 2)])
    client.force_login(acme["users"]["analyst"])
    res = client.get(
        reverse("insights_reports_export", args=["volume", "brands"]), {"from": "2026-02-25", "to": "2026-03-02"}
    )
    assert res["Content-Type"].startswith("text/csv") and "attachment" in res["Content-Disposition"]
    rows = _csv(res)
    assert rows[0][:3] == ["brand", "messages", "negative"]
    assert rows[1][:3] == ['\'=HYPERLINK("http://x")', "2", "2"]


def test_csat_page_says_surveys_are_per_brand_only(client, csat_data) -> None:  # noqa: F811
    client.force_login(csat_data["users"]["analyst"])
    body = client.get(reverse("insights_reports_csat"), RANGE).content.decode()
    assert "Average <strong>3.38</strong> of 5 from 4 responses" in body
    assert "shown per brand only" in body and "for the agent who logged it" in body
    air = csat_data["brands"]["Acme Air"].pk
    body = client.get(reverse("insights_reports_csat"), {**RANGE, "brand": air}).content.decode()
    assert "carry no brand" in body


def test_bad_dates_fall_back_with_a_message_and_exports_refuse_them(client, acme) -> None:
    client.force_login(acme["users"]["analyst"])
    body = client.get(reverse("insights_reports_volume"), {"from": "soon"}).content.decode()
    assert "is written YYYY-MM-DD" in body and "Showing the last 30 days instead." in body
    res = client.get(reverse("insights_reports_export", args=["volume", "days"]), {"from": "soon"})
    assert res.status_code == 400
    assert client.get(reverse("insights_reports_export", args=["volume", "nope"])).status_code == 404
    assert client.get(reverse("insights_reports_export", args=["nope", "days"])).status_code == 404


def test_another_organisation_gets_none_of_the_rows(client, care_data, make_org) -> None:  # noqa: F811
    globex = make_org("globex", brands=("Globex",))
    client.force_login(globex["users"]["admin"])
    for name, table in (("sla", "brands"), ("agents", "agents"), ("agents", "teams"), ("response-times", "brands")):
        res = client.get(reverse("insights_reports_export", args=[name, table]), RANGE)
        assert len(_csv(res)) == 1, (name, table)  # the header only
    body = client.get(reverse("insights_reports_agents"), RANGE).content.decode()
    assert "acme-agent" not in body and "No conversations to attribute" in body


def test_login_required(client) -> None:
    for name in PAGES:
        res = client.get(reverse(name))
        assert res.status_code == 302 and "/login/" in res["Location"]
