// POP web UI: three views over the server's JSON API, each kept live by a server-sent-event
// stream (the server watches as the user and sends the whole view after every change).
// The Agenda graph is laid out by dagre (vendor/dagre.min.js, @dagrejs/dagre from npm).
"use strict";

let stream = null;

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

function svg(tag, attrs, ...kids) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const k of kids) e.append(k);
  return e;
}

function showError(msg) { document.getElementById("error").textContent = msg || ""; }

function namespace() { return document.getElementById("namespace").value.trim(); }

function query(extra) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(extra || {})) if (v) q.set(k, v);
  if (namespace()) q.set("namespace", namespace());
  return q.toString();
}

// live opens a stream and calls draw with each view; a refusal (403 …) is shown as an error.
// A view equal to the one drawn last is not drawn again (the stream's first event repeats
// the fetch), so the page keeps its elements while nothing changed.
// Only the newest call's fetch opens a stream: a browser holds few connections to one server,
// and every stream keeps one.
let generation = 0;

function live(url, draw) {
  if (stream) stream.close();
  stream = null;
  const mine = ++generation;
  showError("");
  let last = "";
  const once = (text) => { if (text !== last) { last = text; draw(JSON.parse(text)); } };
  fetch(url.replace("/api/watch/", "/api/")).then(async (r) => {
    const text = (await r.text()).trim();
    if (mine !== generation) return;
    if (!r.ok) { showError(JSON.parse(text).message); return; }
    once(text);
    stream = new EventSource(url);
    stream.onmessage = (ev) => { showError(""); once(ev.data); };
  }).catch((e) => showError(String(e)));
}

// post acts as the user; the custom header keeps other sites' pages from doing so (CSRF).
function post(url, body) {
  return fetch(url, {
    method: "POST", headers: { "X-Requested-By": "pop-ui", "Content-Type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  }).then(async (r) => {
    if (!r.ok) showError((await r.json()).message);
    return r.ok;
  }).catch((e) => showError(String(e)));
}

function age(t) {
  if (!t) return "";
  const s = Math.max(0, Math.round((Date.now() - new Date(t)) / 1000));
  return s < 120 ? s + "s" : s < 7200 ? Math.round(s / 60) + "m" : Math.round(s / 3600) + "h";
}

function bar(pct) { const b = el("span", { class: "bar" }, el("span", { style: "width:" + pct + "%" })); b.title = pct + "%"; return b; }

function table(head, rows) {
  return el("table", {}, el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))), el("tbody", {}, ...rows));
}

function button(id, label, onclick, disabled) {
  const b = el("button", id ? { id } : {}, label);
  b.disabled = !!disabled;
  b.addEventListener("click", onclick);
  return b;
}

function drawInsights(list) {
  const rows = list.map((i) => {
    const key = i.namespace + "/" + i.name;
    const toggle = button("", i.paused ? "Resume" : "Pause",
      () => post("/api/insights/" + key + (i.paused ? "/resume" : "/pause")));
    toggle.className = "pause";
    return el("tr", { "data-insight": key },
      el("td", {}, key), el("td", {}, i.algorithm), el("td", { class: "capacity" }, i.capacity),
      el("td", { class: "admitted" }, i.admitted), el("td", { class: "pending" }, i.pending),
      el("td", { class: "paused" }, i.paused ? "paused" : ""), el("td", {}, age(i.oldestPendingSince)),
      el("td", { class: "head" }, i.head.map((h) => "#" + h.position + " " + h.namespace + "/" + h.name + " (" + age(h.since) + ")").join(", ")),
      el("td", {}, toggle));
  });
  document.getElementById("main").replaceChildren(el("h2", {}, "Insights"),
    table(["Insight", "Algorithm", "Capacity", "Admitted", "Pending", "Paused", "Oldest wait", "Queue", ""], rows));
}

// The Agendas list's filters (besides the header's namespace), kept across redraws.
const filters = { phase: "", insight: "", selector: "" };

function filterBar() {
  const phase = el("select", { id: "filter-phase" }, ...["", "Pending", "Queued", "Running", "Succeeded", "Failed", "Cancelled"]
    .map((p) => el("option", { value: p }, p || "any phase")));
  phase.value = filters.phase;
  const insight = el("input", { id: "filter-insight", size: 16, maxlength: 253, placeholder: "Insight" });
  insight.value = filters.insight;
  const selector = el("input", { id: "filter-selector", size: 24, maxlength: 1024, placeholder: "label selector" });
  selector.value = filters.selector;
  const apply = () => {
    filters.phase = phase.value; filters.insight = insight.value.trim(); filters.selector = selector.value.trim();
    route();
  };
  phase.addEventListener("change", apply);
  insight.addEventListener("change", apply);
  selector.addEventListener("change", apply);
  return el("p", { class: "filters" }, phase, " ", insight, " ", selector);
}

