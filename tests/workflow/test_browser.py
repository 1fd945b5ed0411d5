"""In a real browser against the real server: an agent drafts a reply that needs approval,
a supervisor approves it in the Approvals queue, the reply is sent, the SLA clock stops."""

from __future__ import annotations

import pytest

from tests.browser_server import ARTIFACTS, CHROMIUM, LAUNCH_ARGS, running_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):  # type: ignore[no-untyped-def]
    users = [("agent1", "agent"), ("sup1", "supervisor")]
    for srv in running_server(tmp_path_factory.mktemp("workflow-browser"), "e2e", users, "pw-e2e-12345"):
        yield srv.base


def _login(browser, base: str, username: str):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(base + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-e2e-12345")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)
    page.wait_for_load_state()  # the new page's deferred scripts ran: a click before them did nothing
    return page


def test_agent_reply_needs_approval_supervisor_approves_it_is_sent_and_the_sla_clock_stops(server):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        sup = _login(browser, server, "sup1")
        # The supervisor sets a policy: agents' replies that promise compensation need approval.
        sup.goto(server + "/workflow/settings/")
        sup.click("text=New approval policy")
        form = sup.locator("form[action='/workflow/approval-policies/']").last
        form.locator("input[name=name]").fill("Compensation promises")
        form.locator("input[name=roles][value=agent]").check()
        form.locator("input[name=sensitive_words]").fill("compensation")
        form.locator("button.primary").click()
        expect(sup.locator(".flash")).to_contain_text("Approval policy saved")

        agent = _login(browser, server, "agent1")
        expect(agent.locator(".conv-row").first).to_be_visible()
        agent.locator(".conv-row a").first.click()
        expect(agent.locator("#reply-text")).to_be_visible()
        conv_id = agent.locator("#thread").get_attribute("data-conversation")
        expect(agent.locator(".workflow-panel")).to_contain_text("First response")
        agent.fill("#reply-text", "So sorry! We will send you compensation today.")
        agent.click("text=Send reply")
        expect(agent.locator(".pending-replies")).to_contain_text("Needs approval")
        agent.screenshot(path=str(ARTIFACTS / "workflow-reply-held.png"))

        sup.goto(server + "/approvals/")
        expect(sup.locator(".approval").first).to_contain_text("compensation today")
        sup.screenshot(path=str(ARTIFACTS / "workflow-approvals.png"))
        sup.locator(".approval").first.locator("button[value=approve]").click()
        expect(sup.locator(".flash")).to_contain_text("Approved and sent")

        # The worker delivers the approved reply; reload until it has (a page rendered mid-delivery
        # may have missed the live event that would refresh it).
        for _ in range(40):
            agent.goto(f"{server}/c/{conv_id}/")
            if agent.locator(".msg.out").count():
                break
            agent.wait_for_timeout(500)
        expect(agent.locator(".msg.out .text").last).to_contain_text("compensation today")
        expect(agent.locator(".notes")).to_contain_text("approved by sup1")
        panel = agent.locator(".workflow-panel")
        expect(panel).not_to_contain_text("First response due")
        expect(panel.locator(".sla-stopped").first).to_be_visible()
        agent.screenshot(path=str(ARTIFACTS / "workflow-approved-sent.png"))
        browser.close()


def test_the_rule_preview_counts_matches_before_the_rule_has_a_name(server):  # type: ignore[no-untyped-def]
    """The supervisor sees what a rule would match while choosing its conditions, before naming it."""
    import re

    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            sup = _login(browser, server, "sup1")
            sup.goto(server + "/workflow/rules/new/")
            preview = sup.locator("#rule-preview")
            expect(preview).to_contain_text(re.compile(r"of the latest [1-9]\d* conversations"))
            everything = int(preview.locator("strong").inner_text())
            sup.select_option("#c-sentiments", "negative")
            expect(preview.locator("strong")).not_to_have_text(str(everything))
            assert 0 < int(preview.locator("strong").inner_text()) < everything
            assert sup.locator("#rule-name").input_value() == ""
        finally:
            browser.close()
