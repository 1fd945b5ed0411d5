// War room: draws every chart from /api/v1/listening/charts/<name> and redraws on live events (SSE).
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const cfg = JSON.parse(($("wr-config") || { textContent: "{}" }).textContent);
  const charts = {};
  const palette = ["#60a5fa", "#f472b6", "#34d399", "#fbbf24", "#a78bfa", "#f87171", "#22d3ee", "#fb923c"];
  const colours = { negative: "#f87171", neutral: "#94a3b8", positive: "#34d399" };

  function url(name) {
    const p = new URLSearchParams({ range: cfg.range || "24h", end: cfg.end || "auto" });
    if (cfg.brand) p.set("brand", cfg.brand);
    return "/api/v1/listening/charts/" + name + "?" + p.toString();
  }
  async function get(name) {
    const r = await fetch(url(name), { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!r.ok) throw new Error(name + ": " + r.status);
    return r.json();
  }
  function label(iso, grain) {
    const d = new Date(iso);
    const pad = (n) => String(n).padStart(2, "0");
    if (grain === "d") return (d.getUTCMonth() + 1) + "/" + d.getUTCDate();
    if (grain === "h") return (d.getUTCMonth() + 1) + "/" + d.getUTCDate() + " " + pad(d.getUTCHours()) + "h";
    return pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
  }
  function draw(id, config) {
    if (!window.Chart) return;
    const el = $(id);
    if (!el) return;
    if (charts[id]) { charts[id].data = config.data; charts[id].update("none"); return; }
    Chart.defaults.color = "#cbd5e1";
    Chart.defaults.borderColor = "#1f2a44";
    charts[id] = new Chart(el, Object.assign({ options: {} }, config));
  }
  const base = { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { position: "bottom" } } };
  function text(el, s) { el.textContent = s; return el; }
  function li(parent, s, cls) { const e = document.createElement("li"); if (cls) e.className = cls; text(e, s); parent.appendChild(e); return e; }

  async function refresh() {
    try {
      const [sum, vol, sen, sov, lang, q, authors, posts, terms] = await Promise.all(
        ["summary", "volume", "sentiment", "share-of-voice", "languages", "queries", "top-authors", "top-posts", "emerging-terms"].map(get));
      const pct = (x) => (x === null || x === undefined) ? "–" : Math.round(x * 100) + "%";
      text($("n-mentions"), sum.mentions.toLocaleString());
      text($("n-negative"), pct(sum.negative_share));
      text($("n-change"), sum.change === null ? "–" : (sum.change > 0 ? "+" : "") + pct(sum.change));
      text($("n-alerts"), sum.alerts);
      text($("n-incidents"), sum.open_incidents.length);
      const g = vol.window.grain;
      const labels = vol.labels.map((l) => label(l, g));
      draw("c-volume", { type: "line", data: { labels, datasets: vol.series.map((s, i) => ({ label: s.brand, data: s.data, borderColor: palette[i % palette.length], backgroundColor: palette[i % palette.length], pointRadius: 0, tension: 0.2 })) }, options: base });
      draw("c-sentiment", { type: "bar", data: { labels, datasets: ["negative", "neutral", "positive"].map((k) => ({ label: k, data: sen[k], backgroundColor: colours[k], stack: "s" })) },
        options: Object.assign({}, base, { scales: { x: { stacked: true }, y: { stacked: true } } }) });
      draw("c-sov", { type: "doughnut", data: { labels: sov.brands.map((b) => b.brand + (b.own ? " (you)" : "")), datasets: [{ data: sov.brands.map((b) => b.mentions), backgroundColor: palette }] }, options: base });
      text($("sov-note"), sov.own_brand_id ? "" : "Pick one brand (brand switcher) to compare it with its competitors.");
      draw("c-languages", { type: "bar", data: { labels: lang.items.map((x) => x.value), datasets: [{ label: "mentions", data: lang.items.map((x) => x.mentions), backgroundColor: "#60a5fa" }] }, options: Object.assign({}, base, { plugins: { legend: { display: false } } }) });
      text($("lang-note"), lang.items.length ? "" : "The mentions carry no language.");
      draw("c-queries", { type: "line", data: { labels, datasets: q.series.map((s, i) => ({ label: s.brand + ": " + s.name, data: s.data, borderColor: palette[i % palette.length], pointRadius: 0 })) }, options: base });
      text($("q-note"), q.series.length ? "" : "No listening queries yet (Listening → New query).");
      const la = $("l-authors"); la.replaceChildren();
      authors.items.forEach((a) => li(la, "@" + a.handle + " · " + a.followers.toLocaleString() + " followers · " + a.mentions + " mention(s)"));
      if (!authors.items.length) li(la, "No mentions in range.", "muted");
      const lp = $("l-posts"); lp.replaceChildren();
      posts.items.forEach((p) => li(lp, p.shares + " shares · @" + (p.author__handle || "?") + ": " + p.text));
      if (!posts.items.length) li(lp, "No shared posts in range.", "muted");
      const lt = $("l-terms"); lt.replaceChildren();
      terms.items.forEach((t) => li(lt, t.term + " · " + t.recent + " now vs " + t.expected + " expected (" + t.ratio + "×)"));
      if (!terms.items.length) li(lt, "Nothing is bursting.", "muted");
      document.body.dataset.warroomReady = "1";
    } catch (err) { console.warn("war room refresh failed", err); }
  }

  function live() {
    const src = document.body.dataset.warroomLive;
    if (!src || !window.EventSource) return;
    const dot = document.getElementById("live-status");
    const es = new EventSource(src);
    es.onopen = () => dot && dot.classList.add("on");
    es.onerror = () => dot && dot.classList.remove("on");
    let timer = null;
    const soon = (ms) => { clearTimeout(timer); timer = setTimeout(refresh, ms); };
    es.addEventListener("messages", () => soon(3000));
    es.addEventListener("alert", (ev) => {
      const a = JSON.parse(ev.data);
      const list = $("l-alerts");
      if (list && a.message) { const e = document.createElement("li"); e.className = "flash-alert"; text(e, (a.alert_kind || "alert") + " · " + (a.brand || "") + ": " + a.message); list.prepend(e); }
      soon(500);
    });
    es.addEventListener("incident", () => window.location.reload());
  }
  document.addEventListener("DOMContentLoaded", () => { refresh(); live(); setInterval(refresh, 60000); });
})();
