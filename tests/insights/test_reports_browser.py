"""Reports in a real browser: the tabs keep the filters, the stacked volume chart draws, the CSV downloads."""

from __future__ import annotations

import pytest

from tests.browser_server import ARTIFACTS, CHROMIUM, LAUNCH_ARGS, running_server

pytestmark = pytest.mark.browser
PERIOD = "from=2015-02-01&to=2015-03-01"  # the airline sample's days


@pytest.fixture(scope="module")
def server(tmp_path_factory):  # type: ignore[no-untyped-def]
    yield from running_server(
        tmp_path_factory.mktemp("reports-data"), "e2e", [("lead", "supervisor")], "pw-reports-12345"
    )


def test_a_team_lead_reads_the_reports(server):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        page.goto(server.base + f"/reports/volume/?{PERIOD}")
        page.fill("#id_username", "lead")
        page.fill("#id_password", "pw-reports-12345")
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text("Volume & sentiment")
        expect(page.locator("#volume-chart")).to_be_visible()
        # waited for: the heading shows while the page's scripts still load (seen under load: no Chart yet)
        stacked = page.wait_for_function(
            "() => { const c = window.Chart && Chart.getChart('volume-chart'); return c && [c.options.scales.y.stacked,"
            " c.data.datasets.map(d => d.label)]; }"
        ).json_value()
        assert stacked == [True, ["Negative", "Neutral", "Positive", "Not labelled"]]
        page.screenshot(path=str(ARTIFACTS / "reports-volume.png"), full_page=True)
        page.click("nav[aria-label=Reports] >> text=SLA")
        expect(page.locator("h1")).to_have_text("SLA attainment")
        expect(page.locator("#rf-from")).to_have_value("2015-02-01")  # the tab kept the range
        with page.expect_download() as download:
            page.click(".report-exports >> text=per brand")
        assert download.value.suggested_filename == "hubbub-sla-brands-2015-02-01-2015-03-01.csv"
        brand = page.locator("#rf-brand option").nth(1).inner_text()
        page.select_option("#rf-brand", label=brand)
        page.click("form.report-filters button")
        expect(page.locator("#rf-brand option:checked")).to_have_text(brand)  # the choice is kept
        page.screenshot(path=str(ARTIFACTS / "reports-sla.png"), full_page=True)
        browser.close()
