// POP web UI: three views over the server's JSON API, each kept live by a server-sent-event
// stream (the server watches as the user and sends the whole view after every change).
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
  const q = new URLSearchParams(extra || {});
  if (namespace()) q.set("namespace", namespace());
  return q.toString();
}

// live opens a stream and calls draw with each view; a refusal (403 …) is shown as an error.
// A view equal to the one drawn last is not drawn again (the stream's first event repeats
// the fetch), so the page keeps its elements while nothing changed.
function live(url, draw) {
  if (stream) stream.close();
  showError("");
  let last = "";
  const once = (text) => { if (text !== last) { last = text; draw(JSON.parse(text)); } };
  fetch(url.replace("/api/watch/", "/api/")).then(async (r) => {
    const text = (await r.text()).trim();
    if (!r.ok) { showError(JSON.parse(text).message); return; }
    once(text);
    stream = new EventSource(url);
    stream.onmessage = (ev) => { showError(""); once(ev.data); };
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

function drawInsights(list) {
  const rows = list.map((i) => el("tr", { "data-insight": i.namespace + "/" + i.name },
    el("td", {}, i.namespace + "/" + i.name), el("td", {}, i.algorithm), el("td", { class: "capacity" }, i.capacity),
    el("td", { class: "admitted" }, i.admitted), el("td", { class: "pending" }, i.pending),
    el("td", {}, i.paused ? "paused" : ""), el("td", {}, age(i.oldestPendingSince)),
    el("td", { class: "head" }, i.head.map((h) => "#" + h.position + " " + h.namespace + "/" + h.name + " (" + age(h.since) + ")").join(", "))));
  document.getElementById("main").replaceChildren(el("h2", {}, "Insights"),
    table(["Insight", "Algorithm", "Capacity", "Admitted", "Pending", "Paused", "Oldest wait", "Queue"], rows));
}

function drawAgendas(list) {
  const rows = list.map((a) => el("tr", { "data-agenda": a.namespace + "/" + a.name },
    el("td", {}, el("a", { href: "#/agenda/" + a.namespace + "/" + a.name }, a.namespace + "/" + a.name)),
    el("td", { class: "phase" }, a.phase), el("td", {}, a.insight), el("td", {}, a.queuePosition || ""),
    el("td", {}, bar(a.percentComplete)), el("td", {}, age(a.created))));
  document.getElementById("main").replaceChildren(el("h2", {}, "Agendas"),
    table(["Agenda", "Phase", "Insight", "Position", "Progress", "Age"], rows));
}

const W = 150, H = 40, GX = 60, GY = 20;

function graph(ops, select) {
  const at = {};
  ops.forEach((o) => { at[o.name] = { x: 10 + o.layer * (W + GX), y: 10 + o.row * (H + GY) }; });
  const width = 20 + (Math.max(0, ...ops.map((o) => o.layer)) + 1) * (W + GX);
  const height = 20 + (Math.max(0, ...ops.map((o) => o.row)) + 1) * (H + GY);
  const g = svg("svg", { id: "graph", width, height });
  for (const o of ops) for (const d of o.deps) {
    const a = at[d], b = at[o.name];
    g.append(svg("path", { class: "edge", d: `M${a.x + W},${a.y + H / 2} C${a.x + W + GX / 2},${a.y + H / 2} ${b.x - GX / 2},${b.y + H / 2} ${b.x},${b.y + H / 2}` }));
  }
  for (const o of ops) {
    const n = svg("g", { class: "node", "data-op": o.name, "data-state": o.state, transform: `translate(${at[o.name].x},${at[o.name].y})` },
      svg("rect", { width: W, height: H }), svg("text", { x: 8, y: 17 }, o.name), svg("text", { x: 8, y: 33, "font-size": 11 }, o.state + (o.state === "Executing" ? " " + o.progress + "%" : "")));
    n.addEventListener("click", () => select(o.name));
    g.append(n);
  }
  return g;
}

let selected = "";

function detail(ops) {
  const o = ops.find((x) => x.name === selected);
  if (!o) return el("div", { id: "detail" });
  return el("div", { id: "detail" }, el("h3", {}, o.name + " (" + o.type + ")"),
    el("p", {}, "state " + o.state + ", attempts " + o.attempts + (o.pod ? ", pod " + o.pod : "")),
    o.message ? el("p", { class: "message" }, o.message) : "", o.output ? el("pre", { class: "output" }, o.output) : "");
}

function drawAgenda(a) {
  const draw = () => drawAgenda(a);
  const cancel = el("button", { id: "cancel" }, a.cancelRequested ? "cancel requested" : "Cancel");
  if (a.cancelRequested || ["Succeeded", "Failed", "Cancelled"].includes(a.phase)) cancel.disabled = true;
  cancel.addEventListener("click", () => doCancel(a));
  document.getElementById("main").replaceChildren(
    el("h2", {}, a.namespace + "/" + a.name + " "),
    el("p", {}, "phase ", el("span", { id: "phase" }, a.phase), " ", bar(a.percentComplete), " ", a.insight ? "insight " + a.insight : "",
      a.queuePosition ? " position " + a.queuePosition : "", " ", cancel),
    graph(a.operations, (n) => { selected = n; draw(); }), detail(a.operations));
}

function doCancel(a) {
  fetch("/api/agendas/" + a.namespace + "/" + a.name + "/cancel", { method: "POST" }).then(async (r) => {
    if (!r.ok) showError((await r.json()).message);
  });
}

function route() {
  const parts = (location.hash || "#/insights").slice(2).split("/");
  if (parts[0] === "agenda" && parts.length === 3) {
    selected = "";
    live("/api/watch/agendas/" + encodeURIComponent(parts[1]) + "/" + encodeURIComponent(parts[2]), drawAgenda);
  } else if (parts[0] === "agendas") {
    live("/api/watch/agendas?" + query(), drawAgendas);
  } else {
    live("/api/watch/insights?" + query(), drawInsights);
  }
}

window.addEventListener("hashchange", route);
document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("namespace").addEventListener("change", route);
  route();
});
