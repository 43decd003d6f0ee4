// weatheredge status page: renders /api/v1/state documents pushed over server-sent events.
// Plain DOM, no framework, no build step, nothing loaded from outside the daemon.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
let updates = 0;
// The state document carries one page of events (events_offset/events_limit of events_total).
let eventsOffset = 0;
let source = null;

function $(id) { return document.getElementById(id); }

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c ?? ""));
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

const fmt = {
  price(v) { return v === null || v === undefined ? "–" : v.toFixed(2); },
  prob(v) { return v === null || v === undefined ? "–" : (v * 100).toFixed(1) + "%"; },
  edge(v) { return v === null || v === undefined ? "–" : (v >= 0 ? "+" : "") + v.toFixed(3); },
  num(v, d = 0) { return v === null || v === undefined ? "–" : Number(v).toFixed(d); },
  age(s) {
    if (s === null || s === undefined) return "–";
    s = Math.max(0, Math.round(s));
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m " + String(s % 60).padStart(2, "0") + "s";
    return Math.floor(s / 3600) + "h " + String(Math.floor(s % 3600 / 60)).padStart(2, "0") + "m";
  },
  time(iso) {
    if (!iso) return "–";
    const d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleTimeString([], { hour12: false });
  },
};

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

// Config version and load time; after a bad reload "config rejected" and each reason.
function renderConfig(cfg) {
  const badge = $("config");
  const rejected = cfg.state === "rejected";
  badge.hidden = !cfg.version;
  badge.textContent = rejected ? "config rejected" : `config v${cfg.version} · ${fmt.time(cfg.loaded_at)}`;
  badge.className = "badge " + (rejected ? "bad" : "muted");
  badge.title = `config version ${cfg.version}, loaded ${fmt.time(cfg.loaded_at)}`;
  return rejected ? cfg.rejected.map((p) => `config rejected: ${p}`) : [];
}

// --- the bucket ladder chart ---------------------------------------------------------------

// "43°F or below" -> "≤43°F", "56°F or higher" -> "≥56°F": the tails fit under their bars.
function shortLabel(label) {
  return label.replace(/^(.*?)\s+or below$/i, "≤$1").replace(/^(.*?)\s+or (higher|above)$/i, "≥$1");
}

// Maker mode: our resting bids by market id, from trading.maker.resting (set by render).
let restingQuotes = new Map();

function quotesOf(doc) {
  const map = new Map();
  for (const q of doc.trading?.maker?.resting || []) {
    if (!map.has(q.market_id)) map.set(q.market_id, []);
    map.get(q.market_id).push(q);
  }
  return map;
}

