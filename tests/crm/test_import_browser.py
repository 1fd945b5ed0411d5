"""In a real browser against the real server (uvicorn + its Huey worker): a supervisor uploads a CSV of
a few thousand customers, confirms the column mapping, watches the job page's progress bar (filled by
crm/import_job.js polling progress.json) reach 100 % and reload into the done summary with the rejected
rows. Customer-supplied text (names, e-mails, the file name) is shown as text, never run. An analyst
is refused the import pages."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.browser_server import ARTIFACTS, CHROMIUM, LAUNCH_ARGS, running_server

pytestmark = pytest.mark.browser

PASSWORD = "pw-e2e-12345"
XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_EMAIL = "<img src=x onerror=alert(2)>"
XSS_FILE = "<img src=x onerror=alert(3)>.csv"
ROWS = 5000  # data rows: three chunks of 2,000, so the bar has somewhere to move
BAD_EMAIL_ROW = 1234  # spreadsheet row numbers: the header is row 1
BAD_NUMBER_ROW = 3210
REPEATED_ROW = ROWS + 1  # the last row repeats a customer id already in the file
CREATED = ROWS - 3

# Records what import_job.js shows, across the reload that ends the job: one entry per poll answered
# (`render`: the status was written) or failed (only the hint changes).
RECORD_PROGRESS = """
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("import-progress");
  if (!box || !document.querySelector("script[src*='import_job.js']")) return;
  const text = (id) => document.getElementById(id).textContent.trim();
  new MutationObserver((mutations) => {
    const seen = JSON.parse(sessionStorage.getItem("ij-seen") || "[]");
    seen.push({
      render: mutations.some((m) => m.target.id === "ij-status"),
      value: document.getElementById("ij-bar").getAttribute("value"),
      status: text("ij-status"),
      hint: text("ij-hint"),
    });
    sessionStorage.setItem("ij-seen", JSON.stringify(seen));
  }).observe(box, { subtree: true, childList: true, attributes: true, characterData: true });
});
"""


def customers_csv() -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["Customer ID", "Full Name", "E-mail", "Phone", "City", "Twitter", "LTV", "Orders"])
    cities = ["Boston", "Denver", "Austin", "Seattle", "Chicago", "Miami"]
    for line in range(2, ROWS + 2):
        n = line - 2
        row = [
            f"C{n:05d}",
            f"Customer {n}",
            f"customer{n}@example.com",
            f"+1 617 555 {n:04d}",
            cities[n % len(cities)],
            f"@cust{n}",
            f"{(n * 37) % 5000}.50",
            str(n % 12),
        ]
        if line == 2:
            row[1] = XSS_NAME  # shown on the mapping step's sample and in the customer list
        if line == BAD_EMAIL_ROW:
            row[2] = XSS_EMAIL  # rejected: the reason quotes it
        if line == BAD_NUMBER_ROW:
            row[7] = "lots"
        if line == REPEATED_ROW:
            row[0] = "C00010"
        w.writerow(row)
    return buf.getvalue().encode()


@pytest.fixture(scope="module")
def server(tmp_path_factory):  # type: ignore[no-untyped-def]
    users = [("sup1", "supervisor"), ("analyst1", "analyst")]
    for srv in running_server(tmp_path_factory.mktemp("crm-import-browser"), "e2e", users, PASSWORD):
        yield srv.base


def _count(n: int) -> re.Pattern[str]:
    """A count as the server renders it (5000) or the page script does (5,000)."""
    return re.compile("^" + f"{n:,}".replace(",", ",?") + "$")


def _login(browser, base: str, username: str):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(30_000)
    page.goto(base + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)
    page.wait_for_load_state()  # the new page's deferred scripts ran: a click before them did nothing
    return page


def _watch(page):  # type: ignore[no-untyped-def]
    """Dialogs (an injected alert), requests for `x` (an injected <img src=x>) and script errors."""
    problems: list[str] = []

    def on_dialog(dialog):  # type: ignore[no-untyped-def]
        problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))

    def on_request(request):  # type: ignore[no-untyped-def]
        if request.url.rstrip("/").endswith("/x"):
            problems.append(f"request: {request.url}")

    page.on("request", on_request)
    return problems


def test_supervisor_imports_thousands_of_customers_with_a_live_progress_bar(server):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        page = _login(browser, server, "sup1")
        problems = _watch(page)
        page.add_init_script(RECORD_PROGRESS)
        # The page's first progress poll fails as on a flaky network; it must say so, retry and go on.
        failed: list[str] = []

        def fail_once(route):  # type: ignore[no-untyped-def]
            if failed:
                route.continue_()
            else:
                failed.append(route.request.url)
                route.abort("connectionreset")

        page.route("**/progress.json", fail_once)

        # Step 1: upload.
        page.goto(server + "/customers/import/")
        expect(page.locator("h1")).to_contain_text("Import customers from CSV")
        page.set_input_files("#file", files=[{"name": XSS_FILE, "mimeType": "text/csv", "buffer": customers_csv()}])
        page.get_by_role("button", name="Upload and map columns").click()

        # Step 2: the columns, guessed from the header; the one without an alias is chosen by hand.
        expect(page.locator("h1")).to_have_text(f"Import customers: {XSS_FILE}")
        expect(page.locator("ol.steps [aria-current=step]")).to_have_text("Map columns")
        expect(page.locator("table.small td", has_text=XSS_NAME)).to_be_visible()  # the sample, as text
        expect(page.locator("#map_external_id")).to_have_value("Customer ID")
        expect(page.locator("#map_name")).to_have_value("Full Name")
        expect(page.locator("#map_email")).to_have_value("E-mail")
        expect(page.locator("#map_location")).to_have_value("City")
        expect(page.locator("#map_handles")).to_have_value("Twitter")
        expect(page.locator("#map_lifetime_value")).to_have_value("LTV")
        expect(page.locator("#map_order_count")).to_have_value("")
        page.select_option("#map_order_count", "Orders")
        page.screenshot(path=str(ARTIFACTS / "crm-import-mapping.png"))
        page.get_by_role("button", name="Import", exact=True).click()

        # Step 3: the job page polls its progress until the job ends, then reloads into the summary.
        expect(page.locator("ol.steps [aria-current=step]")).to_have_text("Import and report")
        expect(page.locator("#ij-bar")).to_be_visible()
        expect(page.locator("#ij-status")).to_have_text(re.compile("Queued|Running|Done"))
        # Only the server-rendered done page has these links, so this waits through the reload.
        expect(page.get_by_role("link", name="Import another file")).to_be_visible(timeout=180_000)
        page.wait_for_load_state("load")
        page.screenshot(path=str(ARTIFACTS / "crm-import-done.png"), full_page=True)

        seen = page.evaluate("JSON.parse(sessionStorage.getItem('ij-seen') || '[]')")
        print("what import_job.js showed:", seen)
        assert failed and any("Lost contact" in s["hint"] and not s["render"] for s in seen), seen
        rendered = [s for s in seen if s["render"]]
        assert rendered, "import_job.js never showed the job's progress"
        assert not [s for s in rendered if "Lost contact" in s["hint"]], seen  # once answered, the warning goes
        values = [float(s["value"]) for s in rendered if s["value"] is not None]
        assert values == sorted(values), values  # the bar never goes backwards
        assert values[-1] == 100 and rendered[-1]["status"] == "Done" and rendered[-1]["hint"] == "", seen

        expect(page.locator("#ij-status")).to_have_text("Done")
        expect(page.locator("#ij-bar")).to_have_attribute("value", re.compile(r"^100(\.0)?$"))
        expect(page.locator("#ij-percent")).to_have_text(re.compile(r"^100(\.0)?$"))
        expect(page.locator("#ij-processed")).to_have_text(_count(ROWS))
        expect(page.locator("#ij-created")).to_have_text(_count(CREATED))
        expect(page.locator("#ij-updated")).to_have_text("0")
        expect(page.locator("#ij-skipped")).to_have_text("1")
        expect(page.locator("#ij-rejected")).to_have_text("2")

        rejected = page.locator("h2", has_text="Rejected rows").locator("xpath=following-sibling::table[1]")
        expect(rejected.locator("tbody tr")).to_have_count(2)
        bad_email = rejected.locator("tbody tr", has_text="invalid email")
        expect(bad_email.locator("td").first).to_have_text(str(BAD_EMAIL_ROW))
        expect(bad_email.locator("td").nth(1)).to_have_text(f"invalid email: {XSS_EMAIL}")
        bad_number = rejected.locator("tbody tr", has_text="invalid number")
        expect(bad_number.locator("td").first).to_have_text(str(BAD_NUMBER_ROW))
        expect(page.locator("tr[aria-current=true]")).to_contain_text("Done")
        expect(page.locator("tr[aria-current=true] a")).to_have_text(XSS_FILE)

        # The imported name is text in the customer list too.
        page.goto(server + "/customers/?q=" + "onerror")
        expect(page.locator("td a", has_text=XSS_NAME)).to_be_visible()
        assert page.locator("img[src=x]").count() == 0
        assert problems == [], problems
        browser.close()


def test_an_analyst_is_refused_the_import_pages(server):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        page = _login(browser, server, "analyst1")
        response = page.goto(server + "/customers/import/")
        assert response is not None and response.status == 403
        expect(page.locator("h1")).to_have_text("403 · Not allowed")
        expect(page.locator(".error-page")).to_contain_text("needs the supervisor role")
        expect(page.locator("#file")).to_have_count(0)
        # The job pages check the role before looking the job up, so any id is refused alike.
        assert page.request.get(server + "/customers/import/jobs/1/").status == 403
        assert page.request.get(server + "/customers/import/jobs/1/progress.json").status == 403
        browser.close()
