"""In a real browser against the real server: the answer to an action in the thread pane only ever updates the
pane of the conversation it was sent from, and its notice shows once, at once, never again on a later page.

The agent sends a reply in conversation A and presses j before the answer comes back (the test holds the
answer back at the network layer): B's pane stays as it is, with what the agent typed there, and a notice says
"Reply to @… sent." with a link back to A. The same for a refused reply: the notice says why, and A's text is
still in A's box when the agent goes back. A notice of an htmx action does not turn up on the next full page."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser_server import ARTIFACTS, EVENTUALLY_MS, running_server
from tests.web.test_live_drafts_browser import PASSWORD
from tests.web.test_live_drafts_browser import signed_in as signed_in_page

pytestmark = [
    pytest.mark.browser,
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):  # type: ignore[no-untyped-def]
    yield from running_server(tmp_path_factory.mktemp("pane-data"), "e2e", [("agent1", "agent")], PASSWORD)


def signed_in(p: Any, server: Any) -> tuple[Any, Any]:
    """A Chromium and the inbox page, signed in as agent1, the list loaded."""
    return signed_in_page(p, server)  # (which waits for the list and the page's scripts)


class HeldAnswers:
    """Lets the requests to `pattern` reach the server at once but holds their answers until `release()`:
    a slow network between the agent and Hubbub."""

    def __init__(self, page: Any, pattern: str) -> None:
        self.held: list[tuple[Any, Any]] = []
        self.page, self.pattern = page, pattern
        # a predicate, not the glob itself: the same path with a query string is held too
        needle = pattern.replace("**", "")
        self._matches = lambda url: needle in url
        page.route(self._matches, self._hold)

    def _hold(self, route: Any) -> None:
        self.held.append((route, route.fetch()))

    def wait(self, n: int = 1, tries: int = 300) -> bool:
        for _ in range(tries):
            if len(self.held) >= n:
                return True
            self.page.wait_for_timeout(100)
        if tries < 300:
            return False
        raise AssertionError(f"no request to {self.pattern} was made")

    def release(self) -> None:
        for route, response in self.held:
            route.fulfill(response=response)
        self.held.clear()
        self.page.unroute(self._matches)


def open_by_author(page: Any, handle: str) -> str:
    """Open the conversation of @`handle` from the list; its id, once the pane shows it."""
    from playwright.sync_api import expect

    row = page.locator(".conv-row", has_text=f"@{handle}")
    row.locator("a").first.click()
    conv = str(row.get_attribute("data-id"))
    expect(page.locator("#thread")).to_have_attribute("data-conversation", conv)
    return conv


def move(page: Any, key: str) -> str:
    """Press j or k outside any text box; the id of the conversation then open."""
    from playwright.sync_api import expect

    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press(key)
    conv = page.locator(".conv-row.selected").get_attribute("data-id")
    expect(page.locator("#thread")).to_have_attribute("data-conversation", str(conv))
    return str(conv)


def ctrl_enter(page: Any) -> None:
    """Ctrl+Enter in the reply box as it is now: focused through the locator (which finds the box again if a
    live reload replaced it), then the keys go to the focused element, as a user's would."""
    page.locator("#reply-text").focus()
    page.keyboard.press("Control+Enter")


def handle_of(page: Any) -> str:
    return str(page.locator("#thread h2").inner_text()).split()[0]  # "@handle"