function drawAgendas(list) {
  const waiting = (a) => ["Pending", "Queued"].includes(a.phase);
  const rows = list.map((a) => el("tr", { "data-agenda": a.namespace + "/" + a.name },
    el("td", {}, el("a", { href: "#/agenda/" + a.namespace + "/" + a.name }, a.namespace + "/" + a.name)),
    el("td", { class: "phase" }, a.phase), el("td", {}, a.insight), el("td", {}, a.queuePosition || ""),
    el("td", {}, waiting(a) ? age(a.created) : ""), el("td", {}, bar(a.percentComplete)), el("td", {}, age(a.created))));
  document.getElementById("main").replaceChildren(el("h2", {}, "Agendas"), filterBar(),
    table(["Agenda", "Phase", "Insight", "Position", "Wait", "Progress", "Age"], rows));
}

const W = 150, H = 40;

// Fan-out groups: at least GROUP operations of one type with the same dependencies and the
// same dependents are drawn as one node until clicked.
const GROUP = 4;
const expanded = new Set();
const rank = { Failed: 5, Executing: 4, Waiting: 3, Skipped: 2, Cancelled: 2, Succeeded: 1 };

function groups(ops) {
  const dependents = {};
  for (const o of ops) for (const d of o.deps) (dependents[d] = dependents[d] || []).push(o.name);
  const byKey = {};
  for (const o of ops) {
    const key = [o.type, [...o.deps].sort().join(","), (dependents[o.name] || []).sort().join(",")].join("|");
    (byKey[key] = byKey[key] || []).push(o);
  }
  const of = {};
  for (const [key, members] of Object.entries(byKey)) {
    if (members.length >= GROUP && !expanded.has(key)) for (const m of members) of[m.name] = { key, members };
  }
  return of;
}

// nodes turns operations into the graph's nodes: one per operation, or one per collapsed group.
function nodes(ops) {
  const of = groups(ops);
  const id = (name) => (of[name] ? "group:" + of[name].key : name);
  const out = new Map();
  for (const o of ops) {
    const g = of[o.name];
    if (!g) { out.set(o.name, { id: o.name, op: o, deps: o.deps.map(id) }); continue; }
    if (out.has(id(o.name))) continue;
    const counts = {};
    for (const m of g.members) counts[m.state] = (counts[m.state] || 0) + 1;
    const state = g.members.map((m) => m.state).sort((a, b) => (rank[b] || 0) - (rank[a] || 0))[0];
    out.set(id(o.name), { id: id(o.name), group: g, state, counts, deps: [...new Set(o.deps.map(id))] });
  }
  return [...out.values()];
}

function graph(ops, select) {
  const ns = nodes(ops);
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 20, ranksep: 60, marginx: 10, marginy: 10 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of ns) g.setNode(n.id, { width: W, height: H });
  for (const n of ns) for (const d of n.deps) g.setEdge(d, n.id);
  dagre.layout(g);
  const s = svg("svg", { id: "graph", width: Math.ceil(g.graph().width), height: Math.ceil(g.graph().height), "data-layout": "dagre" });
  for (const e of g.edges()) {
    const pts = g.edge(e).points;
    s.append(svg("path", { class: "edge", "data-from": e.v, "data-to": e.w, d: "M" + pts.map((p) => p.x + "," + p.y).join(" L") }));
  }
  for (const n of ns) {
    const at = g.node(n.id), x = at.x - W / 2, y = at.y - H / 2;
    let node;
    if (n.group) {
      const first = n.group.members[0];
      const label = n.group.members.length + " × " + first.type;
      const counts = Object.entries(n.counts).map(([k, v]) => v + " " + k).join(", ");
      node = svg("g", { class: "node group", "data-group": n.group.key, "data-state": n.state, "data-x": at.x, "data-y": at.y, transform: `translate(${x},${y})` },
        svg("rect", { width: W, height: H }), svg("text", { x: 8, y: 17 }, label), svg("text", { x: 8, y: 33, "font-size": 11 }, counts));
      node.addEventListener("click", () => { expanded.add(n.group.key); select(""); });
    } else {
      const o = n.op;
      node = svg("g", { class: o.name === selected ? "node selected" : "node", "data-op": o.name, "data-state": o.state, "data-x": at.x, "data-y": at.y, transform: `translate(${x},${y})` },
        svg("rect", { width: W, height: H }), svg("text", { x: 8, y: 17 }, o.name),
        svg("text", { x: 8, y: 33, "font-size": 11 }, o.state + (o.state === "Executing" ? " " + o.progress + "%" : "") + (marked.has(o.name) ? " ✓" : "")));
      node.addEventListener("click", () => select(o.name));
    }
    s.append(node);
  }
  return s;
}

let selected = "";
let marked = new Set();
let current = null;

function section(title, ...kids) { return el("div", { class: "section" }, el("h4", {}, title), ...kids); }

function pre(cls, text) { return el("pre", { class: cls }, text); }

// pretty indents JSON text (and shows \u003c escapes as the characters); other text as is.
function pretty(text) {
  if (!text) return text;
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return text; }
}

