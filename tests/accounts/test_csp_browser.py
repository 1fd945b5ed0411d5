"""The pages people use all day run under the Content-Security-Policy in a real browser: no violation and no
console error on the inbox (with an htmx pane swap and the brand switcher), the war room, a chart report and the
settings pages."""

from __future__ import annotations

import pytest

from tests.browser_server import ARTIFACTS, CHROMIUM, LAUNCH_ARGS, running_server

pytestmark = pytest.mark.browser
PASSWORD = "pw-csp-12345"
PERIOD = "from=2015-02-01&to=2015-03-01"  # the airline sample's days
# Installed before any page script: records what the policy blocked (the console shows it too).
WATCH_VIOLATIONS = (
    "window.__csp = []; document.addEventListener('securitypolicyviolation', e => window.__csp.push("
    "`${e.violatedDirective} blocked ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`));"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):  # type: ignore[no-untyped-def]
    yield from running_server(tmp_path_factory.mktemp("csp-data"), "e2e", [("boss", "admin")], PASSWORD)


def test_inbox_war_room_and_charts_run_under_the_policy(server):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.add_init_script(WATCH_VIOLATIONS)
        page.on("console", lambda m: errors.append(f"{m.text} {m.location}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.goto(server.base + "/")
        page.fill("#id_username", "boss")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator(".conv-row").first).to_be_visible()
        page.locator(".conv-row a").first.click()  # htmx swaps the thread pane in
        expect(page.locator("#reply-text")).to_be_visible()
        violations = page.evaluate("window.__csp")
        brand = page.locator("#brand-switch option").nth(1).inner_text()
        with page.expect_navigation():
            page.select_option("#brand-switch", label=brand)  # data-autosubmit: no inline handler
        expect(page.locator("#brand-switch option:checked")).to_have_text(brand)
        violations += page.evaluate("window.__csp")
        page.goto(server.base + "/war-room/")
        expect(page.locator("canvas").first).to_be_visible()
        violations += page.evaluate("window.__csp")
        page.goto(server.base + f"/reports/volume/?{PERIOD}")
        expect(page.locator("#volume-chart")).to_be_visible()
        page.wait_for_function("() => window.Chart && Chart.getChart('volume-chart')")  # the nonce'd script ran
        violations += page.evaluate("window.__csp")
        page.screenshot(path=str(ARTIFACTS / "csp-reports-volume.png"))
        page.goto(server.base + "/settings/users/")
        expect(page.locator("h1")).to_contain_text("Users of")
        page.screenshot(path=str(ARTIFACTS / "settings-users.png"), full_page=True)
        page.goto(server.base + "/account/two-factor/")
        expect(page.locator(".qr svg")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "two-factor-setup.png"), full_page=True)
        violations += page.evaluate("window.__csp")
        browser.close()
    assert violations == []
    assert [e for e in errors if "Content Security Policy" in e or "Refused" in e] == []
    unexpected = [e for e in errors if "/favicon.ico" not in e]  # the site has no icon yet: not this test's concern
    assert unexpected == [], "\n".join(unexpected)
