"""In a real browser against the real server (uvicorn + its worker): unsent text in the open conversation
survives live updates of that conversation. The agent types a reply and an internal note, clicks elsewhere,
and the customer writes again: the new message appears in the pane and both boxes still hold the text.
While the agent is typing, the pane is not replaced under their fingers: it says there is new activity and
shows it when they leave the box. Sending the reply then empties the reply box (and only that one).
Nor is it lost when the agent moves to another conversation and back (kept per conversation in the tab)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.browser_server import ARTIFACTS, CHROMIUM, EVENTUALLY_MS, LAUNCH_ARGS, Server, running_server

pytestmark = pytest.mark.browser

PASSWORD = "pw-e2e-12345"
REPLY = "Hi! I am sorry about the lost bag.\nI have checked with the station team and"
NOTE = "Customer is a frequent flyer: offer the lounge voucher"


@pytest.fixture(scope="module")
def server(tmp_path_factory):  # type: ignore[no-untyped-def]
    yield from running_server(tmp_path_factory.mktemp("drafts-data"), "e2e", [("agent1", "agent")], PASSWORD)


def customer_writes(server: Server, n: int, text: str, *, enqueue: bool = True) -> None:
    """A mention by @draftee to United, ingested by the real pipeline: with `enqueue` the server's own worker
    processes it (and publishes the live event), otherwise this CLI process does (the server polls)."""
    path = Path(server.data_dir) / f"draftee-{n}.jsonl"
    row = {
        "id": f"draftee-{n}",
        "text": f"@united {text}",
        "brand": "United",
        "author_id": "draftee",
        "created_at": f"2030-01-01T10:{n:02d}:00Z",
    }
    path.write_text(json.dumps(row) + "\n")
    cmd = [*server.cli, "import", "jsonl", str(path), "--org", "e2e", *(["--enqueue"] if enqueue else [])]
    subprocess.run(cmd, env=server.env, check=True, capture_output=True)


def signed_in(p, server: Server):  # type: ignore[no-untyped-def]
    """A Chromium and a page of the inbox, signed in as agent1."""
    browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(server.base + "/")
    page.fill("#id_username", "agent1")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.locator(".conv-row").first.wait_for()
    page.wait_for_load_state()  # the new page's deferred scripts ran: a click before them did nothing
    return browser, page


def test_unsent_text_survives_live_updates_of_the_open_conversation(server):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    customer_writes(server, 1, "my bag did not arrive in Denver", enqueue=False)
    with sync_playwright() as p:
        browser, page = signed_in(p, server)
        page.locator(".conv-row", has_text="@draftee").locator("a").first.click()
        expect(page.locator("#thread h2")).to_contain_text("@draftee")
        messages = page.locator("#thread .msg.in .text")
        expect(messages).to_have_count(1)
        reply, note = page.locator("#reply-text"), page.locator("#note-text")

        # Typed, then the agent clicks elsewhere; the customer writes again (the server's worker ingests it).
        reply.fill(REPLY)
        note.fill(NOTE)
        page.click("#thread h2")
        expect(reply).not_to_be_focused()
        customer_writes(server, 2, "it is a red suitcase with a Broncos sticker")
        expect(messages.last).to_contain_text("red suitcase")  # the pane was reloaded live
        expect(messages).to_have_count(2)
        expect(reply).to_have_value(REPLY)
        expect(note).to_have_value(NOTE)
        expect(page.locator("#reply-counter")).to_contain_text(f"{len(REPLY)} / 280")

        # While the agent types, the pane stays (they are told); it updates when they leave the box (Esc).
        # This message is ingested by the CLI process: the server finds it by polling.
        reply.click()
        reply.press("End")
        page.keyboard.type(" found it")
        customer_writes(server, 3, "any news?", enqueue=False)
        expect(page.locator("#thread-stale")).to_be_visible(timeout=EVENTUALLY_MS)
        expect(messages).to_have_count(2)
        expect(reply).to_be_focused()
        page.keyboard.type(" in Chicago.")
        page.keyboard.press("Escape")
        expect(messages.last).to_contain_text("any news?")
        expect(page.locator("#thread-stale")).to_be_hidden()
        expect(reply).to_have_value(REPLY + " found it in Chicago.")
        expect(note).to_have_value(NOTE)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "live-update-keeps-drafts.png"))

        # Sending the reply empties its box, for good (the live update that follows does not bring it back);
        # the note being written stays.
        page.click("text=Send reply")
        expect(page.locator("#thread .msg.out .text").last).to_contain_text("found it in Chicago")
        page.wait_for_timeout(1500)  # the reply's own live update reloads the pane once more
        expect(reply).to_have_value("")
        expect(note).to_have_value(NOTE)
        browser.close()


SWITCH_REPLY = "So sorry about the delay <b>& the bags</b>.\nWe are checking with the crew now."
SWITCH_NOTE = "Second complaint this week: offer a voucher"


def test_unsent_drafts_survive_moving_between_conversations(server):  # type: ignore[no-untyped-def]
    """Text typed in a conversation's reply and note boxes is there again after the agent moved to another
    conversation (j/k, or a click in the list) and came back; the list marks it as an unsent draft. Once the
    reply is sent its box stays empty when the agent goes away and back (the note not yet added stays)."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser, page = signed_in(p, server)
        thread, reply, note = page.locator("#thread"), page.locator("#reply-text"), page.locator("#note-text")
        selected = page.locator(".conv-row.selected")

        def move(key: str) -> str:
            """Press j or k (outside any text box); the id of the conversation then open."""
            page.evaluate("document.activeElement && document.activeElement.blur()")
            page.keyboard.press(key)
            conv = selected.get_attribute("data-id")
            expect(thread).to_have_attribute("data-conversation", conv)
            return str(conv)

        a = move("j")  # the first conversation
        reply.fill(SWITCH_REPLY)
        note.fill(SWITCH_NOTE)
        expect(page.locator(f".conv-row[data-id='{a}'] .draft-mark")).to_have_text("unsent draft")
        b = move("j")
        assert b != a
        expect(reply).to_have_value("")  # B's boxes hold nothing of A's
        expect(note).to_have_value("")
        assert move("k") == a
        expect(reply).to_have_value(SWITCH_REPLY)
        expect(note).to_have_value(SWITCH_NOTE)
        expect(page.locator("#reply-counter")).to_have_text(f"{len(SWITCH_REPLY)} / 280")

        # A click in the list is the same as j/k.
        page.locator(f".conv-row[data-id='{b}'] a").click()
        expect(thread).to_have_attribute("data-conversation", b)
        expect(reply).to_have_value("")
        page.locator(f".conv-row[data-id='{a}'] a").click()
        expect(thread).to_have_attribute("data-conversation", a)
        expect(reply).to_have_value(SWITCH_REPLY)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "unsent-drafts-kept.png"))

        # Sent: the reply's box stays empty after going away and back; the note still waits.
        page.click("text=Send reply")
        sent = page.locator("#thread .msg.out .text, #thread .pending-replies li").last
        expect(sent).to_contain_text("checking with the crew")
        page.wait_for_timeout(1500)  # the reply's own live update reloads the pane and the list
        expect(reply).to_have_value("")
        expect(note).to_have_value(SWITCH_NOTE)
        other = move("j")
        assert other != a
        assert move("k") == a
        expect(reply).to_have_value("")
        expect(note).to_have_value(SWITCH_NOTE)

        # Emptying the box drops the draft, and its mark in the list.
        note.fill("")
        page.keyboard.press("Escape")
        expect(page.locator(f".conv-row[data-id='{a}'] .draft-mark")).to_have_count(0)
        move("j")
        move("k")
        expect(note).to_have_value("")
        browser.close()
