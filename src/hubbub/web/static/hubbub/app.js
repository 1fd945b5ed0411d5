// Hubbub inbox: keyboard shortcuts, live updates over SSE, reply length counter, canned responses.
(function () {
  "use strict";
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  function rows() { return $$(".conv-row"); }
  // The selected row is marked for the eye (class) and for screen readers (aria-current), together.
  function markSelected(row, on) {
    row.classList.toggle("selected", on);
    if (on) row.setAttribute("aria-current", "true"); else row.removeAttribute("aria-current");
  }
  function selectedIndex() { return rows().findIndex((r) => r.classList.contains("selected")); }
  function select(i, open) {
    const list = rows();
    if (!list.length) return;
    i = Math.max(0, Math.min(list.length - 1, i));
    list.forEach((r, n) => markSelected(r, n === i));
    list[i].scrollIntoView({ block: "nearest" });
    if (open) { const a = $("a", list[i]); if (a) a.click(); }
  }
  function typing(e) {
    const t = e.target;
    return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
  }
  document.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && e.target.id === "reply-text") {
      e.preventDefault(); e.target.form.requestSubmit(); return;
    }
    if (e.key === "Escape" && typing(e)) { e.target.blur(); return; }
    if (typing(e) || e.ctrlKey || e.metaKey || e.altKey || $("dialog[open]")) return; // (the shortcuts list: ui.js)
    if (e.key === "j") { select(selectedIndex() + 1, true); e.preventDefault(); }
    else if (e.key === "k") { select(selectedIndex() - 1, true); e.preventDefault(); }
    else if (e.key === "Enter") { select(Math.max(0, selectedIndex()), true); }
    else if (e.key === "r") { const t = $("#reply-text"); if (t) { t.focus(); e.preventDefault(); } }
    else if (e.key === "e") { const f = $("#resolve-form"); if (f) f.requestSubmit(); }
    else if (e.key === "a") { const b = $("#assign-me"); if (b) b.click(); }
    else if (e.key === "x") {
      const r = rows()[selectedIndex()], b = r && $("input.pick", r);
      if (b) { b.checked = !b.checked; bulkBar(); }
    }
    else if (e.key === "/") { const s = $("#search"); if (s) { s.focus(); e.preventDefault(); } }
  });

  function counter() {
    const t = $("#reply-text"), c = $("#reply-counter");
    if (!t || !c || !t.dataset.limit) return;
    const n = [...t.value].length, lim = +t.dataset.limit;
    c.textContent = n + " / " + lim;
    c.classList.toggle("over", n > lim);
  }
  document.addEventListener("input", (e) => { if (e.target.id === "reply-text") counter(); });
  document.addEventListener("change", (e) => {
    if (e.target.id === "canned" && e.target.value) {
      const t = $("#reply-text");
      const author = ($(".thread-head h2") || {}).textContent || "";
      const first = (author.match(/@(\w+)/) || [, "there"])[1];
      t.value = e.target.value.replace(/\{first_name\}/g, first).replace(/\{agent_name\}/g, ($(".who") || {}).textContent.split(" ")[0] || "")
        .replace(/\{brand\}/g, "").replace(/\{case_number\}/g, ($("#thread") || {dataset: {}}).dataset.conversation || "");
      e.target.value = ""; counter(); keepBox(t); t.focus();
    }
  });

  function markSla() {
    const now = Date.now();
    $$(".sla[data-due]").forEach((el) => {
      const due = Date.parse(el.dataset.due), mins = Math.round((due - now) / 60000);
      el.classList.toggle("breached", mins < 0);
      const span = (m) => m >= 2880 ? Math.round(m / 1440) + "d" : m >= 120 ? Math.round(m / 60) + "h" : m + "m";
      el.textContent = mins < 0 ? "SLA breached " + span(-mins) + " ago" : "SLA in " + span(mins);
    });
  }
  setInterval(markSla, 30000);
  document.addEventListener("htmx:afterSwap", () => { markSla(); counter(); });
  document.addEventListener("DOMContentLoaded", markSla);

  // Notices of htmx actions ("Reply to @ana sent."): the server hands them over in the response that answers
  // the action (HX-Trigger event `hubbub:notices`, web.views.common.deliver_notices) instead of leaving them for
  // the next full page, where they piled up, stale. Shown as toasts; text is set with textContent (it names
  // customers: user input). Each batch has an id and shows once, whichever way it arrives (below).
  const shownNotices = new Set();
  function toast(level, text, link) {
    const area = $("#toasts");
    if (!area || !text) return;
    const item = document.createElement("div");
    item.className = "toast toast-" + (level || "info");
    item.setAttribute("role", level === "error" ? "alert" : "status");
    const words = document.createElement("span");
    words.textContent = text;
    item.append(words);
    if (link) {
      const a = document.createElement("a");
      a.href = link.href; a.textContent = link.text;
      a.setAttribute("hx-get", link.href); a.setAttribute("hx-target", "#thread-pane"); a.setAttribute("hx-push-url", "true");
      item.append(" ", a);
    }
    const close = document.createElement("button");
    close.type = "button"; close.className = "notice-close"; close.textContent = "×";
    close.setAttribute("aria-label", "Dismiss");
    close.addEventListener("click", () => item.remove());
    item.append(close);
    area.append(item);
    if (window.htmx) window.htmx.process(item);
    if (level === "success" || level === "info") setTimeout(() => item.remove(), 10000); // errors stay until dismissed
  }
  function showNotices(batch, link) {
    if (!batch || !batch.id || shownNotices.has(batch.id)) return;
    shownNotices.add(batch.id);
    (batch.notices || []).forEach((n) => toast(n.level, n.text, link));
  }
  function triggers(xhr) {
    const header = xhr && xhr.getResponseHeader("HX-Trigger");
    if (!header || header.charAt(0) !== "{") return {};
    try { return JSON.parse(header); } catch (err) { return {}; }
  }
  // htmx fires the event on the element that made the request; when a live update or a move to another
  // conversation has taken that element out of the page meanwhile, the event reaches nobody. So the answer's
  // header is read here too, as it is about to be swapped (or not: see below).
  document.addEventListener("hubbub:notices", (e) => showNotices(e.detail));

  // A refused or failed htmx action says why, where the user acted: htmx swaps no error answer in, so without
  // this the page showed nothing and the typed text just sat there. The server's reason is the body of a plain
  // text answer (web.views.errors for htmx requests), a JSON `detail`, or notices in HX-Trigger; otherwise the
  // status says what kind of failure it was. The form keeps its text (nothing was swapped).
  const FAILED = {
    403: "Not allowed: your role does not allow this action.",
    404: "Not found: it does not exist (any more), or it belongs to a brand you cannot see.",
    409: "This changed meanwhile: reload the conversation and try again.",
    413: "Too large to send.",
    429: "Too many requests: wait a moment and try again.",
  };
  function reasonOf(xhr) {
    const type = xhr.getResponseHeader("Content-Type") || "", body = (xhr.responseText || "").trim();
    if (type.indexOf("text/plain") === 0 && body) return body.slice(0, 300);
    if (type.indexOf("application/json") === 0) {
      try { const d = JSON.parse(body); if (d && typeof d.detail === "string") return d.detail.slice(0, 300); } catch (err) { /* below */ }
    }
    if (FAILED[xhr.status]) return FAILED[xhr.status];
    return xhr.status >= 500 ? "Something broke on our side (HTTP " + xhr.status + "); try again in a moment."
      : "The action was refused (HTTP " + xhr.status + ").";
  }
  document.addEventListener("htmx:responseError", (e) => {
    const xhr = e.detail.xhr;
    if (!xhr) return;
    const notices = triggers(xhr)["hubbub:notices"];
    if (notices && notices.id) showNotices(notices);
    else toast("error", reasonOf(xhr));
  });
  document.addEventListener("htmx:sendError", () => {
    toast("error", "Hubbub could not be reached: check your connection. Nothing was sent; your text is still here.");
  });
  document.addEventListener("htmx:beforeSwap", (e) => {
    if (!sentFrom(e) || e.detail.target !== pane()) showNotices(triggers(e.detail.xhr)["hubbub:notices"]);
  });

  // A form of the thread pane (reply, note, status, …) is answered for the conversation it was sent from. If the
  // agent has moved to another conversation meanwhile (j/k, a click in the list), that answer must not replace
  // the pane they are in now: it is not swapped in, and its notice ("Reply to @ana sent.", with a link back) says
  // what happened. The tab's draft of the text the server took is dropped (never offered, and sent, twice); a
  // refused text (`hubbub:refused`) stays the conversation's unsent draft, and the notice says why.
  // Registered before the other beforeSwap listeners, which leave a response that will not be swapped alone.
  const pane = () => $("#thread-pane");
  function sentFrom(e) {
    const elt = e.detail.requestConfig && e.detail.requestConfig.elt;
    const form = elt && elt.closest ? elt.closest("form") : null;
    const thread = form ? form.closest("[data-conversation]") : null;
    return thread ? { form: form, conversation: thread.dataset.conversation } : null;
  }
  // Every request for the pane is numbered; a GET of a conversation (j/k, a click, a live reload) names the
  // conversation the pane is going to show. An answer that left before the latest such GET of another
  // conversation is late, whatever it is (a live reload of A that was still on its way when the agent pressed j
  // is as late as the answer to A's reply form).
  let paneRequests = 0, wanted = { seq: 0, conversation: null };
  const shownIn = (path) => { const m = /^\/c\/(\d+)\//.exec(path || ""); return m ? m[1] : null; };
  document.addEventListener("htmx:beforeRequest", (e) => {
    if (e.defaultPrevented || e.detail.target !== pane() || !e.detail.xhr) return;
    e.detail.xhr.hubbubSeq = ++paneRequests;
    const conv = e.detail.requestConfig && e.detail.requestConfig.verb === "get" ? shownIn(e.detail.pathInfo.requestPath) : null;
    if (conv) wanted = { seq: paneRequests, conversation: conv };
  });
  // A live reload names the conversation that was open when it was asked for (refreshOpen). htmx queues it while
  // another request for the pane is in flight, so it may only leave after the agent has asked for another
  // conversation (j/k): then it is not sent at all, or it would take the pane back to the one they left.
  const heading = () => wanted.conversation || ($("#thread") || { dataset: {} }).dataset.conversation;
  document.addEventListener("htmx:beforeRequest", (e) => {
    const headers = e.detail.requestConfig && e.detail.requestConfig.headers;
    const of = headers && headers["X-Hubbub-Reload-Of"];
    if (of && heading() && heading() !== of) e.preventDefault();
  }, true);
  function overtaken(e, conversation) {
    const seq = e.detail.xhr && e.detail.xhr.hubbubSeq;
    return !!seq && seq < wanted.seq && wanted.conversation !== conversation;
  }
  document.addEventListener("htmx:beforeSwap", (e) => {
    if (e.detail.target !== pane() || sentFrom(e)) return;
    if (overtaken(e, shownIn(e.detail.pathInfo && e.detail.pathInfo.requestPath))) e.detail.shouldSwap = false;
  });
  document.addEventListener("htmx:beforeSwap", (e) => {
    const from = sentFrom(e), open = $("#thread");
    if (!from || e.detail.target !== pane()) return;
    const events = triggers(e.detail.xhr), refused = events["hubbub:refused"];
    const here = open && (open.dataset.conversation === from.conversation || open.dataset.mergedFrom === from.conversation);
    if (here && !overtaken(e, from.conversation)) {
      showNotices(events["hubbub:notices"]);
      return;
    }
    e.detail.shouldSwap = false;
    const status = e.detail.xhr ? e.detail.xhr.status : 0;
    const link = { href: "/c/" + encodeURIComponent(from.conversation) + "/", text: "Open #" + from.conversation };
    if (status >= 200 && status < 300 && !refused) {
      $$("textarea", from.form).forEach((el) => { if (BOXES[el.id]) storeDraft(from.conversation, el.id, ""); });
    }
    if (refused) toast("error", refused.text, link);
    showNotices(events["hubbub:notices"], link);
  });

  // One reply at a time per conversation. While a reply is on its way, the composer may have been replaced (a
  // live reload of the pane keeps the text in its box, see below): pressing Send again there would post it twice.
  // So the conversation, not the form element (htmx's hx-sync), is what says a reply is in flight; a repeat is
  // not sent, and the button says why until the answer is back, whatever happened to the pane meanwhile.
  const sendingTo = new Set();
  function markSending() {
    const open = $("#thread"), button = $("form.composer button[type=submit]");
    if (!open || !button) return;
    const busy = sendingTo.has(open.dataset.conversation);
    button.setAttribute("aria-busy", busy ? "true" : "false");
    button.classList.toggle("busy", busy);
    button.textContent = busy ? "Sending…" : "Send reply";
  }
  document.addEventListener("htmx:beforeRequest", (e) => {
    const elt = e.detail.elt, form = elt && elt.matches && elt.matches("form.composer") ? elt : null;
    const thread = form && form.closest("[data-conversation]"); // (not the typing notice inside the form)
    if (e.defaultPrevented || !thread || !e.detail.xhr) return;
    const conv = thread.dataset.conversation;
    if (sendingTo.has(conv)) { e.preventDefault(); return; }
    sendingTo.add(conv);
    e.detail.xhr.addEventListener("loadend", () => { sendingTo.delete(conv); markSending(); });
    markSending();
  }, true);
  document.addEventListener("htmx:afterSwap", (e) => { if (e.detail.target === pane()) markSending(); });

  // Unsent text in the open thread pane (reply box, note box, tags being edited) is never lost when the pane is
  // replaced by the same conversation — a live update, or the result of another form of the pane — nor when it
  // moves to the conversation this one was merged into (the pane says data-merged-from). Captured just before
  // the swap, put back just after (same task: no keystroke falls in between), with the caret. The fields of the
  // form whose submission this is are left as the server renders them (a sent reply's box is empty); fields are
  // matched by id or name, so this holds even when a live update swapped the pane while the form was in flight.
  const TEXT = "textarea, input[type=text], input:not([type])";
  const fieldKey = (el) => el.id || el.name;
  const textField = (el) => !!(el && el.matches && el.matches(TEXT) && fieldKey(el));
  let unsent = null, stale = null; // stale: a reload of the pane waits until the agent leaves the box
  document.addEventListener("htmx:beforeSwap", (e) => {
    const open = $("#thread");
    unsent = null;
    if (!open || e.detail.target !== pane() || !e.detail.shouldSwap) return;
    const elt = e.detail.requestConfig && e.detail.requestConfig.elt;
    const form = elt && elt.closest ? elt.closest("form") : null;
    const submitted = new Set(form ? $$(TEXT, form).map(fieldKey) : []);
    const fields = {};
    $$(TEXT, open).forEach((el) => {
      const k = fieldKey(el);
      if (!k || submitted.has(k) || !el.value.trim()) return;
      if (el.tagName !== "TEXTAREA" && el.value === el.defaultValue) return; // an input left as rendered
      fields[k] = { value: el.value, start: el.selectionStart, end: el.selectionEnd, focused: el === document.activeElement };
    });
    if (Object.keys(fields).length) unsent = { conversation: open.dataset.conversation, fields: fields };
  });
  document.addEventListener("htmx:afterSwap", (e) => {
    const saved = unsent, open = $("#thread");
    unsent = null;
    if (e.detail.target === pane()) stale = null; // the pane is fresh
    if (!saved || !open || e.detail.target !== pane()) return;
    if (open.dataset.conversation !== saved.conversation && open.dataset.mergedFrom !== saved.conversation) return;
    $$(TEXT, open).forEach((el) => {
      const old = saved.fields[fieldKey(el)];
      if (!old || el.value === old.value) return;
      // a textarea the server filled (a draft carried over from a merge) keeps that text too, after the agent's
      el.value = el.tagName === "TEXTAREA" && el.value.trim() ? old.value + "\n\n" + el.value : old.value;
      if (old.focused) { el.focus(); el.setSelectionRange(old.start, old.end); }
    });
    counter();
  });

  // Unsent drafts per conversation: what the agent types in the reply and note boxes is kept in this tab's
  // sessionStorage (keyed by user, conversation and box) as they type, so moving to another conversation (j/k,
  // a click in the list) and back brings it back, and the list marks the rows with an unsent draft. A key is
  // dropped when its box is emptied, and when the server took the text: the form's request succeeded (a reply
  // sent or held for approval, a note added; a refused one comes back in its box from the server, and is
  // kept again from there, below). Text the server puts in a box (a refusal, a draft carried over from a
  // merge) is kept too; if this tab held other text for that box, both stay, the tab's first.
  const BOXES = { "reply-text": "reply", "note-text": "note" };
  const draftKey = (conv, id) => "hubbub.draft." + (document.body.dataset.user || "") + "." + conv + "." + BOXES[id];
  function storedDraft(conv, id) {
    try { return window.sessionStorage.getItem(draftKey(conv, id)) || ""; } catch (err) { return ""; }
  }
  function storeDraft(conv, id, value) {
    if (!conv || !BOXES[id]) return;
    try {
      if (value.trim()) window.sessionStorage.setItem(draftKey(conv, id), value);
      else window.sessionStorage.removeItem(draftKey(conv, id));
    } catch (err) { /* storage full or disabled: the box still holds the text */ }
    markDrafts();
  }
  function keepBox(el) {
    const open = $("#thread");
    if (open && el && BOXES[el.id] && open.contains(el)) storeDraft(open.dataset.conversation, el.id, el.value);
  }
  function markDrafts() {
    rows().forEach((row) => {
      const has = Object.keys(BOXES).some((id) => storedDraft(row.dataset.id, id).trim() !== "");
      let mark = $(".draft-mark", row);
      row.classList.toggle("has-draft", has);
      if (has && !mark) {
        mark = document.createElement("span");
        mark.className = "badge draft-mark";
        mark.textContent = "unsent draft";
        mark.title = "You have text in this conversation's reply or note box that is not sent yet";
        ($(".row-bottom", row) || row).prepend(mark);
      } else if (!has && mark) mark.remove();
    });
  }
  function restoreDrafts() {
    const open = $("#thread");
    if (!open) return;
    const conv = open.dataset.conversation, from = open.dataset.mergedFrom;
    Object.keys(BOXES).forEach((id) => {
      const el = $("#" + id, open);
      if (!el) return;
      // a draft this tab kept for a conversation merged into this one (its answer came after the agent moved on)
      const carried = from ? storedDraft(from, id) : "";
      if (carried.trim()) {
        if (!el.value.includes(carried)) el.value = el.value.trim() ? carried + "\n\n" + el.value : carried;
        storeDraft(from, id, "");
      }
      const kept = storedDraft(conv, id);
      if (!el.value.trim()) el.value = kept;
      else if (kept.trim() && !el.value.includes(kept)) el.value = kept + "\n\n" + el.value;
      storeDraft(conv, id, el.value);
    });
    counter();
  }
  document.addEventListener("input", (e) => keepBox(e.target));
  document.addEventListener("htmx:beforeSwap", (e) => {
    // only a form of the pane submitted and answered with a new pane (not e.g. the composer's presence ping)
    const form = e.detail.requestConfig && e.detail.requestConfig.elt;
    const thread = form && form.tagName === "FORM" ? form.closest("[data-conversation]") : null;
    const status = e.detail.xhr ? e.detail.xhr.status : 0;
    if (!thread || e.detail.target !== pane() || !e.detail.shouldSwap || status < 200 || status >= 300) return;
    $$("textarea", form).forEach((el) => { if (BOXES[el.id]) storeDraft(thread.dataset.conversation, el.id, ""); });
  });
  document.addEventListener("htmx:afterSwap", (e) => {
    if (e.detail.target === pane()) { restoreDrafts(); selectOpen(); return; }
    markDrafts();
    // a refreshed list keeps the conversation selected that the pane shows, or is loading (j pressed just
    // before the refresh: the selection stays on the row the agent moved to), so j/k go on from there
    const current = heading();
    if (current && selectedIndex() < 0) {
      rows().forEach((r) => markSelected(r, r.dataset.id === current));
    }
  });
  // The list's selection follows the open conversation however it was opened (a notice's link too), so j/k go
  // on from there.
  function selectOpen() {
    const open = $("#thread"), row = open && $(".conv-row[data-id='" + open.dataset.conversation + "']");
    if (!row || row.classList.contains("selected")) return;
    rows().forEach((r) => markSelected(r, r === row));
  }
  document.addEventListener("DOMContentLoaded", () => { restoreDrafts(); markDrafts(); });

  // The open conversation changed on the server: reload its pane (`target`: the conversation to show, the
  // survivor of a merge). Not while the agent types in the pane: it says so and reloads when they leave the box.
  function typingInPane() {
    const a = document.activeElement, open = $("#thread");
    return !!(open && textField(a) && open.contains(a));
  }
  // A button pressed in the pane (mouse or finger down, not yet up) must not be replaced under the pointer: the
  // click then lands on nothing and the action is silently lost (seen under load: an agent's "Me" pressed as
  // their sent reply's live reload arrived). A reload that comes meanwhile waits for the release, and runs after
  // the click it would have swallowed.
  let pressedInPane = false, reloadAfterPress = null;
  document.addEventListener("pointerdown", (e) => { const p = pane(); pressedInPane = !!(p && p.contains(e.target)); }, true);
  function released() {
    pressedInPane = false;
    if (reloadAfterPress === null) return;
    const target = reloadAfterPress;
    reloadAfterPress = null;
    setTimeout(() => refreshOpen(target), 0);
  }
  document.addEventListener("pointerup", released, true);
  document.addEventListener("pointercancel", released, true);
  function refreshOpen(target) {
    if (pressedInPane) {
      reloadAfterPress = target;
      return;
    }
    if (typingInPane()) {
      stale = target;
      const note = $("#thread-stale");
      if (note) note.hidden = false;
      return;
    }
    stale = null;
    const of = ($("#thread") || { dataset: {} }).dataset.conversation || String(target);
    // `source`: without one htmx sends every htmx.ajax() from <body>, so they share one hx-sync queue that keeps
    // only the last waiting request: a list refresh then held back a pane reload and dropped it.
    window.htmx.ajax("GET", "/c/" + encodeURIComponent(target) + "/",
      { source: "#thread-pane", target: "#thread-pane", swap: "innerHTML", headers: { "X-Hubbub-Reload-Of": of } });
  }
  document.addEventListener("focusout", (e) => {
    if (stale === null || !textField(e.target)) return;
    setTimeout(() => { if (stale !== null && !typingInPane()) refreshOpen(stale); }, 0);
  });

  function refreshList() {
    const list = $("#conversation-list");
    if (!list || !window.htmx) return;
    const url = list.dataset.url || "/" + window.location.search; // data-url: the page answers a POST
    window.htmx.ajax("GET", url, { source: "#conversation-list", target: "#conversation-list", swap: "innerHTML" });
  }
  function startLive() {
    const url = document.body.dataset.live;
    if (!url || !window.EventSource) return;
    const dot = $("#live-status");
    const es = new EventSource(url);
    // "Live updates paused": said by the stream when Redis is away (event "live"), and shown here when the
    // stream itself stays lost for 10 s (the web process restarting is shorter), never a silent stall.
    const paused = $("#live-paused");
    const showPaused = (on) => { if (paused) paused.hidden = !on; if (dot) dot.classList.toggle("on", !on); };
    let lost = null;
    es.onopen = () => { clearTimeout(lost); showPaused(false); };
    es.onerror = () => {
      if (dot) dot.classList.remove("on");
      clearTimeout(lost); lost = setTimeout(() => showPaused(true), 10000);
    };
    es.addEventListener("live", (ev) => showPaused(JSON.parse(ev.data || "{}").state === "paused"));
    let pending = null;
    es.addEventListener("messages", (ev) => {
      const data = JSON.parse(ev.data || "{}"), open = $("#thread");
      if (open && (data.conversation_ids || []).map(String).includes(open.dataset.conversation)) {
        refreshOpen(open.dataset.conversation); // a new message in the open conversation
      }
      const firstPage = !new URLSearchParams(window.location.search).get("cursor");
      if (firstPage && (window.scrollY < 50)) {
        clearTimeout(pending); pending = setTimeout(refreshList, 400);
      } else { const b = $("#new-banner"); if (b) b.hidden = false; }
    });
    // Another agent typing in the conversation open here: say so at once (the server only counts it
    // when this agent starts typing too). Text is set with textContent: user names are user input.
    es.addEventListener("composing", (ev) => {
      const data = JSON.parse(ev.data), open = $("#thread"), box = $("#collision");
      if (!open || !box || String(data.conversation_id) !== open.dataset.conversation) return;
      if (data.user === document.body.dataset.user) return;
      const p = document.createElement("p");
      p.className = "collision";
      p.textContent = data.user + " is writing a reply to this conversation.";
      box.replaceChildren(p);
      clearTimeout(box._clear); box._clear = setTimeout(() => box.replaceChildren(), 45000);
    });
    // A reviewer approved, edited or rejected one of my replies: a notice with a link to it.
    es.addEventListener("notice", (ev) => {
      const data = JSON.parse(ev.data), area = $("#notices");
      if (!area) return;
      const item = document.createElement("div");
      item.className = "notice";
      item.setAttribute("role", "status");
      const link = document.createElement("a");
      link.href = "/c/" + encodeURIComponent(data.conversation_id) + "/";
      link.textContent = "Conversation #" + data.conversation_id;
      link.setAttribute("hx-get", "/c/" + encodeURIComponent(data.conversation_id) + "/");
      link.setAttribute("hx-target", "#thread-pane");
      const text = document.createElement("span");
      text.textContent = " " + (data.text || "");
      const close = document.createElement("button");
      close.type = "button"; close.className = "notice-close"; close.textContent = "×";
      close.setAttribute("aria-label", "Dismiss");
      close.addEventListener("click", () => item.remove());
      item.append(link, text, close);
      area.prepend(item);
      if (window.htmx) window.htmx.process(item);
    });
    es.addEventListener("conversation", (ev) => {
      const data = JSON.parse(ev.data), open = $("#thread");
      if (open && String(data.conversation_id) === open.dataset.conversation) {
        // merged_into: this conversation was merged into another (a reply arrived before its parent); the
        // pane moves there and its unsent text goes along (see htmx:beforeSwap above)
        refreshOpen(data.merged_into || data.conversation_id);
      }
      clearTimeout(pending); pending = setTimeout(refreshList, 400);
    });
  }
  document.addEventListener("click", (e) => {
    if (e.target.id === "show-new") { $("#new-banner").hidden = true; refreshList(); }
  });
  // Bulk reply: ticking conversations in the list shows one composer for all of them. A refused bulk reply comes
  // back open (data-refused) with its text, ticks and reasons (workflow.views.bulk_reply).
  function bulkBar() {
    const form = $("#bulk-form");
    if (!form) return;
    const n = document.querySelectorAll("input.pick:checked").length;
    form.hidden = n === 0 && !form.dataset.refused;
    $("#bulk-count").textContent = String(n);
  }
  document.addEventListener("change", (e) => { if (e.target.classList && e.target.classList.contains("pick")) bulkBar(); });
  document.addEventListener("click", (e) => {
    if (e.target.id === "bulk-clear") {
      document.querySelectorAll("input.pick:checked").forEach((b) => { b.checked = false; });
      delete $("#bulk-form").dataset.refused;
      bulkBar();
    }
  });
  // A live refresh of the list keeps the ticks, and the reasons of a refused bulk reply beside their rows.
  let picked = null;
  document.addEventListener("htmx:beforeSwap", (e) => {
    if (e.detail.target === $("#conversation-list")) picked = $$("#conversation-list input.pick:checked").map((b) => b.value);
  });
  document.addEventListener("htmx:afterSwap", (e) => {
    if (e.detail.target !== $("#conversation-list") || picked === null) return;
    const keep = new Set(picked);
    picked = null;
    $$("#conversation-list input.pick").forEach((b) => { if (keep.has(b.value)) b.checked = true; });
    $$("#bulk-refusals li[data-id]").forEach((li) => {
      const row = $(".conv-row[data-id='" + li.dataset.id + "']");
      if (!row || $(".bulk-why", row)) return;
      const why = document.createElement("p");
      why.className = "bulk-why error small";
      why.dataset.for = li.dataset.id;
      why.textContent = "Bulk reply: " + li.textContent.replace(/^[^:]*:\s*/, "");
      $("a", row).after(why);
    });
  });
  document.addEventListener("htmx:afterSwap", bulkBar);
  document.addEventListener("DOMContentLoaded", bulkBar);
  // One submission per click: a second one while the first is on its way would reply twice.
  document.addEventListener("submit", (e) => {
    if (e.target.id !== "bulk-form") return;
    if (e.target.dataset.sending) { e.preventDefault(); return; }
    e.target.dataset.sending = "true";
    // back to the inbox as it is now (j/k and the filters push their URL), not as the page was first loaded;
    // a refused reply's page (/bulk-reply/) already names it
    if (window.location.pathname !== e.target.getAttribute("action") && e.target.elements.next) {
      e.target.elements.next.value = window.location.pathname + window.location.search;
    }
    setTimeout(() => { const b = $("#bulk-send"); if (b) b.disabled = true; }, 0);
  });
  window.addEventListener("pageshow", () => { // back to this page from the history: it may be sent again
    const form = $("#bulk-form"), b = $("#bulk-send");
    if (form) delete form.dataset.sending;
    if (b) b.disabled = false;
  });
  document.addEventListener("DOMContentLoaded", startLive);

  // Behaviours the templates ask for by attribute, since the Content-Security-Policy runs no inline handler:
  // data-confirm="question" on a button asks first; data-autosubmit on a select submits its form on change.
  document.addEventListener("click", (e) => {
    const el = e.target instanceof Element ? e.target.closest("[data-confirm]") : null;
    if (el && !window.confirm(el.dataset.confirm)) e.preventDefault();
  });
  document.addEventListener("change", (e) => {
    const el = e.target instanceof Element ? e.target.closest("select[data-autosubmit]") : null;
    if (el && el.form) el.form.submit();
  });
})();
