"""The design system in a real browser: the keyboard shortcuts list, the theme toggle, the composer in view at
1280×800, and the pages a supervisor on call opens on a phone (390×844): war room, approvals, an incident."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser_server import ARTIFACTS, CHROMIUM, LAUNCH_ARGS, running_server

pytestmark = pytest.mark.browser

PASSWORD = "pw-design-12345"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def server(tmp_path_factory):  # type: ignore[no-untyped-def]
    users = [("agent1", "agent"), ("sup1", "supervisor")]
    for srv in running_server(tmp_path_factory.mktemp("design-browser"), "e2e", users, PASSWORD):
        yield srv.base


@pytest.fixture
def browser():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


def _login(browser: Any, base: str, username: str, viewport: dict[str, int] = LAPTOP) -> Any:
    page = browser.new_page(viewport=viewport)
    page.goto(base + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.locator(".conv-row").first.wait_for()
    page.wait_for_load_state()  # the new page's deferred scripts ran: a click before them did nothing
    return page


# Found, scrolled to and measured in one step: the pane can be swapped by a live reload between two Playwright
# calls, and a box measured on the node just replaced came back empty (CI, under load).
_MEASURE = """(selector) => {
  const element = document.querySelector(selector);
  if (!element || !element.getClientRects().length) return null;
  const inside = (r) => r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth;
  if (!inside(element.getBoundingClientRect())) element.scrollIntoView({ block: "center", inline: "nearest" });
  const r = element.getBoundingClientRect();
  return { x: r.x, y: r.y, width: r.width, height: r.height };
}"""


def _in_view(page: Any, selector: str) -> None:
    """The element is shown, and wholly inside the viewport without scrolling the page sideways."""
    from playwright.sync_api import expect

    expect(page.locator(selector).first).to_be_visible()
    box = page.wait_for_function(_MEASURE, arg=selector).json_value()
    size = page.viewport_size
    assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], (selector, box)
    assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], (selector, box)


def _no_sideways_scroll(page: Any) -> None:
    width, inner = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert width <= inner, f"{page.url}: the page is {width} px wide in a {inner} px window"


def test_the_shortcuts_list_opens_on_question_mark_keeps_focus_and_closes_on_escape(server, browser):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = _login(browser, server, "agent1")
    dialog = page.locator("#shortcuts")
    expect(dialog).to_be_hidden()
    page.keyboard.press("?")
    expect(dialog).to_be_visible()
    for key in ("j", "k", "r", "e", "a", "x", "/", "Ctrl", "Esc"):
        expect(dialog.locator("kbd", has_text=key).first).to_be_visible()
    inside = "document.getElementById('shortcuts').contains(document.activeElement)"
    for _ in range(4):  # Tab and Shift+Tab go round the dialog's own controls
        page.keyboard.press("Tab")
        assert page.evaluate(inside)
        page.keyboard.press("Shift+Tab")
        assert page.evaluate(inside)
    page.keyboard.press("j")  # the inbox's keys wait while the list is open
    expect(page.locator(".conv-row.selected")).to_have_count(0)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # the same list from the top bar's button, by keyboard: focus comes back to the button when it closes
    button = page.locator("#shortcuts-button")
    expect(button).to_have_accessible_name("Keyboard shortcuts")
    button.focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(button).to_be_focused()


FOCUS_RING = """() => {
  const e = document.activeElement, s = getComputedStyle(e);
  const ring = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2;
  const cls = typeof e.className === "string" && e.className ? "." + e.className.split(" ")[0] : "";
  return [e.tagName + (e.id ? "#" + e.id : "") + cls, ring];
}"""


def test_every_control_of_the_inbox_is_reached_by_tab_and_shows_a_focus_ring(server, browser):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = _login(browser, server, "agent1")
    page.goto(server + f"/c/{page.locator('.conv-row').first.get_attribute('data-id')}/")
    expect(page.locator("#thread")).to_be_visible()
    seen: dict[str, bool] = {}
    # the top bar, the sidebar, the filters and the first rows; then the open conversation, to its side panel
    for start, presses in ((None, 30), ("#status-select", 45)):
        if start:  # (else: nothing was focused or clicked yet, so Tab starts at the top of the page)
            page.locator(start).focus()
        for _ in range(presses):
            page.keyboard.press("Tab")
            name, ring = page.evaluate(FOCUS_RING)
            if name != "BODY":  # past the last control, focus leaves the page for the browser's own
                seen.setdefault(name, ring)
    assert [name for name, ring in seen.items() if not ring] == []
    for control in ("BUTTON#shortcuts-button", "BUTTON#theme-toggle", "INPUT#search", "TEXTAREA#reply-text"):
        assert any(name.startswith(control) for name in seen), (control, list(seen))


def test_the_theme_toggle_switches_to_dark_and_is_remembered(server, browser):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = _login(browser, server, "agent1")
    background = "getComputedStyle(document.body).backgroundColor"
    light = page.evaluate(background)
    toggle = page.locator("#theme-toggle")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    dark = page.evaluate(background)
    assert dark != light
    page.reload()
    page.locator(".conv-row").first.wait_for()
    assert page.evaluate(background) == dark  # kept in localStorage, applied before the first paint
    page.locator("#theme-toggle").click()
    assert page.evaluate(background) == light
    # back on the system's own theme, the page follows the system again instead of pinning light
    assert page.evaluate("localStorage.getItem('hubbub.theme')") is None
    page.emulate_media(color_scheme="dark")
    assert page.evaluate(background) == dark
    expect(page.locator("#theme-toggle")).to_have_attribute("aria-pressed", "true")


def test_the_composer_is_in_view_at_1280_by_800_after_opening_a_conversation(server, browser):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = _login(browser, server, "agent1", LAPTOP)
    page.locator(".conv-row a").first.click()
    expect(page.locator("#thread")).to_be_visible()
    _in_view(page, "#reply-text")
    _in_view(page, "form.composer button[type=submit]")
    _no_sideways_scroll(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "design-composer-1280.png"))


def _hold_a_reply_and_open_an_incident(browser: Any, base: str) -> str:
    """As the supervisor at a desk: a policy that holds replies mentioning a refund, one such reply, an open
    incident. Returns the incident's path."""
    from playwright.sync_api import expect

    page = _login(browser, base, "sup1")
    page.goto(base + "/workflow/settings/")
    page.click("text=New approval policy")
    form = page.locator("form[action='/workflow/approval-policies/']").last
    form.locator("input[name=name]").fill("Refunds")
    form.locator("input[name=sensitive_words]").fill("refund")
    form.locator("button.primary").click()
    expect(page.locator(".flash")).to_contain_text("Approval policy saved")
    page.goto(base + "/")
    page.locator(".conv-row a").first.click()
    page.fill("#reply-text", "We will refund the ticket in full today.")
    page.click("text=Send reply")
    expect(page.locator(".pending-replies")).to_contain_text("Needs approval")
    brand = page.locator("#brand-switch option:not([value=''])").first.get_attribute("value")
    page.evaluate(
        """(brand) => {
          const form = document.createElement("form");
          form.method = "post"; form.action = "/war-room/incidents/open/";
          const add = (name, value) => {
            const i = document.createElement("input");
            i.type = "hidden"; i.name = name; i.value = value; form.append(i);
          };
          add("csrfmiddlewaretoken", document.querySelector("[name=csrfmiddlewaretoken]").value);
          add("brand_id", brand); add("title", "Check-in systems down at every airport");
          document.body.append(form); form.submit();
        }""",
        brand,
    )
    page.wait_for_url("**/war-room/incidents/*/")
    path = page.url.removeprefix(base)
    page.close()
    return path


