"""End to end in a real browser against the real server (uvicorn + worker thread):
login → inbox → open conversation → reply → resolved. Saves a screenshot under test-artifacts/."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import DATA, REQUIRE_SERVICES

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory):  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        if REQUIRE_SERVICES:
            pytest.fail(f"{CHROMIUM} missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    pytest.importorskip("playwright")
    data_dir = tmp_path_factory.mktemp("browser-data")
    env = {**os.environ, "HUBBUB_DATA_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)  # the browser test always runs the embedded mode
    hubbub = [sys.executable, "-m", "hubbub"]
    subprocess.run(
        [*hubbub, "import", "airline", str(DATA / "airline_sample.csv"), "--org", "e2e"],
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [*hubbub, "user", "add", "agent1", "--role", "agent", "--org", "e2e", "--password", "pw-e2e-12345"],
        env=env,
        check=True,
        capture_output=True,
    )
    port = _free_port()
    proc = subprocess.Popen(
        [*hubbub, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError("server did not start: " + (proc.stdout.read().decode() if proc.stdout else ""))
    yield Server(base, str(data_dir), env, hubbub)
    proc.terminate()
    proc.wait(timeout=10)
    shutil.rmtree(data_dir, ignore_errors=True)


@dataclass
class Server:
    base: str
    data_dir: str
    env: dict[str, str]
    cli: list[str]


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
        expect(page.locator(".conv-row", has_text="@livetester")).to_be_visible(timeout=20000)
        page.wait_for_timeout(1000)  # let the live refresh settle before driving the keyboard
        page.keyboard.press("j")  # keyboard: open the first conversation
        expect(page.locator("#reply-text")).to_be_visible()
        page.keyboard.press("r")
        expect(page.locator("#reply-text")).to_be_focused()
        page.keyboard.type("Sorry about that! Please DM us your booking reference.")
        expect(page.locator("#reply-counter")).to_contain_text("/ 280")
        page.click("text=Send reply")
        expect(page.locator(".msg.out .text").last).to_contain_text(
            "Please DM us your booking reference", timeout=15000
        )
        page.click("#resolve-form button")
        expect(page.locator("#status-select")).to_have_value("resolved")
        page.screenshot(path=str(ARTIFACTS / "conversation-resolved.png"))
        browser.close()
