// Hubbub's layout on every page: the theme toggle, the menu on narrow screens, the keyboard shortcuts dialog (?).
(function () {
  "use strict";
  const $ = (sel, root) => (root || document).querySelector(sel);
  const root = document.documentElement;

  // Light or dark: the system's setting until the user picks one with the toggle; the pick is kept in
  // localStorage and set on <html> before the first paint (base.html), so no page flashes the other theme.
  const KEY = "hubbub.theme";
  const system = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  const isDark = () => (root.dataset.theme || (system && system.matches ? "dark" : "light")) === "dark";
  function showTheme() {
    const button = $("#theme-toggle");
    if (button) button.setAttribute("aria-pressed", String(isDark()));
    document.dispatchEvent(new CustomEvent("hubbub:theme", { detail: { dark: isDark() } })); // charts.js
  }
  // Choosing the system's own theme goes back to following the system (a later change of the system's setting
  // shows again); only the other one is remembered. Without this, one click on the toggle pinned a theme for good.
  function setTheme(theme) {
    const follow = theme === (system && system.matches ? "dark" : "light");
    if (follow) delete root.dataset.theme; else root.dataset.theme = theme;
    try {
      if (follow) window.localStorage.removeItem(KEY); else window.localStorage.setItem(KEY, theme);
    } catch (err) { /* private mode: this page only */ }
    showTheme();
  }
  if (system && system.addEventListener) system.addEventListener("change", () => { if (!root.dataset.theme) showTheme(); });

  // Narrow screens: the sidebar is a drawer behind the menu button; Escape or a click outside closes it.
  function setMenu(open) {
    const button = $("#menu-toggle");
    document.body.classList.toggle("nav-open", open);
    if (button) button.setAttribute("aria-expanded", String(open));
  }
  document.addEventListener("click", (e) => {
    const target = e.target instanceof Element ? e.target : null;
    if (!target) return;
    if (target.closest("#theme-toggle")) { setTheme(isDark() ? "light" : "dark"); return; }
    if (target.closest("#menu-toggle")) { setMenu(!document.body.classList.contains("nav-open")); return; }
    if (target.closest("#shortcuts-button")) { openShortcuts(); return; }
    if (target.closest("[data-close-dialog]")) { const d = target.closest("dialog"); if (d) d.close(); return; }
    if (document.body.classList.contains("nav-open") && !target.closest("#sidenav")) setMenu(false);
  });

  // The shortcuts dialog: a modal <dialog> (Escape closes it, the page behind is inert); Tab and Shift+Tab go
  // round its own controls, and focus goes back where it was when it closes.
  let opener = null;
  function focusables(dialog) {
    return Array.from(dialog.querySelectorAll("a[href], button:not([disabled]), input, select, textarea, [tabindex]:not([tabindex='-1'])"));
  }
  function openShortcuts() {
    const dialog = $("#shortcuts");
    if (!dialog || dialog.open) return;
    opener = document.activeElement;
    dialog.showModal();
    const first = focusables(dialog)[0];
    if (first) first.focus();
  }
  document.addEventListener("DOMContentLoaded", () => {
    showTheme();
    const dialog = $("#shortcuts");
    if (!dialog) return;
    dialog.addEventListener("close", () => { if (opener && opener.focus) opener.focus(); opener = null; });
    dialog.addEventListener("keydown", (e) => {
      if (e.key !== "Tab") return;
      const items = focusables(dialog);
      if (!items.length) { e.preventDefault(); return; }
      const first = items[0], last = items[items.length - 1];
      const inside = dialog.contains(document.activeElement);
      if (e.shiftKey && (document.activeElement === first || !inside)) { e.preventDefault(); last.focus(); }
      else if (!e.shiftKey && (document.activeElement === last || !inside)) { e.preventDefault(); first.focus(); }
    });
  });

  function typing(e) {
    const t = e.target;
    return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
  }
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && document.body.classList.contains("nav-open")) { setMenu(false); $("#menu-toggle").focus(); return; }
    if (e.key !== "?" || typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
    e.preventDefault();
    openShortcuts();
  });
})();
