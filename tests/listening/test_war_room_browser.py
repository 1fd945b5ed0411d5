"""In a real browser against the real server: the war room draws its charts from the API, and the
query editor underlines a syntax error as the user types. Saves screenshots under test-artifacts/."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
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
    data_dir = tmp_path_factory.mktemp("war-room-browser")
    env = {**os.environ, "HUBBUB_DATA_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)
    hubbub = [sys.executable, "-m", "hubbub"]
    for cmd in (
        ["import", "airline", str(DATA / "airline_sample.csv"), "--org", "wr"],
        ["user", "add", "sup1", "--role", "supervisor", "--org", "wr", "--password", "pw-wr-12345"],
    ):
        subprocess.run([*hubbub, *cmd], env=env, check=True, capture_output=True)
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
        raise RuntimeError("server did not start")
    yield base
    proc.terminate()
    proc.wait(timeout=10)
    shutil.rmtree(data_dir, ignore_errors=True)


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
        expect(page.locator("body[data-warroom-ready='1']")).to_have_count(1, timeout=20000)
        assert page.locator("#n-mentions").inner_text() not in ("0", "")
        assert page.evaluate("() => Object.keys(Chart.instances).length") >= 4
        expect(page.locator("#l-authors li").first).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "war-room.png"), full_page=True)

        page.goto(server + "/listening/queries/new/")
        page.fill("#q-text", "delay OR")
        expect(page.locator(".q-at")).to_be_visible(timeout=10000)
        expect(page.locator("#q-check")).to_contain_text("expected a term after OR")
        page.fill("#q-text", 'delay* OR "late flight"')
        expect(page.locator("#q-check")).to_contain_text("Understood as", timeout=10000)
        page.click("text=Preview matches on history")
        expect(page.locator("#q-preview")).to_contain_text("stored mentions match", timeout=10000)
        page.screenshot(path=str(ARTIFACTS / "query-editor.png"), full_page=True)
        browser.close()