function ladder(event) {
  const buckets = event.buckets;
  const step = 34, left = 30, top = 8, plotH = 110, labelH = 48;
  const width = Math.max(300, left + buckets.length * step + 6);
  const height = top + plotH + labelH;
  let max = 0.2;
  for (const b of buckets) {
    for (const v of [b.prob, b.bid, b.ask, b.last]) if (v !== null && v !== undefined) max = Math.max(max, v);
  }
  max = Math.min(1, Math.ceil(max * 10 + 0.5) / 10);
  const gridStep = max <= 0.6 ? 0.1 : 0.2;
  const y = (v) => top + plotH - (v / max) * plotH;
  const root = svg("svg", {
    class: "ladder", viewBox: `0 0 ${width} ${height}`, role: "img",
    "data-event": event.event_id,
    "aria-label": `${event.title}: our probability against the order book, per bucket`,
  });
  for (let i = 0; i * gridStep <= max + 1e-9; i++) {
    const v = i * gridStep;
    root.append(svg("line", { class: "grid", x1: left, x2: width - 2, y1: y(v), y2: y(v) }));
    root.append(svg("text", { x: left - 4, y: y(v) + 3, "text-anchor": "end" }, Math.round(v * 100) + "%"));
  }
  buckets.forEach((b, i) => {
    const cx = left + step * i + step / 2;
    const g = svg("g", { class: "bucket", "data-label": b.label });
    const tip = `${b.label}: ours ${fmt.prob(b.prob)} · bid ${fmt.price(b.bid)} · ask ${fmt.price(b.ask)}` +
      ` · last ${fmt.price(b.last)}` + (b.edge ? ` · ${b.edge} edge open` : "");
    g.append(svg("title", {}, tip));
    if (b.edge) {
      // A band over the whole column: a NO edge sits on a bucket whose YES bar may be 1 px.
      const side = b.edge.toLowerCase();
      g.append(svg("rect", { class: `edge-mark ${side}`, x: cx - step / 2 + 1, width: step - 2, y: top, height: plotH }));
      g.append(svg("text", { class: `edge-label ${side}`, x: cx, y: top + 9, "text-anchor": "middle" }, b.edge));
    }
    if (b.prob !== null && b.prob !== undefined) {
      const h = Math.max(1, plotH - (y(b.prob) - top));
      g.append(svg("rect", {
        class: "prob" + (b.edge ? " has-edge" : ""), x: cx - step * 0.3, width: step * 0.6,
        y: top + plotH - h, height: h, "data-prob": b.prob,
      }));
    }
    if (b.bid !== null && b.ask !== null) {
      g.append(svg("line", { class: "quote", x1: cx, x2: cx, y1: y(b.bid), y2: y(b.ask) }));
    }
    for (const v of [b.bid, b.ask]) {
      if (v !== null && v !== undefined) {
        g.append(svg("line", { class: "tick", x1: cx - 6, x2: cx + 6, y1: y(v), y2: y(v) }));
      }
    }
    if (b.last !== null && b.last !== undefined) {
      g.append(svg("circle", { class: "last", cx, cy: y(b.last), r: 3.2 }));
    }
    // Our resting quotes on the YES scale: a YES bid at its price, a NO bid at 1 - price.
    for (const q of restingQuotes.get(b.market_id) || []) {
      const yes = q.outcome === "YES";
      const v = yes ? Number(q.price) : 1 - Number(q.price);
      const x = cx + step * 0.34;
      const mark = svg("path", {
        class: `our-quote ${yes ? "yes" : "no"}`, "data-price": q.price, "data-outcome": q.outcome,
        d: `M ${x} ${y(v)} l 5 ${yes ? 4 : -4} l 0 ${yes ? -8 : 8} z`,
      });
      mark.append(svg("title", {}, `our ${q.outcome} bid ${q.price} x ${q.size}`));
      g.append(mark);
    }
    const ly = top + plotH + 8;
    g.append(svg("text", {
      x: cx, y: ly, "text-anchor": "end", transform: `rotate(-45 ${cx} ${ly})`,
    }, shortLabel(b.label)));
    root.append(g);
  });
  return root;
}

function renderPager(doc) {
  const total = doc.events_total ?? doc.events.length;
  const limit = doc.events_limit || total || 1;
  const offset = doc.events_offset || 0;
  $("events-pager").hidden = total <= limit && offset === 0;
  $("events-range").textContent = total
    ? `events ${offset + 1}–${Math.min(offset + limit, total)} of ${total}` : "no events";
  $("events-prev").disabled = offset === 0;
  $("events-next").disabled = offset + limit >= total;
  $("events-prev").onclick = () => page(Math.max(0, offset - limit));
  $("events-next").onclick = () => page(offset + limit);
}

function page(offset) {
  eventsOffset = offset;
  if (source) source.close();
  start();
}

function renderEvents(events) {
  const cards = events.map((ev) => {
    const edges = ev.buckets.filter((b) => b.edge).length;
    const sub = `${ev.date} · ${ev.extreme} · °${ev.unit} · ` +
      (ev.why_unpriced ? ev.why_unpriced
        : ev.priced ? `forecast ${fmt.age(ev.forecast_age_s)} old` : "not priced yet") +
      (edges ? ` · ${edges} edge${edges > 1 ? "s" : ""}` : "");
    return el("div", { class: "card", "data-event": ev.event_id },
      el("h3", {}, ev.title), el("div", { class: "sub muted" }, sub), ladder(ev));
  });
  $("events").replaceChildren(...(cards.length ? cards : [el("p", { class: "muted" }, "No live event yet (discovery runs at start, then every minute).")]));
}

// --- tables --------------------------------------------------------------------------------

