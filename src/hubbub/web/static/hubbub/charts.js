// Charts in the design system's colours (app.css tokens), in either theme. Load it after chart.min.js.
// Text and grid lines take the tokens --muted and --chart-grid; a dataset names its colour by token
// (`token: "chart-neg"`, or one token per bar: `token: ["chart-1", "chart-2"]`) instead of a hex value. The
// tokens are read where the chart is drawn (the war room is dark in both themes), before every update, and
// every chart is updated when the theme changes (ui.js), so no chart keeps the other theme's colours.
(function () {
  "use strict";
  if (!window.Chart) return;
  function colour(token, where) {
    const probe = document.createElement("span");
    probe.style.color = "var(--" + token + ")";
    probe.style.display = "none";
    (where || document.body).appendChild(probe);
    const value = window.getComputedStyle(probe).color;
    probe.remove();
    return value;
  }
  const resolve = (token, where) => Array.isArray(token) ? token.map((t) => colour(t, where)) : colour(token, where);
  window.Chart.register({
    id: "hubbubTokens",
    beforeUpdate(chart) {
      const where = chart.canvas && chart.canvas.parentNode;
      window.Chart.defaults.color = colour("muted", where);
      window.Chart.defaults.borderColor = colour("chart-grid", where);
      window.Chart.defaults.font.family = window.getComputedStyle(document.body).fontFamily;
      chart.data.datasets.forEach((d) => {
        if (!d.token) return;
        const value = resolve(d.token, where);
        d.backgroundColor = value;
        // a doughnut's slices are parted by the surface's colour; lines and bars are drawn in their own
        d.borderColor = chart.config.type === "doughnut" ? colour("panel", where) : value;
      });
    },
  });
  window.hubbubColour = colour;
  // not update("none"): in that mode Chart.js keeps the options bars share, and they kept the old colours
  document.addEventListener("hubbub:theme", () => {
    Object.values(window.Chart.instances || {}).forEach((chart) => chart.update());
  });
})();