function drawDetail(d, log) {
  const box = document.getElementById("detail");
  if (!box || d.name !== selected) return;
  const mark = el("input", { type: "checkbox", id: "mark" });
  mark.checked = marked.has(d.name);
  mark.addEventListener("change", () => { if (mark.checked) marked.add(d.name); else marked.delete(d.name); drawAgenda(current); });
  const pods = d.attemptPods.map((p) => el("tr", { "data-attempt": p.attempt }, el("td", {}, p.attempt), el("td", {}, p.name),
    el("td", {}, p.phase), el("td", {}, p.exitCode === undefined ? "" : p.exitCode), el("td", {}, p.reason || ""), el("td", {}, p.message || "")));
  box.replaceChildren(el("h3", {}, d.name + " (" + d.type + ")"),
    el("p", {}, "state ", el("span", { class: "state" }, d.state), ", attempts " + d.attempts + ", failures " + d.failures +
      (d.pod ? ", pod " + d.pod : "") + (d.startTime ? ", started " + age(d.startTime) + " ago" : "") +
      (d.nextAttemptTime ? ", next attempt at " + new Date(d.nextAttemptTime).toLocaleTimeString() : "")),
    el("label", {}, mark, " marked for “Rerun selected”"),
    d.message ? section("Message", el("p", { class: "message" }, d.message)) : "",
    section("Payload (as written)", pre("payload", pretty(d.payload) || "(none)")),
    section("Resolved payload (what the handler received)", pre("resolved", pretty(d.resolvedPayload) || "(no Pod yet)")),
    section("Output", pre("output", pretty(d.output) || "(none)")),
    section("Attempts", table(["#", "Pod", "Phase", "Exit", "Reason", "Message"], pods)),
    section("Events", pre("events", d.events.join("\n") || "(none)")),
    section("Log tail", pre("log", log)));
}

// detail fetches the selected operation's detail, then its log tail, as the user; a newer
// redraw aborts the fetches of the one before.
let detailFetch = null;

function detail(a) {
  if (detailFetch) detailFetch.abort();
  if (!selected) return;
  const op = selected, ctl = new AbortController();
  detailFetch = ctl;
  const base = "/api/agendas/" + a.namespace + "/" + a.name + "/operations/" + encodeURIComponent(op);
  fetch(base, { signal: ctl.signal }).then(async (r) => (r.ok ? r.json() : Promise.reject(new Error((await r.json()).message))))
    .then((d) => {
      drawDetail(d, "(loading)");
      return fetch(base + "/log?tail=100", { signal: ctl.signal })
        .then(async (r) => (r.ok ? (await r.text()) || "(empty log)" : "(" + (await r.json()).message + ")"));
    })
    .then((log) => {
      const box = document.querySelector("#detail pre.log");
      if (box && selected === op) box.textContent = log;
    })
    .catch((e) => { if (e.name !== "AbortError") showError(String(e)); });
}

function rerun(a, mode, operations) {
  post("/api/agendas/" + a.namespace + "/" + a.name + "/rerun", { mode, operations }).then((ok) => { if (ok) marked = new Set(); });
}

function drawAgenda(a) {
  current = a;
  const finished = ["Succeeded", "Failed", "Cancelled"].includes(a.phase);
  const cancel = button("cancel", a.cancelRequested ? "cancel requested" : "Cancel",
    () => post("/api/agendas/" + a.namespace + "/" + a.name + "/cancel"), a.cancelRequested || finished);
  const suspend = button("suspend", a.suspended ? "Resume" : "Suspend",
    () => post("/api/agendas/" + a.namespace + "/" + a.name + (a.suspended ? "/resume" : "/suspend")), finished);
  const actions = el("p", { class: "actions" }, cancel, " ", suspend, " ",
    button("rerun-all", "Rerun all", () => rerun(a, "All"), !finished), " ",
    button("rerun-failed", "Rerun from failure", () => rerun(a, "FromFailure"), !finished), " ",
    button("rerun-selected", "Rerun selected (" + marked.size + ")", () => rerun(a, "Operations", [...marked]), !finished || marked.size === 0));
  document.getElementById("main").replaceChildren(
    el("h2", {}, a.namespace + "/" + a.name + " "),
    el("p", {}, "phase ", el("span", { id: "phase" }, a.phase), " ", bar(a.percentComplete), " ", a.insight ? "insight " + a.insight : "",
      a.queuePosition ? " position " + a.queuePosition : ""), actions,
    graph(a.operations, (n) => { selected = n; drawAgenda(a); }), el("div", { id: "detail" }));
  detail(a);
}

function route() {
  if (detailFetch) detailFetch.abort();
  const parts = (location.hash || "#/insights").slice(2).split("/");
  if (parts[0] === "agenda" && parts.length === 3) {
    selected = "";
    marked = new Set();
    expanded.clear();
    live("/api/watch/agendas/" + encodeURIComponent(parts[1]) + "/" + encodeURIComponent(parts[2]), drawAgenda);
  } else if (parts[0] === "agendas") {
    live("/api/watch/agendas?" + query(filters), drawAgendas);
  } else {
    live("/api/watch/insights?" + query(), drawInsights);
  }
}

window.addEventListener("hashchange", route);
document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("namespace").addEventListener("change", route);
  route();
});
