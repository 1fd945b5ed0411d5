"""In a real browser: a conversation holding one 50,000-character word opens, stays inside the window, and the
agent can type a reply. The word is Thai, a script written without spaces: to wrap it Chromium searched its
dictionary for word boundaries over the whole run and froze the tab for about 16 s (an ASCII run of the same
length took under 2 s); such runs now break between any two characters (`web/templatetags/text_tags.py`)."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest

from tests.browser_server import running_server
from tests.web.test_live_drafts_browser import PASSWORD, signed_in

pytestmark = [pytest.mark.browser]

WORD_CHARS = 50_000
THAI_LETTERS = "กขฃคฅฆงจฉชซฌญฎฏฐฑฒณดตถทธนบปผฝพฟภมยรลวศษสหฬอฮ"


@pytest.fixture(scope="module")
def server(tmp_path_factory):  # type: ignore[no-untyped-def]
    yield from running_server(tmp_path_factory.mktemp("long-word-data"), "e2e", [("agent1", "agent")], PASSWORD)


def _one_long_word(server) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(7)
    word = "".join(rng.choice(THAI_LETTERS) for _ in range(WORD_CHARS - 8))
    row = {"id": "longword-1", "text": f"@united {word}", "brand": "United", "author_id": "longword",
           "created_at": "2030-01-01T10:00:00Z"}  # fmt: skip
    path = Path(server.data_dir) / "longword.jsonl"
    path.write_text(json.dumps(row) + "\n")
    cmd = [*server.cli, "import", "jsonl", str(path), "--org", "e2e"]
    subprocess.run(cmd, env=server.env, check=True, capture_output=True)


def test_a_conversation_with_a_huge_word_opens_and_takes_typing(server) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    _one_long_word(server)
    with sync_playwright() as p:
        browser, page = signed_in(p, server)
        try:
            page.locator(".conv-row", has_text="@longword").locator("a").first.click()
            expect(page.locator("#thread h2")).to_contain_text("@longword")
            text = page.locator("#thread .msg.in .text").first
            expect(text).to_be_visible()

            reply = page.locator("#reply-text")
            reply.click()
            page.keyboard.type("On it")
            expect(reply).to_have_value("On it")

            # the word wraps inside the pane: nothing pushes the page sideways
            pane_width, text_width = page.evaluate(
                "[document.querySelector('#thread-pane').clientWidth,"
                " document.querySelector('#thread .msg.in .text').scrollWidth]"
            )
            assert text_width <= pane_width
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        finally:
            browser.close()