function renderEdges(edges) {
  $("edge-count").textContent = edges.length ? `(${edges.length})` : "";
  $("no-edges").hidden = edges.length > 0;
  fill($("edges").tBodies[0], edges.map((e) => el("tr", { "data-edge": `${e.city} ${e.bucket} ${e.side}` },
    el("td", {}, e.city), el("td", { class: "wide" }, e.date), el("td", {}, e.bucket),
    el("td", { class: e.side === "YES" ? "yes" : "no" }, e.side),
    el("td", { class: "num" }, fmt.price(e.ask)), el("td", { class: "num wide" }, fmt.prob(e.prob)),
    el("td", { class: "num" }, fmt.edge(e.edge)), el("td", { class: "num" }, fmt.num(e.size)),
    el("td", { class: "num", title: e.opened_at || "" }, fmt.age(e.age_s)))));
}

function renderTrading(t) {
  const box = $("trading");
  if (!t || !t.available) {
    box.replaceChildren(el("div", { class: "placeholder", id: "trading-placeholder" },
      "No positions: ", (t && t.reason) || "trading is not enabled", "."));
    return;
  }
  const kv = el("dl", { class: "kv" });
  for (const [k, v] of Object.entries(t)) {
    if (k === "available" || typeof v === "object") continue;
    kv.append(el("dt", {}, k.replaceAll("_", " ")), el("dd", {}, String(v)));
  }
  const parts = [kv];
  const positions = Array.isArray(t.positions) ? t.positions : [];
  if (positions.length) {
    const cols = Object.keys(positions[0]);
    parts.push(el("div", { class: "scroll" }, el("table", {},
      el("thead", {}, el("tr", {}, ...cols.map((c) => el("th", {}, c)))),
      el("tbody", {}, ...positions.map((p) => el("tr", {}, ...cols.map((c) => el("td", {}, String(p[c] ?? "")))))))));
  }
  box.replaceChildren(...parts);
}

