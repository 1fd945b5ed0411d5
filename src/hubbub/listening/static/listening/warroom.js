// War room: draws every chart from /api/v1/listening/charts/<name> and redraws on live events (SSE).
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const cfg = JSON.parse(($("wr-config") || { textContent: "{}" }).textContent);
  const charts = {};
  const palette = ["#60a5fa", "#f472b6", "#34d399", "#fbbf24", "#a78bfa", "#f87171", "#22d3ee", "#fb923c"];
  const tokens = { negative: "chart-neg", neutral: "chart-neu", positive: "chart-pos" }; // colours: charts.js

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
    charts[id] = new Chart(el, Object.assign({ options: {} }, config));
  }
  // A fresh options object per chart: Chart.js writes the resolved x/y scales into the options it is given,
  // so one shared object handed the line chart's axes to the doughnut.
  const base = () => ({ responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { position: "bottom" } } });
  // Doughnuts and pies have no axes, whatever defaults say.
  const round = () => Object.assign(base(), { scales: { x: { display: false }, y: { display: false } } });
  // The server gives each brand one colour (by brand id) so it matches from chart to chart.
  const brandColour = (b, i) => b.colour || palette[i % palette.length];
  function text(el, s) { el.textContent = s; return el; }
  function li(parent, s, cls) { const e = document.createElement("li"); if (cls) e.className = cls; text(e, s); parent.appendChild(e); return e; }

  async function refresh() {
    try {
      const [sum, vol, sen, sov, lang, q, authors, posts, terms, places] = await Promise.all(
        ["summary", "volume", "sentiment", "share-of-voice", "languages", "queries", "top-authors", "top-posts", "emerging-terms", "places"].map(get));
      const pct = (x) => (x === null || x === undefined) ? "–" : Math.round(x * 100) + "%";
      text($("n-mentions"), sum.mentions.toLocaleString());
      text($("n-negative"), pct(sum.negative_share));
      text($("n-change"), sum.change === null ? "–" : (sum.change > 0 ? "+" : "") + pct(sum.change));
      text($("n-alerts"), sum.alerts);
      text($("n-incidents"), sum.open_incidents.length);
      const g = vol.window.grain;
      const labels = vol.labels.map((l) => label(l, g));
      draw("c-volume", { type: "line", data: { labels, datasets: vol.series.map((s, i) => ({ label: s.brand, data: s.data, borderColor: brandColour(s, i), backgroundColor: brandColour(s, i), pointRadius: 0, tension: 0.2 })) }, options: base() });
      draw("c-sentiment", { type: "bar", data: { labels, datasets: ["negative", "neutral", "positive"].map((k) => ({ label: k, data: sen[k], token: tokens[k], stack: "s" })) },
        options: Object.assign(base(), { scales: { x: { stacked: true }, y: { stacked: true } } }) });
      draw("c-sov", { type: "doughnut", data: { labels: sov.brands.map((b) => b.brand + (b.own ? " (you)" : "")), datasets: [{ data: sov.brands.map((b) => b.mentions), backgroundColor: sov.brands.map(brandColour) }] }, options: round() });
      text($("sov-note"), sov.own_brand_id ? "" : "Pick one brand (brand switcher) to compare it with its competitors.");
      draw("c-languages", { type: "bar", data: { labels: lang.items.map((x) => x.value), datasets: [{ label: "mentions", data: lang.items.map((x) => x.mentions), token: "chart-1" }] }, options: Object.assign(base(), { plugins: { legend: { display: false } } }) });
      text($("lang-note"), lang.items.length ? "" : "The mentions carry no language.");
      const seen = {}; // a brand's second, third... query: same colour, another dash
      const dashes = [[], [6, 4], [2, 3], [10, 3, 2, 3]];
      draw("c-queries", { type: "line", data: { labels, datasets: q.series.map((s, i) => {
        const n = seen[s.brand_id] = (seen[s.brand_id] || 0) + 1;
        return { label: s.brand + ": " + s.name, data: s.data, borderColor: brandColour(s, i), borderDash: dashes[(n - 1) % dashes.length], pointRadius: 0 };
      }) }, options: base() });
      text($("q-note"), q.series.length ? "" : "No listening queries yet (Listening → New query).");
      const la = $("l-authors"); la.replaceChildren();
      authors.items.forEach((a) => li(la, "@" + a.handle + (a.followers ? " · " + a.followers.toLocaleString() + " followers" : "") + " · " + a.mentions + " mention(s)"));
      text($("authors-by"), authors.ranked_by === "mentions" ? "by mentions" : "by reach");
      text($("authors-note"), authors.ranked_by === "mentions" && authors.items.length ? "No follower counts for these authors (their network did not give one): ranked by mentions." : "");
      if (!authors.items.length) li(la, "No mentions in range.", "muted");
      const lp = $("l-posts"); lp.replaceChildren();
      posts.items.forEach((p) => li(lp, p.shares + " shares · @" + (p.author__handle || "?") + ": " + p.text));
      if (!posts.items.length) li(lp, "No shared posts in range.", "muted");
      const lt = $("l-terms"); lt.replaceChildren();
      terms.items.forEach((t) => li(lt, t.term + " · " + t.recent + " now vs " + t.expected + " expected (" + t.ratio + "×)"));
      if (!terms.items.length) li(lt, "Nothing is bursting.", "muted");
      await drawPlaces(places);
      document.body.dataset.warroomReady = "1";
    } catch (err) { console.warn("war room refresh failed", err); }
  }

  // The "Where" panel: a choropleth of US states or countries (chartjs-chart-geo), and the top places as text.
  let atlas = null;
  let mapMode = null; // null = automatic: US states when most located mentions are in the US
  let lastPlaces = null;
  async function loadAtlas(card) {
    if (atlas) return atlas;
    const [us, world] = await Promise.all([card.dataset.usAtlas, card.dataset.worldAtlas].map((u) => fetch(u).then((r) => r.json())));
    atlas = { us, world };
    return atlas;
  }
  // On the dark wall screen more mentions are brighter: dark blue (few) to light blue (many).
  function shade(t) {
    const lo = [30, 58, 138], hi = [191, 219, 254];
    return "rgb(" + lo.map((c, i) => Math.round(c + (hi[i] - c) * t)).join(",") + ")";
  }
  async function drawPlaces(pl) {
    lastPlaces = pl;
    const card = $("wr-map");
    if (!card) return;
    const inUs = pl.us_states.reduce((n, s) => n + s.mentions, 0);
    const mode = mapMode || (pl.located && inUs * 2 >= pl.located ? "us" : "world");
    card.querySelectorAll("[data-map]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.map === mode)));
    const rows = mode === "us" ? pl.us_states : pl.countries;
    const list = $("l-places"); list.replaceChildren();
    rows.slice(0, 8).forEach((r) => li(list, r.name + " · " + r.mentions.toLocaleString()));
    const share = pl.mentions ? Math.round((pl.located / pl.mentions) * 100) : 0;
    text($("map-note"), pl.located
      ? pl.located.toLocaleString() + " of " + pl.mentions.toLocaleString() + " mentions (" + share + "%) are placed, from the location on the author's profile."
      : "No mention in range has an author location we can place (the networks only give what authors type on their profile).");
    if (!window.Chart || !window.ChartGeo) return;
    const a = await loadAtlas(card);
    const T = ChartGeo.topojson;
    let features, outline, value, projection;
    if (mode === "us") {
      features = T.feature(a.us, a.us.objects.states).features;
      outline = T.feature(a.us, a.us.objects.nation).features[0];
      const by = Object.fromEntries(pl.us_states.map((s) => [s.fips, s.mentions]));
      value = (f) => by[f.id]; // undefined: drawn in the "missing" colour, not as the scale's lightest
      projection = "albersUsa";
    } else {
      features = T.feature(a.world, a.world.objects.countries).features.filter((f) => f.properties.name !== "Antarctica");
      outline = { type: "Sphere" };
      const by = Object.fromEntries(pl.countries.map((c) => [c.iso_numeric, c.mentions]));
      value = (f) => by[Number(f.id)];
      projection = "equalEarth";
    }
    const config = {
      type: "choropleth",
      data: { labels: features.map((f) => f.properties.name), datasets: [{ label: "mentions", outline, showOutline: true, data: features.map((f) => ({ feature: f, value: value(f) })) }] },
      options: { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } },
        scales: { projection: { axis: "x", projection }, color: { axis: "x", quantize: 6, interpolate: shade, missing: "#1a2338", legend: { position: "bottom-right", align: "right" } } } },
    };
    if (charts["c-map"] && charts["c-map"].$mode === mode) {
      charts["c-map"].data = config.data; charts["c-map"].update("none"); return;
    }
    if (charts["c-map"]) charts["c-map"].destroy();
    Chart.register(ChartGeo.ChoroplethController, ChartGeo.GeoFeature, ChartGeo.ColorScale, ChartGeo.ProjectionScale);
    charts["c-map"] = new Chart($("c-map"), config);
    charts["c-map"].$mode = mode;
  }
  function mapButtons() {
    document.querySelectorAll("#wr-map [data-map]").forEach((b) => b.addEventListener("click", () => {
      mapMode = b.dataset.map;
      if (lastPlaces) drawPlaces(lastPlaces).catch((err) => console.warn("map failed", err));
    }));
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
  document.addEventListener("DOMContentLoaded", () => { mapButtons(); refresh(); live(); setInterval(refresh, 60000); });
})();
