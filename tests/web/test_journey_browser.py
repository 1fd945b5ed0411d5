"""A morning in Hubbub for each role, in a real browser: every page the sidebar offers loads without a console
error or a server error, and axe-core finds no critical or serious accessibility violation on it, in the light
theme and in the dark one (the system's setting, which the pages follow unless the user picks a theme).

Why the sidebar: it is what each role is offered, so walking it checks the pages a user of that role actually
reaches (an analyst is not offered Settings; an admin is). axe-core is vendored (tests/vendor), so nothing is
downloaded at run time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser_server import CHROMIUM, LAUNCH_ARGS, Server, running_server

pytestmark = [pytest.mark.browser]

PASSWORD = "pw-journey-12345"
ROLES = ["admin", "supervisor", "agent", "analyst"]
THEMES = ["light", "dark"]
AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe.min.js"
# What a user would feel: a control they cannot operate or read (critical, serious). Moderate and minor
# findings are reported by axe too, but left out of the pass mark.
BLOCKING = ("critical", "serious")
# Pages whose markup is a third party's, shipped as is: their load and console are still checked.
NOT_OURS = {"/api/docs": "Swagger UI, served offline by django-ninja"}
AXE_RUN = """async (levels) => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations
    .filter(v => levels.includes(v.impact))
    .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):  # type: ignore[no-untyped-def]
    users = [(f"{role}1", role) for role in ROLES]
    yield from running_server(tmp_path_factory.mktemp("journey-data"), "e2e", users, PASSWORD)


def _sign_in(browser: Any, server: Server, username: str, theme: str = "light") -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 800}, color_scheme=theme)
    page.goto(server.base + "/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.locator(".conv-row").first.wait_for()
    page.wait_for_load_state()  # the new page's deferred scripts ran: a click before them did nothing
    return page


def _sidebar_pages(page: Any) -> list[str]:
    hrefs = page.eval_on_selector_all("nav.sidenav a[href]", "links => links.map(a => a.getAttribute('href'))")
    paths = [h for h in hrefs if h.startswith("/") and not h.startswith("//")]
    return list(dict.fromkeys(p for p in paths if "logout" not in p))


def _problems_on(page: Any, base: str, path: str, console_errors: list[str]) -> list[str]:
    console_errors.clear()
    response = page.goto(base + path)
    page.wait_for_load_state("networkidle")
    problems = []
    if response is None or response.status >= 400:
        problems.append(f"{path}: HTTP {response.status if response else 'no response'}")
    problems += [f"{path}: console error: {e}" for e in console_errors]
    if path in NOT_OURS:
        return problems
    # evaluated through the DevTools protocol, which the page's CSP (rightly strict: no inline scripts) allows
    page.evaluate(AXE.read_text(encoding="utf-8"))
    for v in page.evaluate(AXE_RUN, list(BLOCKING)):
        problems.append(f"{path}: axe {v['impact']} {v['id']} ({v['help']}) at {v['nodes']}")
    return problems


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("role", ROLES)
def test_every_page_a_role_is_offered_loads_cleanly_and_passes_axe(server, role, theme):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page = _sign_in(browser, server, f"{role}1", theme)
            assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (theme == "dark")
            console_errors: list[str] = []
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: console_errors.append(str(e)))
            pages = _sidebar_pages(page)
            assert "/" in pages or any(p.startswith("/inbox") for p in pages), pages
            problems = [problem for path in pages for problem in _problems_on(page, server.base, path, console_errors)]
        finally:
            browser.close()
    assert problems == [], "\n".join(problems)