def test_war_room_approvals_and_an_incident_work_on_a_phone(server, browser):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    incident = _hold_a_reply_and_open_an_incident(browser, server)
    page = _login(browser, server, "sup1", PHONE)
    ARTIFACTS.mkdir(exist_ok=True)

    # the sidebar is a menu behind a button
    expect(page.locator("#sidenav")).to_be_hidden()
    page.locator("#menu-toggle").click()
    expect(page.locator("#menu-toggle")).to_have_attribute("aria-expanded", "true")
    page.locator("#sidenav a", has_text="War room").click()

    page.wait_for_url("**/war-room/")
    expect(page.locator("body[data-warroom-ready='1']")).to_have_count(1)
    _no_sideways_scroll(page)
    _in_view(page, ".wr-incident")
    _in_view(page, ".wr-ranges a.active")
    _in_view(page, "#n-mentions")
    page.screenshot(path=str(ARTIFACTS / "design-phone-war-room.png"), full_page=True)

    page.goto(server + "/approvals/")
    _no_sideways_scroll(page)
    expect(page.locator(".approval").first).to_contain_text("refund the ticket")
    _in_view(page, ".approval button[value=approve]")
    page.screenshot(path=str(ARTIFACTS / "design-phone-approvals.png"), full_page=True)

    page.goto(server + incident)
    _no_sideways_scroll(page)
    expect(page.locator("h1")).to_contain_text("Check-in systems down")
    _in_view(page, "#stmt")
    _in_view(page, ".close-form button")
    page.screenshot(path=str(ARTIFACTS / "design-phone-incident.png"), full_page=True)
