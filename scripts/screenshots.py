"""Regenerate the README's screenshots: the demo's main pages at 1440×900, written to docs/img/screens/.

    python scripts/screenshots.py [--out docs/img/screens] [--theme light|dark]

Why a script: pictures in a README go stale with every change to a page. This builds a fresh demo
(`hubbub demo --no-serve`, the history only, so the pictures do not depend on when the live replay is
caught) in a temporary data directory, serves it (`hubbub serve`), signs in as the demo's users in Debian's
Chromium (Playwright), and overwrites one PNG per page. Nothing is fetched from the internet.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1440, "height": 900}
#: (file name, user, path, what to wait for before the picture)
PAGES = [
    ("inbox", "agent", "/", ".conv-row"),
    ("reports", "supervisor", "/reports/", "canvas, table"),
    ("sla", "supervisor", "/reports/sla/", "table"),
    ("csat", "supervisor", "/reports/csat/", "table"),
    ("voice_of_the_customer", "analyst", "/reports/voice-of-the-customer/", "main"),
    ("war_room", "supervisor", "/war-room/", "canvas"),
    ("listening", "analyst", "/listening/", "main"),
    ("temperature_check", "analyst", "/listening/temperature/", "main"),
    ("approvals", "supervisor", "/approvals/", "main"),
    ("routing_rules", "supervisor", "/workflow/rules/", "main"),
    ("customers", "agent", "/customers/", "main"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_demo(env: dict[str, str]) -> str:
    """The demo's password (every demo user shares it), after `hubbub demo --no-serve`."""
    done = subprocess.run(
        [sys.executable, "-m", "hubbub", "demo", "--no-serve"], env=env, capture_output=True, text=True, check=True
    )
    return str(json.loads(done.stdout.strip().splitlines()[-1])["password"])


def wait_until_up(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180
    while True:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=5)
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("hubbub serve did not start") from None
            time.sleep(0.3)


def sign_in(page: Page, base: str, user: str, password: str) -> None:
    page.context.clear_cookies()
    page.goto(base + "/login/")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def shoot(base: str, password: str, out: Path, theme: str) -> list[Path]:
    written = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport=VIEWPORT, color_scheme=theme)  # type: ignore[arg-type]
        signed_in_as = ""
        for name, user, path, ready in PAGES:
            if user != signed_in_as:
                sign_in(page, base, user, password)
                signed_in_as = user
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            page.locator(ready).first.wait_for(timeout=30_000)
            if name == "inbox":  # with a conversation open, as an agent works
                page.locator(".conv-row a").first.click()
                page.locator(".composer").first.wait_for(timeout=30_000)
                page.wait_for_load_state("networkidle")
            page.wait_for_timeout(600)  # charts finish their entry animation
            target = out / f"{name}.png"
            page.screenshot(path=str(target))
            written.append(target)
            print(f"wrote {target}")
        browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "screens")
    parser.add_argument("--theme", choices=["light", "dark"], default="light")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hubbub-screens-") as data_dir:
        env = {
            **os.environ,
            "HUBBUB_DATA_DIR": data_dir,
            "HUBBUB_SECRET_KEY": os.environ.get("HUBBUB_SECRET_KEY", "screens"),
        }
        env.pop("DATABASE_URL", None)
        print("building the demo (about two minutes)…")
        password = build_demo(env)
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "hubbub", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_up(base, proc)
            shoot(base, password, args.out, args.theme)
        finally:
            proc.terminate()
            proc.wait(timeout=60)


if __name__ == "__main__":
    main()