function kv(dl, pairs) {
  dl.replaceChildren(...pairs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

function renderFeed(feed, latency, tape) {
  const taped = tape && tape.enabled
    ? `${fmt.num(tape.recorded)} recorded, ${fmt.num(tape.dropped)} dropped`
    : "off";
  kv($("feed-summary"), [
    ["tape", taped],
    ["mode", feed.mode || "–"],
    ["messages/s", fmt.num(feed.messages_per_s, 1)],
    ["books synced", `${feed.books_synced} / ${feed.tokens}`],
    ["bad frames", String(Object.values(feed.bad_frames || {}).reduce((a, b) => a + b, 0))],
  ]);
  fill($("shards").tBodies[0], feed.shards.map((s) => el("tr", {},
    el("td", {}, String(s.shard)),
    el("td", { class: s.connected === false ? "no" : "" }, String(s.state)),
    el("td", { class: "num" }, fmt.num(s.subscriptions ?? s.tokens)),
    el("td", { class: "num" }, fmt.age(s.last_message_age_s)),
    el("td", { class: "num" }, fmt.num(s.reconnects)))));
  const us = (v) => (v === null || v === undefined ? "–" : v < 1000 ? `${v} µs` : `${(v / 1000).toFixed(1)} ms`);
  const pairs = [];
  if (latency.frames) {
    const f = latency.frames;
    pairs.push(["price changes", `${fmt.num(f.samples)} frames`], ["  p50 / p99", `≤ ${us(f.p50_us)} / ≤ ${us(f.p99_us)}`],
      ["  p99.9 / max", `≤ ${us(f.p999_us)} / ${us(f.max_us)}`]);
  }
  const e = latency.edges || {};
  pairs.push(["edge openings", `${fmt.num(e.samples)} in 24 h`], ["  p50 / p90", `${us(e.p50_us)} / ${us(e.p90_us)}`],
    ["  p99", us(e.p99_us)]);
  kv($("latency"), pairs);
}

function renderRace(obs) {
  const race = Object.entries((obs && obs.published_to_decision) || {});
  $("no-race").hidden = race.length > 0;
  fill($("race").tBodies[0], race.map(([station, r]) => el("tr", { "data-station": station },
    el("td", {}, station), el("td", { class: "num" }, `${fmt.num(r.p50_s, 1)} s`),
    el("td", { class: "num" }, `${fmt.num(r.p90_s, 1)} s`), el("td", { class: "num" }, fmt.num(r.reports)))));
}

function renderJobs(jobs) {
  fill($("jobs").tBodies[0], Object.entries(jobs).map(([name, j]) => el("tr", {},
    el("td", {}, name), el("td", { title: j.last_run || "" }, fmt.time(j.last_run)),
    el("td", { title: j.next_run || "" }, fmt.time(j.next_run)),
    el("td", { class: "num" }, fmt.num(j.runs)),
    el("td", { class: "num" + (j.failures_in_row ? " no" : "") }, fmt.num(j.failures_in_row)),
    el("td", { class: "err" }, j.last_error || ""))));
}

// Our settlement from the station's reports against the venue's resolution (issue 16).
function renderAgreement(a) {
  const rows = (a && a.by_city) || [];
  fill($("agreement").tBodies[0], rows.map((r) => el("tr", {},
    el("td", {}, r.city), el("td", {}, r.source), el("td", { class: "num" }, fmt.num(r.settled)),
    el("td", { class: "num" }, fmt.num(r.checked)), el("td", { class: "num" }, fmt.num(r.agree)),
    el("td", { class: "num" + (r.disagree ? " no" : "") },
      r.agreement == null ? "–" : `${(r.agreement * 100).toFixed(1)} %`),
    el("td", { class: "num" }, fmt.num(r.uncertain)))));
  $("agreement-summary").textContent = a && a.checked
    ? `${a.agree} of ${a.checked} settlements match the venue (${(a.agreement * 100).toFixed(1)} %)`
    : "No settlement checked against the venue yet.";
  $("disagreements").replaceChildren(...((a && a.disagreements) || []).map((d) => el("li", {},
    `${d.date} ${d.city}: ours ${d.settled_value} (${d.winning_label || "–"}), venue ${d.venue_label || "?"}`
    + ` — ${(d.reports || []).map((r) => `${r.observed_at} ${r.status} ${r.values.join("/")}`).join(", ")}`)));
}

function render(doc) {
  updates += 1;
  $("mode").textContent = doc.mode.replace("_", " ").toUpperCase();
  const health = $("health");
  const state = doc.health.state || (doc.health.ok ? "healthy" : "unhealthy");
  health.textContent = state;
  health.className = "badge " + ({ healthy: "ok", unhealthy: "bad", degraded: "warn" }[state] || "muted");
  health.title = state === "starting" ? `waiting for ${(doc.health.waiting_for || []).join(", ")}` : "";
  $("halted").hidden = !doc.halted;
  const problems = [...doc.health.problems, ...Object.entries(doc.health.degraded || {}).map(([k, v]) => `${k}: ${v}`)];
  problems.push(...renderConfig(doc.config || {}));
  $("problems-section").hidden = problems.length === 0;
  $("problems").replaceChildren(...problems.map((p) => el("li", {}, p)));
  renderEdges(doc.edges);
  restingQuotes = quotesOf(doc);
  renderEvents(doc.events);
  renderPager(doc);
  renderTrading(doc.trading);
  renderFeed(doc.feed, doc.latency, doc.tape);
  renderRace(doc.observations);
  renderJobs(doc.jobs);
  renderAgreement((doc.model || {}).settlement_agreement);
  // "live" only when a shard streams; otherwise the feed's own word (idle, polling, …).
  const feedLive = (doc.feed.shards || []).some((s) => s.state === "live");
  live(feedLive ? "ok" : "muted", feedLive ? "live" : `feed ${doc.feed.mode || "idle"}`);
  const updated = $("updated");
  updated.textContent = `updated ${fmt.time(doc.now)}`;
  updated.dataset.seq = doc.seq;
  updated.dataset.updates = updates;
}

function live(state, text) {
  const badge = $("live");
  badge.textContent = text;
  badge.className = "badge " + (state === "ok" ? "ok" : state === "bad" ? "bad" : "muted");
}

function start() {
  const query = eventsOffset ? `?events_offset=${eventsOffset}` : "";
  if (!("EventSource" in window)) {
    const offset = eventsOffset;
    const poll = () => {
      if (offset !== eventsOffset) return; // paged away: the new page polls for itself
      fetch("/api/v1/state" + query).then((r) => r.json()).then(render).finally(() => setTimeout(poll, 2000));
    };
    poll();
    return;
  }
  const es = source = new EventSource("/api/v1/stream" + query);
  es.addEventListener("error", () => live("bad", "reconnecting…"));
  es.addEventListener("state", (e) => render(JSON.parse(e.data)));
}

document.addEventListener("DOMContentLoaded", start);
