"""The workspace in a real browser: an analyst is offered no control the server would refuse; a refused action
says why where the agent acted; the reply box stays in view under a long thread; the API docs work offline."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.browser_server import CHROMIUM, LAUNCH_ARGS, Server, running_server

pytestmark = [pytest.mark.browser]

PASSWORD = "pw-e2e-12345"
VIEWPORTS = [(1280, 800), (1440, 900)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):  # type: ignore[no-untyped-def]
    users = [("analyst1", "analyst"), ("agent1", "agent")]
    yield from running_server(tmp_path_factory.mktemp("workspace-data"), "e2e", users, PASSWORD)


def sign_in(p: Any, server: Server, username: str, width: int = 1440, height: int = 900) -> tuple[Any, Any]:
    browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(server.base + "/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.locator(".conv-row").first.wait_for()
    page.wait_for_load_state()  # the new page's deferred scripts ran: a click before them did nothing
    return browser, page


def long_thread(server: Server, author: str, n: int) -> None:
    """`n` mentions of one customer to United: one open conversation (threading rule 2), processed at once."""
    path = Path(server.data_dir) / f"{author}.jsonl"
    rows = [
        {
            "id": f"{author}-{i}",
            "text": f"@united message {i} about my delayed bag, still waiting at the carousel",
            "brand": "United",
            "author_id": author,
            "created_at": f"2031-01-01T10:{i:02d}:00Z",
        }
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cmd = [*server.cli, "import", "jsonl", str(path), "--org", "e2e"]
    subprocess.run(cmd, env=server.env, check=True, capture_output=True)


def user_id(server: Server, username: str) -> int:
    with sqlite3.connect(Path(server.data_dir) / "hubbub.sqlite3") as db:
        return int(db.execute("SELECT id FROM auth_user WHERE username = ?", (username,)).fetchone()[0])


def open_first(page: Any) -> None:
    from playwright.sync_api import expect

    page.locator(".conv-row a").first.click()
    expect(page.locator("#thread")).to_be_visible()


def test_an_analyst_is_offered_no_control_the_server_refuses(server):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser, page = sign_in(p, server, "analyst1")
        open_first(page)
        expect(page.locator("#read-only-note")).to_contain_text("need the agent role")
        for control in ("Send reply", "Resolve", "Assign", "Me", "Link", "Add note", "Set", "Save"):
            expect(page.get_by_role("button", name=control, exact=True)).to_have_count(0)
        expect(page.locator("#reply-text")).to_have_count(0)
        expect(page.locator("#note-text")).to_have_count(0)
        browser.close()


def test_a_refused_action_says_why_in_place(server):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    analyst = user_id(server, "analyst1")
    with sync_playwright() as p:
        browser, page = sign_in(p, server, "agent1")
        open_first(page)
        # A crafted request: an agent may assign only to themselves, whatever the form offers.
        page.evaluate(
            "id => { const s = document.querySelector('#assignee-select');"
            " s.add(new Option('someone else', String(id))); s.value = String(id); }",
            analyst,
        )
        page.locator("#assign-form").get_by_role("button", name="Assign", exact=True).click()
        toast = page.locator("#toasts .toast-error")
        expect(toast).to_contain_text("Agents can assign conversations only to themselves.")
        expect(toast).to_have_attribute("role", "alert")
        browser.close()


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_the_reply_box_stays_in_view_under_a_long_thread(server, width, height):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    author = f"longthread{width}"
    long_thread(server, author, 40)
    with sync_playwright() as p:
        browser, page = sign_in(p, server, "agent1", width, height)
        page.goto(server.base + f"/?q=%40{author}")
        page.locator(".conv-row", has_text=f"@{author}").locator("a").first.click()
        expect(page.locator("#thread .msg.in")).to_have_count(40)
        composer, box = page.locator("form.composer"), page.locator("#reply-text")
        expect(box).to_be_in_viewport(ratio=1)
        expect(composer).to_be_in_viewport(ratio=1)  # retried: a live reload may swap the pane meanwhile
        assert page.evaluate("document.scrollingElement.scrollHeight") <= height  # the page itself does not scroll

        box.fill("We found your bag, it is on the next flight.")
        box.focus()
        page.keyboard.press("Control+Enter")
        expect(page.locator("#toasts .toast", has_text=f"Reply to @{author}")).to_be_visible()
        expect(page.locator("#reply-text")).to_have_value("")
        expect(page.locator("form.composer")).to_be_in_viewport(ratio=1)
        browser.close()


def test_api_docs_render_without_internet(server):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser, page = sign_in(p, server, "agent1")
        outside: list[str] = []

        def only_loopback(route: Any) -> None:
            if route.request.url.startswith(server.base):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        page.context.route("**/*", only_loopback)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(server.base + "/api/docs")
        expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
        expect(page.locator(".swagger-ui")).to_contain_text("/api/v1/conversations")
        assert outside == [] and errors == []
        browser.close()
