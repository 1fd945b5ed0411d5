"""In a real browser against the real server: the war room draws its charts from the API, and the
query editor underlines a syntax error as the user types. Saves screenshots under test-artifacts/."""

from __future__ import annotations

import pytest
from tests.browser_server import ARTIFACTS, CHROMIUM, EVENTUALLY_MS, LAUNCH_ARGS, running_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):  # type: ignore[no-untyped-def]
    users = [("sup1", "supervisor")]
    for srv in running_server(tmp_path_factory.mktemp("war-room-browser"), "e2e", users, "pw-wr-12345"):
        yield srv.base


def test_war_room_and_query_editor_in_the_browser(server):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(server + "/war-room/?range=7d")
        page.fill("#id_username", "sup1")
        page.fill("#id_password", "pw-wr-12345")
        page.click("button[type=submit]")
        expect(page.locator("h1", has_text="War room")).to_be_visible()
        # the charts are drawn from /api/v1/listening/charts/* once the page has loaded
        expect(page.locator("body[data-warroom-ready='1']")).to_have_count(1)
        assert page.locator("#n-mentions").inner_text() not in ("0", "")
        assert page.evaluate("() => Object.keys(Chart.instances).length") >= 4
        # the share-of-voice doughnut is drawn without the line charts' x/y axes
        sov_axes = "() => Object.values(Chart.getChart('c-sov').scales).filter((s) => s.options.display).length"
        assert page.evaluate(sov_axes) == 0
        expect(page.locator("#l-authors li").first).to_be_visible()
        # the map: the sample's authors mostly give US locations, so it opens on US states
        expect(page.locator("#l-places li").first).to_be_visible()
        expect(page.locator("#map-note")).to_contain_text("are placed")
        assert page.evaluate("() => Object.values(Chart.instances).some((c) => c.config.type === 'choropleth')")
        expect(page.locator("[data-map='us'][aria-pressed='true']")).to_have_count(1)
        page.screenshot(path=str(ARTIFACTS / "war-room.png"), full_page=True)
        page.click("[data-map='world']")
        expect(page.locator("[data-map='world'][aria-pressed='true']")).to_have_count(1)
        expect(page.locator("#l-places li", has_text="United States")).to_be_visible()
        page.locator("#wr-map").screenshot(path=str(ARTIFACTS / "war-room-map-world.png"))

        page.goto(server + "/listening/queries/new/")
        page.fill("#q-text", "delay OR")
        expect(page.locator(".q-at")).to_be_visible(timeout=EVENTUALLY_MS)
        expect(page.locator("#q-check")).to_contain_text("expected a term after OR")
        page.fill("#q-text", 'delay* OR "late flight"')
        expect(page.locator("#q-check")).to_contain_text("Understood as")
        page.click("text=Preview matches on history")
        expect(page.locator("#q-preview")).to_contain_text("stored mentions match")
        page.screenshot(path=str(ARTIFACTS / "query-editor.png"), full_page=True)
        browser.close()
