"""End to end in a real browser against the real server (uvicorn + worker thread):
login → inbox → open conversation → reply → resolved. Saves a screenshot under test-artifacts/."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.browser_server import ARTIFACTS, CHROMIUM, EVENTUALLY_MS, LAUNCH_ARGS, running_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):  # type: ignore[no-untyped-def]
    yield from running_server(tmp_path_factory.mktemp("browser-data"), "e2e", [("agent1", "agent")], "pw-e2e-12345")


def test_agent_replies_and_resolves_in_the_browser(server):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(server.base + "/")
        page.fill("#id_username", "agent1")
        page.fill("#id_password", "pw-e2e-12345")
        page.click("button[type=submit]")
        expect(page.locator(".conv-row").first).to_be_visible()
        page.wait_for_load_state()  # the inbox's deferred scripts ran: a click before them did nothing
        page.screenshot(path=str(ARTIFACTS / "inbox.png"))
        # a mention imported by another process appears without reloading the page (SSE)
        new = Path(server.data_dir) / "new.jsonl"
        new.write_text(
            json.dumps(
                {
                    "id": "live-1",
                    "text": "@united is anyone there? live test",
                    "brand": "United",
                    "author_id": "livetester",
                    "created_at": "2030-01-01T10:00:00Z",
                }
            )
            + "\n"
        )
        subprocess.run(
            [*server.cli, "import", "jsonl", str(new), "--org", "e2e"], env=server.env, check=True, capture_output=True
        )
        expect(page.locator(".conv-row", has_text="@livetester")).to_be_visible(timeout=EVENTUALLY_MS)
        page.wait_for_timeout(1000)  # let the live refresh settle before driving the keyboard
        page.keyboard.press("j")  # keyboard: open the first conversation
        expect(page.locator("#reply-text")).to_be_visible()
        page.keyboard.press("r")
        expect(page.locator("#reply-text")).to_be_focused()
        page.keyboard.type("Sorry about that! Please DM us your booking reference.")
        expect(page.locator("#reply-counter")).to_contain_text("/ 280")
        page.click("text=Send reply")
        expect(page.locator(".msg.out .text").last).to_contain_text(
            "Please DM us your booking reference", timeout=EVENTUALLY_MS
        )
        page.click("#resolve-form button")
        expect(page.locator("#status-select")).to_have_value("resolved")
        page.screenshot(path=str(ARTIFACTS / "conversation-resolved.png"))
        browser.close()
