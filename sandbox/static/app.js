// warroom sandbox console: renders the simulated workspace and sends what a
// person does (commands, messages, clicks, modal submissions) to the
// simulator, which delivers them to the bot as Slack would.
"use strict";

const $ = (sel) => document.querySelector(sel);
const state = { user: "", channel: "", names: {}, users: [], channels: [], views: [], seen: {}, counts: {} };

const emoji = {
  rotating_light: "🚨", white_check_mark: "✅", speech_balloon: "💬", pencil2: "✏️", wastebasket: "🗑️", ballot_box_with_check: "☑️", white_large_square: "⬜", book: "📖", card_index: "📇", warning: "⚠️", memo: "📝", bust_in_silhouette: "👤",
  busts_in_silhouette: "👥", large_blue_circle: "🔵", point_right: "👉", fire: "🔥", red_circle: "🔴",
  large_orange_circle: "🟠", alarm_clock: "⏰", sos: "🆘", mega: "📣", zzz: "💤", clipboard: "📋",
  arrows_counterclockwise: "🔄", bell: "🔔", information_source: "ℹ️", lock: "🔒", page_facing_up: "📄",
  pager: "📟", scissors: "✂️", pushpin: "📌", tada: "🎉", eyes: "👀", thumbsup: "👍", "+1": "👍",
};

