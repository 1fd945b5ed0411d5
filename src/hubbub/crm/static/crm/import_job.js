// Import job page: polls the job's progress JSON about once a second and fills in the bar and the
// counts (as text, never HTML). When the job ends the page reloads, so the server renders the
// summary and the rejected rows.
(function () {
  "use strict";
  const box = document.getElementById("import-progress");
  if (!box) return;
  const url = box.dataset.url;
  const $ = (id) => document.getElementById(id);
  const set = (id, value) => { const el = $(id); if (el) el.textContent = value; };
  const number = (n) => Number(n || 0).toLocaleString();
  // The server's hint, put back once the server answers again after a "Lost contact" message.
  const hint = $("ij-hint");
  const serverHint = hint ? Array.from(hint.childNodes, (n) => n.cloneNode(true)) : [];
  let failures = 0;

  function render(d) {
    set("ij-status", d.status_label);
    if (d.status === "running") set("ij-hint", "Importing in chunks of 2,000 rows; you can leave this page and come back.");
    else if (d.finished) set("ij-hint", "");  // the page reloads into the summary
    const bar = $("ij-bar");
    if (bar && d.total_rows !== null) bar.value = d.percent;
    set("ij-percent", d.percent);
    set("ij-processed", number(d.processed_rows));
    set("ij-total", d.total_rows === null ? "?" : number(d.total_rows));
    set("ij-rate", number(d.rows_per_second));
    set("ij-created", number(d.created));
    set("ij-updated", number(d.updated));
    set("ij-skipped", number(d.skipped));
    set("ij-rejected", number(d.rejected));
  }

  async function poll() {
    let data;
    try {
      const r = await fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } });
      if (!r.ok) throw new Error("HTTP " + r.status);
      data = await r.json();
      if (failures && hint) hint.replaceChildren(...serverHint.map((n) => n.cloneNode(true)));
      failures = 0;
    } catch (err) {
      failures += 1;
      set("ij-hint", "Lost contact with the server (" + err.message + "); trying again…");
      setTimeout(poll, Math.min(30000, 1000 * 2 ** failures));
      return;
    }
    render(data);
    if (data.finished) {
      window.location.reload();
      return;
    }
    setTimeout(poll, 1000);
  }

  setTimeout(poll, 500);
})();