def test_a_late_reply_answer_does_not_replace_the_pane_the_agent_moved_to(server):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser, page = signed_in(p, server)
        thread, reply = page.locator("#thread"), page.locator("#reply-text")
        a = move(page, "j")
        a_handle = handle_of(page)
        reply.fill("Sorry about the wait, we are on it.")
        held = HeldAnswers(page, f"**/c/{a}/reply/")
        page.click("text=Send reply")
        held.wait()  # the server has the reply; its answer is on its way
        b = move(page, "j")
        assert b != a
        reply.fill("Text typed in B")
        page.evaluate("document.activeElement.blur()")
        held.release()

        toast = page.locator("#toasts .toast", has_text=f"Reply to {a_handle} sent.")
        expect(toast).to_be_visible(timeout=EVENTUALLY_MS)
        expect(toast.locator("a")).to_have_text(f"Open #{a}")
        page.wait_for_timeout(500)  # any swap would have happened by now
        expect(thread).to_have_attribute("data-conversation", b)  # B's pane, untouched
        expect(reply).to_have_value("Text typed in B")
        expect(page.locator(".conv-row.selected")).to_have_attribute("data-id", b)
        assert page.url.rstrip("/").endswith(f"/c/{b}") or f"/c/{b}/" in page.url
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "late-reply-answer-notice.png"))

        # Back in A (through the notice's link): the reply was taken, its text is not offered again.
        toast.locator("a").click()
        expect(thread).to_have_attribute("data-conversation", a)
        expect(reply).to_have_value("")
        expect(page.locator(f".conv-row[data-id='{a}'] .draft-mark")).to_have_count(0)
        sent = page.locator("#thread .msg.out .text, #thread .pending-replies li").last
        expect(sent).to_contain_text("we are on it")
        assert move(page, "j") == b
        expect(reply).to_have_value("Text typed in B")  # B's own draft
        browser.close()


def test_a_late_refusal_keeps_the_text_in_its_conversation_and_says_why(server):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    too_long = "We are so sorry <b>&</b> " * 12  # 300 characters: over X's 280
    with sync_playwright() as p:
        browser, page = signed_in(p, server)
        thread, reply = page.locator("#thread"), page.locator("#reply-text")
        move(page, "j")
        a = move(page, "j")
        a_handle = handle_of(page)
        reply.fill(too_long)
        held = HeldAnswers(page, f"**/c/{a}/reply/")
        page.click("text=Send reply")
        held.wait()
        b = move(page, "j")
        held.release()
        toast = page.locator("#toasts .toast-error")
        expect(toast).to_contain_text(f"Your reply to {a_handle} was not sent: Too long for x")
        expect(toast).to_contain_text("It waits in its box.")
        page.wait_for_timeout(500)
        expect(thread).to_have_attribute("data-conversation", b)
        expect(reply).to_have_value("")
        assert move(page, "k") == a
        expect(reply).to_have_value(too_long)  # kept as the conversation's unsent draft
        expect(page.locator(f".conv-row[data-id='{a}'] .draft-mark")).to_have_text("unsent draft")
        reply.fill("")  # leave the inbox as it was for the next test
        browser.close()


def test_htmx_notices_show_at_once_and_never_on_the_next_page(server):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser, page = signed_in(p, server)
        move(page, "j")
        handle = handle_of(page)
        page.locator("#reply-text").fill("Thanks for your patience!")
        page.click("text=Send reply")
        expect(page.locator("#toasts .toast", has_text=f"Reply to {handle} sent.")).to_be_visible(timeout=EVENTUALLY_MS)
        page.click("#assign-me")
        expect(page.locator("#toasts .toast", has_text="Assignment saved.")).to_be_visible(timeout=EVENTUALLY_MS)
        page.click("#resolve-form button")  # (a form with no field a live reload of the pane could reset)
        expect(page.locator("#toasts .toast", has_text="Marked resolved.")).to_be_visible(timeout=EVENTUALLY_MS)
        expect(page.locator(".flash")).to_have_count(0)

        # A full page load afterwards (a reload, another section) shows none of them again.
        page.reload()
        page.locator("#thread").wait_for()
        expect(page.locator(".flash")).to_have_count(0)
        expect(page.locator("#toasts .toast")).to_have_count(0)
        page.goto(server.base + "/")
        page.locator(".conv-row").first.wait_for()
        expect(page.locator("main")).not_to_contain_text("Reply to")
        expect(page.locator("main")).not_to_contain_text("Assignment saved")
        browser.close()