function esc(s) {
  return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function unslack(s) {
  return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

// inline renders Slack's inline formatting on HTML-escaped text: `code`,
// *bold*, _italic_, ~strike~ and :emoji:.
function inline(s) {
  return s
    .replace(/`([^`\n]+)`/g, "<code>$1</code>")
    .replace(/(^|[\s(>])\*([^*\n]+)\*(?=[\s.,;:!?)<]|$)/g, "$1<strong>$2</strong>")
    .replace(/(^|[\s(>])_([^_\n]+)_(?=[\s.,;:!?)<]|$)/g, "$1<em>$2</em>")
    .replace(/(^|[\s(>])~([^~\n]+)~(?=[\s.,;:!?)<]|$)/g, "$1<s>$2</s>")
    .replace(/:([a-z0-9_+-]+):/g, (m, name) => emoji[name] || m);
}

// mrkdwn renders Slack's message format as Slack shows it: the tokens
// <@U|name>, <#C>, <!date^...|fallback>, <url|label>; *bold*, _italic_,
// ~strike~, `code`, :emoji:; and lines starting with > as a quote. Tokens
// become placeholders first, so formatting may span them ("_rejected:
// only <@U1> can_").
function mrkdwn(text) {
  const tokens = [];
  const plain = String(text).replace(/<([^<>]+)>/g, (m, tok) => { tokens.push(special(tok)); return "\u0000" + (tokens.length - 1) + "\u0000"; });
  const lines = esc(unslack(plain)).split("\n");
  let out = "", quote = [];
  const flush = () => { if (quote.length) { out += `<blockquote>${quote.map(inline).join("<br>")}</blockquote>`; quote = []; } };
  lines.forEach((line, i) => {
    const q = line.match(/^&gt;\s?(.*)$/);
    if (q) { quote.push(q[1]); return; }
    flush();
    out += inline(line) + (i < lines.length - 1 ? "<br>" : "");
  });
  flush();
  return out.replace(/\u0000(\d+)\u0000/g, (m, i) => tokens[+i]);
}

function special(tok) {
  const [target, label] = tok.split("|");
  if (target.startsWith("@")) {
    const id = target.slice(1);
    return `<span class="mention">@${esc(state.names[id] || label || id)}</span>`;
  }
  if (target.startsWith("#")) {
    const id = target.slice(1);
    const ch = state.channels.find((c) => c.id === id);
    return `<span class="chan" data-channel="${esc(id)}">#${esc(ch ? ch.name : label || id)}</span>`;
  }
  if (target.startsWith("!date")) return esc(label || "");
  if (target.startsWith("!")) return `<span class="mention">@${esc(target.slice(1))}</span>`;
  if (/^https?:\/\//.test(target)) return `<a href="${esc(target)}" target="_blank" rel="noopener">${esc(label || target)}</a>`;
  return esc("<" + tok + ">");
}

function textObj(t) {
  if (!t) return "";
  return t.type === "mrkdwn" ? mrkdwn(t.text) : esc(t.text);
}

function renderBlocks(blocks, msg) {
  return blocks.map((b) => {
    switch (b.type) {
      case "header": return `<h3>${esc(b.text.text)}</h3>`;
      case "divider": return "<hr>";
      case "section": {
        let h = b.text ? `<div>${textObj(b.text)}</div>` : "";
        if (b.fields) h += `<div class="fields">${b.fields.map((f) => `<div>${textObj(f)}</div>`).join("")}</div>`;
        if (b.accessory && b.accessory.type === "button") h += button(b.accessory, b.block_id, msg);
        return h;
      }
      case "context": return `<div class="context">${(b.elements || []).map(textObj).join(" ")}</div>`;
      case "actions": return `<div class="actions">${(b.elements || []).map((e) => e.type === "button" ? button(e, b.block_id, msg) : e.type === "checkboxes" ? checkboxes(e, b.block_id, msg) : "").join(" ")}</div>`;
      default: return "";
    }
  }).join("");
}

// checkboxes renders a checkbox group; a click sends the box's value and
// the simulator works out the rest of the payload, as Slack's client does.
function checkboxes(el, blockID, msg) {
  const ticked = new Set((el.initial_options || []).map((o) => o.value));
  return `<div class="checkboxes">${(el.options || []).map((o) => `<label class="checkbox"><input type="checkbox" data-ts="${esc(msg.ts)}" data-block="${esc(blockID || "")}" data-value="${esc(o.value)}"${ticked.has(o.value) ? " checked" : ""}> <span>${textObj(o.text)}</span>${o.description ? `<small>${textObj(o.description)}</small>` : ""}</label>`).join("")}</div>`;
}

function button(el, blockID, msg) {
  const style = el.style ? ` ${esc(el.style)}` : "";
  return `<button class="slack-button${style}" data-ts="${esc(msg.ts)}" data-block="${esc(blockID || "")}" data-action="${esc(el.action_id)}" data-value="${esc(el.value || "")}">${esc(el.text.text)}</button>`;
}

// files are the files shared with a message, as links that open them.
function files(m) {
  return (m.files || []).map((f) => `<a class="file" href="/api/files/${encodeURIComponent(f.id)}?${q({ user: state.user, token })}" target="_blank" rel="noopener">📄 ${esc(f.name)}</a> <span class="size">${Math.max(1, Math.round((f.size || 0) / 1024))} KB</span>`).join("");
}

// tools are what a person can do to a message, as in Slack: react with
// 📌, pin it, or use the "Add to incident timeline" shortcut.
function tools(m) {
  const mine = ((m.reactions || {})[state.emoji || "pushpin"] || []).includes(state.user);
  const ch = (state.channels || []).find((c) => c.id === state.channel);
  const pinned = ch && (ch.pins || []).includes(m.ts);
  const own = m.user === state.user;
  const b = (what, label, title) => `<button type="button" class="tool" data-do="${what}" data-ts="${esc(m.ts)}" title="${title}">${label}</button>`;
  return `<span class="tools">${b(mine ? "unpushpin" : "pushpin", mine ? "📌 Take off" : "📌 Timeline", mine ? "Take your :pushpin: off" : "React with :pushpin: (puts it in the war room's timeline)")}` +
    (pinned ? "" : b("pin", "Pin", "Pin to channel")) + b("shortcut", "Add to timeline", "Message shortcut: Add to incident timeline") +
    (m.thread_ts && m.thread_ts !== m.ts ? "" : b("reply", "Reply", "Reply in thread")) + (own ? b("edit", "Edit", "Edit your message") + b("delete", "Delete", "Delete your message") : "") + "</span>";
}

// reactions shows the emoji on a message and how many added each.
function reactions(m) {
  const r = Object.entries(m.reactions || {}).filter(([, users]) => users.length);
  if (!r.length) return "";
  return `<div class="reactions">${r.map(([name, users]) => `<span class="reaction" title="${esc(users.map((u) => state.names[u] || u).join(", "))}">${emoji[name] || ":" + esc(name) + ":"} ${users.length}</span>`).join(" ")}</div>`;
}

function renderMessage(m) {
  const who = state.names[m.user] || m.user;
  const time = new Date(parseFloat(m.ts) * 1000).toISOString().slice(11, 16) + " UTC";
  const body = m.blocks && m.blocks.length ? renderBlocks(m.blocks, m) : mrkdwn(m.text);
  const reply = m.thread_ts && m.thread_ts !== m.ts;
  return `<div class="msg${m.ephemeral ? " ephemeral" : ""}${reply ? " reply" : ""}" data-ts="${esc(m.ts)}">
    <span class="who">${esc(who)}</span><span class="when">${time}</span>${m.edited ? ' <span class="edited">(edited)</span>' : ""}${reply ? ' <span class="edited">in a thread</span>' : ""}
    ${m.ephemeral ? '<div class="only-you">Only visible to you</div>' : tools(m)}
    <div class="blocks">${body}</div>${m.files && m.files.length ? `<div class="files">${files(m)}</div>` : ""}${reactions(m)}</div>`;
}

// pinnedLine is a pinned message in one or two lines: its header, its
// fields as "label: value", and its context, so the pin bar stays small.
// The whole message is in the channel below, as in Slack.
// The header and the next step come first, so a narrow window that cuts the
// bar still shows what to type.
function pinnedLine(m) {
  if (!m.blocks || !m.blocks.length) return mrkdwn(m.text);
  const head = [], next = [], rest = [];
  for (const b of m.blocks) {
    if (b.type === "header") head.push(`<strong>${esc(b.text.text)}</strong>`);
    // A message without a header (the checklist) is named by its first line.
    if (!head.length && b.type === "section" && b.text && !b.fields) { head.push(textObj(b.text)); continue; }
    if (b.block_id === "checklist_help") continue;
    if (b.type === "section" && b.fields) for (const f of b.fields) {
      const [label, ...value] = f.text.split("\n");
      if (/Declared|Elapsed/.test(label)) continue; // in the message itself
      rest.push(`<span class="field">${mrkdwn(label)}: ${mrkdwn(value.join(" "))}</span>`);
    }
    if (b.type === "context") (b.block_id === "next" ? next : rest).push((b.elements || []).map(textObj).join(" "));
  }
  return [...head, ...next, ...rest].join(" · ");
}

// The console's page holds this run's token; every call to the console
// carries it, so no other page can act as a teammate here.
const token = document.querySelector('meta[name="warroom-token"]').content;

async function api(path, body) {
  const headers = { "X-Warroom-Token": token };
  const opts = body === undefined ? { headers } : { method: "POST", headers: { ...headers, "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const resp = await fetch(path, opts);
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(data.error || resp.statusText);
  return data;
}

function q(params) { return new URLSearchParams(params).toString(); }

async function refresh() {
  const ws = await api("/api/workspace?" + q({ user: state.user }));
  state.users = ws.users; state.names = ws.names; state.channels = ws.channels; state.views = ws.views || []; state.emoji = ws.timeline_emoji;
  $("#team").textContent = ws.team;
  if (!state.user) state.user = (ws.users[0] || {}).id;
  if (!state.channel) state.channel = (ws.channels.find((c) => c.name === "general") || ws.channels[0] || {}).id;
  renderPicker(); renderChannels(); renderLinks(ws.links || []);
  await renderChannel();
  renderModal();
  saveLocation();
}

function renderPicker() {
  const sel = $("#user-picker");
  const html = state.users.map((u) => `<option value="${esc(u.id)}"${u.id === state.user ? " selected" : ""}>@${esc(u.name)}</option>`).join("");
  if (sel.innerHTML !== html) sel.innerHTML = html;
  sel.value = state.user;
}

function renderChannels() {
  // Replace the list only when it changed, so a click never lands on a node being swapped out.
  const html = state.channels.map((c) => {
    const cls = [c.id === state.channel ? "active" : "", c.archived ? "archived" : "", state.unread && state.unread[c.id] ? "unread" : ""].join(" ");
    return `<li class="${cls}" data-channel="${esc(c.id)}" data-name="${esc(c.name)}">${c.private ? "🔒" : "#"} ${esc(c.name)}</li>`;
  }).join("");
  if (state.channelsHTML !== html) { $("#channels").innerHTML = html; state.channelsHTML = html; }
}

function renderLinks(links) {
  $("#links").innerHTML = links.length ? "<h2>warroom pages</h2>" + links.map((l) => `<a href="${esc(l.url)}" target="_blank" rel="noopener">${esc(l.title)}</a>`).join("") : "";
}

async function renderChannel() {
  const ch = state.channels.find((c) => c.id === state.channel);
  if (!ch) return;
  $("#channel-name").textContent = (ch.private ? "🔒 " : "# ") + ch.name + (ch.archived ? " (archived)" : "");
  $("#topic").innerHTML = mrkdwn(ch.topic || ch.purpose || "");
  const user = state.user;
  const msgs = await api("/api/messages?" + q({ user, channel: ch.id }));
  // A newer render (another person or channel picked meanwhile) wins: never
  // show one person's view under another's name.
  if (user !== state.user || ch.id !== state.channel) return;
  const pinned = msgs.filter((m) => ch.pins.includes(m.ts));
  const pane = $("#pinned");
  pane.hidden = pinned.length === 0;
  pane.innerHTML = pinned.map((m) => `<div class="pin" data-ts="${esc(m.ts)}" title="Pinned: the whole message is in the channel">📌 ${pinnedLine(m)}</div>`).join("");
  const list = $("#messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.innerHTML = msgs.map(renderMessage).join("") || '<p class="hint">No messages yet.</p>';
  if (atBottom || state.counts[ch.id] !== msgs.length) list.scrollTop = list.scrollHeight;
  state.counts[ch.id] = msgs.length;
  list.dataset.view = ((state.users.find((u) => u.id === user) || {}).name || "") + "@" + ch.name;
  $("#composer-input").disabled = ch.archived;
}

function renderModal() {
  const box = $("#modal");
  const view = state.views[0];
  if (!view) { box.hidden = true; box.innerHTML = ""; box.dataset.view = ""; return; }
  const key = view.id + ":" + (view.updates || 0);
  if (box.dataset.view === key) return; // keep what the person is typing
  const v = view.body;
  const inputs = (v.blocks || []).map((b) => {
    if (b.type !== "input") return `<div class="blocks">${renderBlocks([b], {})}</div>`;
    const el = b.element, id = `f-${b.block_id}`;
    const initial = esc(el.initial_value || "");
    let control = "";
    if (el.type === "plain_text_input" && el.multiline) control = `<textarea id="${id}" rows="9" maxlength="${el.max_length || ""}" placeholder="${esc(el.placeholder ? el.placeholder.text : "")}">${initial}</textarea>`;
    else if (el.type === "plain_text_input") control = `<input id="${id}" value="${initial}" maxlength="${el.max_length || ""}" placeholder="${esc(el.placeholder ? el.placeholder.text : "")}">`;
    else if (el.type === "static_select") {
      const init = el.initial_option ? el.initial_option.value : "";
      control = `<select id="${id}"><option value="">Choose…</option>${(el.options || []).map((o) => `<option value="${esc(o.value)}"${o.value === init ? " selected" : ""}>${esc(o.text.text)}</option>`).join("")}</select>`;
    }
    const hint = b.hint ? `<div class="hint-text">${esc(b.hint.text)}</div>` : "";
    return `<label for="${id}">${esc(b.label.text)}${b.optional ? ' <span class="optional">(optional)</span>' : ""}</label>${control}${hint}<div class="error" data-error="${esc(b.block_id)}"></div>`;
  }).join("");
  box.innerHTML = `<form class="box" id="modal-form"><h2>${esc(v.title.text)}</h2>${inputs}
    <div class="buttons"><button type="button" id="modal-cancel">${esc(v.close ? v.close.text : "Cancel")}</button>
    <button type="submit" class="primary" id="modal-submit">${esc(v.submit ? v.submit.text : "Submit")}</button></div></form>`;
  box.dataset.view = key;
  box.hidden = false;
  const first = box.querySelector("input:not([value]), input[value=''], textarea, select");
  if (first) first.focus();
}

async function submitModal(ev) {
  ev.preventDefault();
  const view = state.views[0];
  const values = {};
  for (const b of view.body.blocks.filter((b) => b.type === "input")) {
    const el = document.getElementById(`f-${b.block_id}`);
    values[b.block_id] = { [b.element.action_id]: el ? el.value : "" };
  }
  const resp = await api("/api/submit", { view: view.id, values });
  document.querySelectorAll("#modal .error").forEach((e) => (e.textContent = ""));
  if (resp.response_action === "errors") {
    for (const [block, msg] of Object.entries(resp.errors || {})) {
      const e = document.querySelector(`#modal [data-error="${CSS.escape(block)}"]`);
      if (e) e.textContent = msg;
    }
    return;
  }
  // "update": the bot replaced the view (the lint's warnings on what was
  // submitted); refresh shows the new one. Anything else closed it.
  $("#modal").dataset.view = "";
  await refresh();
}

// Slack turns @name into <@ID|name> when the command escapes users.
function escapeMentions(text) {
  return text.replace(/(^|\s)@([a-z0-9._-]+)/gi, (m, lead, name) => {
    const u = state.users.find((x) => x.name === name.toLowerCase());
    return u ? `${lead}<@${u.id}|${u.name}>` : m;
  });
}

async function send(ev) {
  ev.preventDefault();
  const input = $("#composer-input");
  const text = input.value.trim();
  if (!text) return;
  $("#composer-status").textContent = "";
  input.value = ""; // cleared at once, as in Slack, so the next line can be typed
  try {
    if (text.startsWith("/")) await api("/api/command", { user: state.user, channel: state.channel, text: escapeMentions(text) });
    else await api("/api/message", { user: state.user, channel: state.channel, text: escapeMentions(text) });
  } catch (e) {
    $("#composer-status").textContent = e.message;
    if (!input.value) input.value = text; // give it back to fix
  }
  await refresh();
}

function saveLocation() {
  const u = state.users.find((x) => x.id === state.user);
  const c = state.channels.find((x) => x.id === state.channel);
  if (u && c) history.replaceState(null, "", `#user=${encodeURIComponent(u.name)}&channel=${encodeURIComponent(c.name)}`);
}

function loadLocation(ws) {
  const p = new URLSearchParams(location.hash.slice(1));
  const u = ws.users.find((x) => x.name === p.get("user"));
  const c = ws.channels.find((x) => x.name === p.get("channel"));
  if (u) state.user = u.id;
  if (c) state.channel = c.id;
}

let pending = null;
function scheduleRefresh() {
  if (pending) return;
  pending = setTimeout(() => { pending = null; refresh().catch(console.error); }, 60);
}

document.addEventListener("DOMContentLoaded", async () => {
  $("#composer").addEventListener("submit", send);
  $("#user-picker").addEventListener("change", (e) => { state.user = e.target.value; $("#modal").dataset.view = ""; refresh(); });
  document.body.addEventListener("click", async (e) => {
    const ch = e.target.closest("[data-channel]");
    if (ch) { state.channel = ch.dataset.channel; await refresh(); $("#composer-input").focus(); return; }
    const pin = e.target.closest("#pinned .pin");
    if (pin) {
      const m = document.querySelector(`#messages .msg[data-ts="${CSS.escape(pin.dataset.ts)}"]`);
      if (m) { m.scrollIntoView({ block: "center" }); m.classList.add("highlight"); setTimeout(() => m.classList.remove("highlight"), 1500); }
      return;
    }
    const tool = e.target.closest(".msg .tool");
    if (tool) {
      const what = tool.dataset.do;
      let text = "";
      if (what === "reply" || what === "edit") {
        const was = what === "edit" ? (tool.closest(".msg").querySelector(".blocks").innerText || "") : "";
        text = window.prompt(what === "reply" ? "Reply in thread:" : "Edit your message:", was);
        if (text === null || !text.trim()) return;
      }
      if (what === "delete" && !window.confirm("Delete this message?")) return;
      await api("/api/conversation", { user: state.user, channel: state.channel, ts: tool.dataset.ts, do: what, text })
        .catch((err) => ($("#composer-status").textContent = err.message.replace(/^slacksim: /, "")));
      return;
    }
    const box = e.target.closest(".checkbox input");
    if (box) {
      await api("/api/action", { user: state.user, channel: state.channel, ts: box.dataset.ts, block: box.dataset.block, value: box.dataset.value, checkbox: true })
        .catch((err) => ($("#composer-status").textContent = err.message));
      return;
    }
    const btn = e.target.closest(".slack-button");
    if (btn) {
      await api("/api/action", { user: state.user, channel: state.channel, ts: btn.dataset.ts, block: btn.dataset.block, action: btn.dataset.action, value: btn.dataset.value })
        .catch((err) => ($("#composer-status").textContent = err.message));
      return;
    }
    if (e.target.id === "modal-cancel") {
      await api("/api/close", { view: state.views[0].id });
      $("#modal").dataset.view = "";
      await refresh();
    }
  });
  $("#modal").addEventListener("submit", submitModal);
  const ws = await api("/api/workspace");
  loadLocation(ws);
  await refresh();
  new EventSource("/api/events?" + q({ token })).addEventListener("changed", scheduleRefresh);
});

// The mock PagerDuty and Jira: send an alert, take a vendor down, see what
// each received.
async function refreshVendors() {
  const v = await api("/api/vendors").catch(() => ({ enabled: false }));
  const pane = $("#vendors");
  pane.hidden = !v.enabled;
  if (!v.enabled) return;
  const alerts = (v.services || []).map((s) => `<button type="button" data-alert="${esc(s)}">Alert: ${esc(s)}</button>`).join("");
  if ($("#vendor-alerts").innerHTML !== alerts) $("#vendor-alerts").innerHTML = alerts;
  const st = v.state;
  $("#down-pagerduty").checked = !!st.down.pagerduty;
  $("#down-jira").checked = !!st.down.jira;
  const list = (items, jira) => items.length ? "<ul>" + items.map((i) => `<li><strong>${esc(i.key)}</strong> ${esc(i.title)} <em>${esc(i.status)}</em>` +
    (jira ? ` <button type="button" data-issue="${esc(i.key)}" data-status="${i.status === "Done" ? "To Do" : "Done"}">${i.status === "Done" ? "Reopen in Jira" : "Done in Jira"}</button>` : "") +
    `</li>`).join("") + "</ul>" : '<p class="hint">nothing yet</p>';
  $("#vendor-state").innerHTML = `<h3>Jira issues</h3>${list(st.issues || [], true)}<h3>PagerDuty pages</h3>${list(st.pages || [], false)}` +
    `<p class="hint">Requests refused during outages: PagerDuty ${st.faults.pagerduty || 0}, Jira ${st.faults.jira || 0}</p>`;
}

document.addEventListener("DOMContentLoaded", () => {
  $("#vendor-alerts").addEventListener("click", async (e) => {
    const s = e.target.dataset && e.target.dataset.alert;
    if (s) { await api("/api/vendors/alert", { service: s, title: "Error rate above 5%" }).catch(alert); refreshVendors(); }
  });
  // Moving an issue as someone would in Jira: the periodic sync brings an
  // action item's change back to warroom.
  $("#vendor-state").addEventListener("click", async (e) => {
    const d = e.target.dataset || {};
    if (d.issue) { await api("/api/vendors/issue", { key: d.issue, status: d.status }).catch(alert); refreshVendors(); }
  });
  for (const v of ["pagerduty", "jira"]) {
    $("#down-" + v).addEventListener("change", async (e) => { await api("/api/vendors/outage", { vendor: v, down: e.target.checked }).catch(alert); refreshVendors(); });
  }
  refreshVendors();
  setInterval(refreshVendors, 2000);
});
