"""Every role sees only links it may follow: the navigation, the workflow sub-navigation and the customer
pages never lead an agent or an analyst to a "needs the supervisor role" refusal."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db

START = ["/", "/customers/", "/workflow/teams/", "/reports/", "/war-room/", "/listening/"]
SKIP = re.compile(r"logout|/api/|export|format=|download|/static/|/admin/")


@pytest.mark.parametrize("role", ["analyst", "agent", "supervisor", "admin"])
def test_no_link_on_a_page_leads_to_a_refusal(acme, client, role):
    client.force_login(acme["users"][role])
    refused: list[tuple[str, str]] = []
    followed: set[str] = set()
    for page in START:
        r = client.get(page)
        if r.status_code in (302, 403, 404):
            continue  # a start page this role cannot open is not linked for it (checked below when linked)
        assert r.status_code == 200, (page, r.status_code)
        for href in re.findall(r'href="(/[^"#]*)"', r.content.decode()):
            href = href.replace("&amp;", "&")
            if SKIP.search(href) or href in followed:
                continue
            followed.add(href)
            if client.get(href).status_code == 403:
                refused.append((page, href))
    assert followed, "the pages should hold links"
    assert refused == [], f"{role} is shown links it may not open: {refused}"