def test_a_refused_bulk_reply_comes_back_with_its_text_ticks_and_reasons(server):  # type: ignore[no-untyped-def]
    """Nothing is sent when the text does not fit every ticked conversation; the page comes back with the form
    open, the text, the ticks and the reason beside each row, and a live refresh of the list keeps them."""
    from playwright.sync_api import expect, sync_playwright

    from tests.web.test_live_drafts_browser import customer_writes

    too_long = "Our systems are down <b>&</b> we are on it. " * 7  # over X's 280
    with sync_playwright() as p:
        browser, page = signed_in(p, server)
        a = move(page, "j")
        page.keyboard.press("x")
        b = move(page, "j")
        page.keyboard.press("x")
        expect(page.locator("#bulk-count")).to_have_text("2")
        page.fill("#bulk-text", too_long)
        page.click("#bulk-send")
        expect(page.locator("#bulk-error")).to_contain_text("Nothing was sent: the reply does not fit 2 of the 2")
        expect(page.locator("#bulk-form")).to_be_visible()
        expect(page.locator("#bulk-text")).to_have_value(too_long)
        expect(page.locator("#thread")).to_have_attribute("data-conversation", b)  # the inbox as the agent left it
        expect(page.locator("#bulk-count")).to_have_text("2")
        for conv in (a, b):
            row = page.locator(f".conv-row[data-id='{conv}']")
            expect(row.locator("input.pick")).to_be_checked()
            expect(row.locator(".bulk-why")).to_contain_text(f"Too long for x: {len(too_long.strip())} characters")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "bulk-reply-refused.png"))

        customer_writes(server, 7, "is the site down?")  # the list refreshes live
        expect(page.locator(".conv-row", has_text="@draftee")).to_be_visible(timeout=EVENTUALLY_MS)
        for conv in (a, b):
            row = page.locator(f".conv-row[data-id='{conv}']")
            expect(row.locator("input.pick")).to_be_checked()
            expect(row.locator(".bulk-why")).to_contain_text("Too long for x")

        page.fill("#bulk-text", "Our systems are back. Sorry for the trouble!")
        page.click("#bulk-send")
        expect(page.locator(".flash")).to_contain_text("Replied on 2 conversations.")
        expect(page.locator("#thread")).to_have_attribute("data-conversation", b)
        expect(page.locator("#bulk-form")).to_be_hidden()
        expect(page.locator(".bulk-why")).to_have_count(0)
        browser.close()


def test_sending_twice_while_the_first_is_on_its_way_posts_one_reply(server):  # type: ignore[no-untyped-def]
    """Ctrl+Enter, again, the button: one reply leaves. A live reload of the pane while it is on its way puts a
    fresh composer with the same text in front of the agent; sending from there does not post it again."""
    from playwright.sync_api import expect, sync_playwright

    from tests.web.test_live_drafts_browser import customer_writes

    customer_writes(server, 11, "my bag is still missing", enqueue=False)
    with sync_playwright() as p:
        browser, page = signed_in(p, server)
        a = open_by_author(page, "draftee")
        send = page.locator("form.composer button[type=submit]")
        page.locator("#reply-text").fill("One reply only, please.")
        held = HeldAnswers(page, f"**/c/{a}/reply/")
        page.locator("#reply-text").press("Control+Enter")
        held.wait()
        expect(send).to_have_text("Sending…")
        ctrl_enter(page)  # impatient: again, and the button too
        send.click()

        # the customer writes meanwhile: the pane is reloaded live, the text is kept in its box
        customer_writes(server, 12, "hello? anyone?")
        expect(page.locator("#thread .msg.in .text").last).to_contain_text("anyone?")
        expect(page.locator("#reply-text")).to_have_value("One reply only, please.")
        expect(send).to_have_text("Sending…")
        send.click()
        ctrl_enter(page)
        page.wait_for_timeout(1500)
        assert len(held.held) == 1  # none of the others left the browser
        held.release()
        expect(page.locator("#toasts .toast", has_text="sent.")).to_be_visible(timeout=EVENTUALLY_MS)
        expect(send).to_have_text("Send reply")
        replies = page.locator("#thread .msg.out .text, #thread .pending-replies li", has_text="One reply only")
        expect(replies).to_have_count(1)
        expect(page.locator("#reply-text")).to_have_value("")
        browser.close()


def test_send_is_not_lost_to_the_typing_notice(server):  # type: ignore[no-untyped-def]
    """Focusing the box tells other agents "agent1 is writing" (a request of its own). A Send pressed while that
    request is on its way is sent: htmx must not drop it as a second request of the same form."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser, page = signed_in(p, server)
        move(page, "j")
        a = move(page, "j")
        composing = HeldAnswers(page, f"**/c/{a}/composing/")
        page.locator("#reply-text").fill("Sent while the typing notice is on its way.")
        composing.wait()  # the presence ping has left and is not answered yet
        held = HeldAnswers(page, f"**/c/{a}/reply/")
        page.locator("#reply-text").press("Control+Enter")
        held.wait()  # the reply left the browser
        held.release()
        composing.release()
        expect(page.locator("#toasts .toast", has_text="sent.")).to_be_visible(timeout=EVENTUALLY_MS)
        browser.close()


def test_a_late_live_reload_does_not_replace_the_pane_the_agent_moved_to(server):  # type: ignore[no-untyped-def]
    """The customer writes again in the open conversation; the pane's live reload is still on its way when the
    agent presses j: the conversation they moved to stays."""
    from playwright.sync_api import expect, sync_playwright

    from tests.web.test_live_drafts_browser import customer_writes

    customer_writes(server, 8, "where is my refund?", enqueue=False)
    with sync_playwright() as p:
        browser, page = signed_in(p, server)
        thread = page.locator("#thread")
        row = page.locator(".conv-row", has_text="@draftee")
        row.locator("a").first.click()
        a = str(row.get_attribute("data-id"))
        expect(thread).to_have_attribute("data-conversation", a)
        held = HeldAnswers(page, f"**/c/{a}/")
        customer_writes(server, 9, "hello??")  # the server's worker ingests it and tells the page
        held.wait()  # the pane's reload of the conversation has left
        # and writes again: a second reload waits (queued by htmx) behind the first, still unanswered
        with page.expect_request(lambda r: r.url.rstrip("/") == server.base, timeout=EVENTUALLY_MS):
            customer_writes(server, 10, "anybody there??")  # (the live event reached the page: the list reloads)
        b = move(page, "j")
        assert b != a
        held.release()
        page.wait_for_timeout(1500)
        expect(thread).to_have_attribute("data-conversation", b)
        expect(page.locator(".conv-row.selected")).to_have_attribute("data-id", b)
        browser.close()


def _presser_writes(server: Any, n: int, text: str, *, enqueue: bool) -> None:
    """A mention by @presser to United (a customer of this test alone), ingested by the real pipeline."""
    import json
    import subprocess
    from pathlib import Path

    path = Path(server.data_dir) / f"presser-{n}.jsonl"
    row = {"id": f"presser-{n}", "text": f"@united {text}", "brand": "United", "author_id": "presser"}
    path.write_text(json.dumps({**row, "created_at": f"2030-02-01T10:{n:02d}:00Z"}) + "\n")
    cmd = [*server.cli, "import", "jsonl", str(path), "--org", "e2e", *(["--enqueue"] if enqueue else [])]
    subprocess.run(cmd, env=server.env, check=True, capture_output=True)


def test_a_button_held_down_as_a_live_reload_arrives_is_not_swapped_away(server):  # type: ignore[no-untyped-def]
    """The agent presses "Me" (assign to me) just as the customer writes again and the pane's live reload
    arrives. Replacing the pane between the press and the release swallowed the click: nothing was assigned and
    nothing said so. The reload waits for the release, then runs after the click."""
    from playwright.sync_api import expect, sync_playwright

    _presser_writes(server, 1, "my seat was given away", enqueue=False)
    with sync_playwright() as p:
        browser, page = signed_in(p, server)
        conv = open_by_author(page, "presser")
        pane_loads: list[str] = []
        page.on("request", lambda r: pane_loads.append(r.url) if r.url.endswith(f"/c/{conv}/") else None)
        me = page.locator("#assign-me")
        me.evaluate("b => { b.dataset.pressed = 'yes'; }")
        me.hover()
        page.mouse.down()

        _presser_writes(server, 2, "hello? still no seat", enqueue=True)
        # the live event reached the page (the list refreshes 400 ms after the pane would have been asked for)
        expect(page.locator(".conv-row", has_text="still no seat")).to_have_count(1)
        assert pane_loads == []
        expect(page.locator("#assign-me[data-pressed]")).to_have_count(1)  # still the button under the pointer

        page.mouse.up()
        expect(page.locator("#toasts .toast", has_text="Assignment saved.")).to_be_visible()
        expect(page.locator("#assignee-select option:checked")).to_have_text("agent1")
        expect(page.locator("#thread .msg.in .text").last).to_contain_text("still no seat")  # reloaded after
        browser.close()
