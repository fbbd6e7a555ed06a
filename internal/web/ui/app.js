// horde web UI: plain JavaScript, no framework. Every URL is relative, so
// the page works behind a path prefix. It polls ./stats/requests every 2 s
// (table, status, failures) and ./api/v1/history for the charts' new points;
// exceptions, workers and the soak verdicts (./api/v1/soak) every 5 s.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const POLL_MS = 2000, SLOW_POLL_MS = 5000, MAX_POINTS = 3600;

  const ui = {
    stats: null,        // last /stats/requests document
    run: null,          // last /api/v1/run document
    state: "",
    requests: 0,        // Aggregated num_requests at the last poll
    sortKey: "", sortDesc: false,
    editing: false,
    newTest: false,     // the start form was asked for after a run
    // target/targetRate: the load shape's target, users (closed model) or
    // iterations/s (open model); null where the point is of the other model.
    hist: { t: [], rps: [], fail: [], p50: [], p95: [], users: [], target: [], targetRate: [] },
    lastTime: "",       // time of the last history point, for ?since=
    charts: [],
  };
  window.hordeUI = ui; // for tests and the curious

  const escMap = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;" };
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => escMap[c]);
  const fmtMs = (v) => v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : Math.round(v).toString();
  const fmtRate = (v) => (Math.round(v * 100) / 100).toString();

  async function getJSON(url) {
    const res = await fetch(url, { cache: "no-store" });
    if (!res.ok) throw new Error(url + ": " + res.status);
    return res.json();
  }

  // ---- controls ----

  async function swarm(form, errEl) {
    errEl.textContent = "";
    try {
      const res = await fetch("./swarm", { method: "POST", body: new URLSearchParams(new FormData(form)) });
      const reply = await res.json();
      if (!reply.success) {
        errEl.textContent = reply.message;
        return;
      }
      ui.editing = false;
      ui.run = await getJSON("./api/v1/run");
      if (ui.run.spec.host) $("status-host").textContent = ui.run.spec.host;
    } catch (e) {
      errEl.textContent = String(e);
      return;
    }
    await poll();
  }

  $("start-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    swarm(ev.target, $("start-error"));
  });
  $("edit-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    swarm(ev.target, $("edit-error"));
  });
  $("edit-test").addEventListener("click", () => {
    if (ui.run && ui.run.spec.users) $("edit_user_count").value = ui.run.spec.users;
    if (ui.run && ui.run.spec.spawn_rate) $("edit_spawn_rate").value = ui.run.spec.spawn_rate;
    ui.editing = true;
    showControls();
  });
  $("edit-cancel").addEventListener("click", () => { ui.editing = false; showControls(); });
  $("new-test").addEventListener("click", () => { ui.newTest = true; showControls(); });
  $("stop").addEventListener("click", async () => {
    $("stop").disabled = true;
    try { await fetch("./stop", { cache: "no-store" }); } finally { $("stop").disabled = false; }
    await poll();
  });
  $("reset").addEventListener("click", async () => {
    await fetch("./stats/reset", { cache: "no-store" });
    await loadHistory(true);
    await poll();
  });

  function showControls() {
    const s = ui.state;
    const active = s === "spawning" || s === "running";
    if (active) ui.newTest = false;
    const starting = s === "ready" || (s === "stopped" && ui.newTest);
    $("start-panel").hidden = !starting;
    $("edit-panel").hidden = !(active && ui.editing);
    $("edit-test").hidden = !active || ui.editing;
    $("stop").hidden = !active;
    $("new-test").hidden = s !== "stopped" || starting;
  }

  // ---- tabs ----

  function showTab(name) {
    if (!$("tab-" + name)) name = "stats";
    for (const b of document.querySelectorAll(".tabs button")) {
      b.classList.toggle("active", b.dataset.tab === name);
    }
    for (const sec of document.querySelectorAll("main > .tab")) {
      sec.hidden = sec.id !== "tab-" + name;
    }
    if (name === "charts") drawCharts();
    if (name === "stats") renderStats();
    if (name === "soak") renderSoak();
  }
  for (const b of document.querySelectorAll(".tabs button")) {
    b.addEventListener("click", () => {
      history.replaceState(null, "", "#" + b.dataset.tab);
      showTab(b.dataset.tab);
    });
  }

  // ---- statistics table ----

  for (const th of document.querySelectorAll("#stats th[data-sort]")) {
    th.addEventListener("click", () => {
      const k = th.dataset.sort;
      ui.sortDesc = ui.sortKey === k ? !ui.sortDesc : k !== "name" && k !== "method";
      ui.sortKey = k;
      renderStats();
    });
  }

  // statCells are the table's cells for one entry, as text.
  function statCells(s) {
    return [s.method ?? "", s.name, String(s.num_requests), String(s.num_failures),
      String(s.median_response_time), String(s.ninetieth_response_time), String(s.ninety_ninth_response_time),
      fmtMs(s.avg_response_time), String(Math.round(s.min_response_time)), String(Math.round(s.max_response_time)),
      String(Math.round(s.avg_content_length)), fmtRate(s.current_rps), fmtRate(s.current_fail_per_sec)];
  }

  const rowHTML = (cells) => "<tr><td class=\"text\">" + esc(cells[0]) + "</td><td class=\"text\">" + esc(cells[1]) +
    "</td><td>" + cells.slice(2).join("</td><td>") + "</td></tr>";

  // A rendered table body: its rows' keys, cell texts and cell elements.
  const tables = new Map();

  // renderRows fills tbody with one row per entry. When the rows are the
  // same entries as last time (the usual poll) only the cells whose text
  // changed are written; otherwise the body is rebuilt with one innerHTML
  // assignment. Either way a poll costs little with thousands of rows.
  function renderRows(tbody, entries) {
    const cells = entries.map(statCells);
    const key = cells.map((c) => c[0] + " " + c[1]).join("\n");
    const last = tables.get(tbody);
    if (!last || last.key !== key) {
      tbody.innerHTML = cells.map(rowHTML).join("");
      tables.set(tbody, { key, cells, tds: Array.from(tbody.rows, (r) => r.cells) });
      return;
    }
    for (let i = 0; i < cells.length; i++) {
      const now = cells[i], was = last.cells[i], tds = last.tds[i];
      for (let j = 2; j < now.length; j++) {
        if (now[j] !== was[j]) tds[j].textContent = now[j];
      }
    }
    last.cells = cells;
  }

  function renderStats() {
    if (!ui.stats || $("tab-stats").hidden || document.hidden) return;
    const rows = ui.stats.stats.slice(0, -1);
    const total = ui.stats.stats[ui.stats.stats.length - 1];
    const k = ui.sortKey;
    if (k) {
      const dir = ui.sortDesc ? -1 : 1;
      rows.sort((a, b) => (a[k] < b[k] ? -1 : a[k] > b[k] ? 1 : 0) * dir);
    }
    renderRows($("stats-body"), rows);
    renderRows($("stats-total"), [total]);
  }

  ui.render = renderStats;

  function renderFailures(errors) {
    $("failures-count").textContent = errors.length ? "(" + errors.length + ")" : "";
    $("failures-none").hidden = errors.length > 0;
    $("failures").hidden = errors.length === 0;
    // error is HTML-escaped by the server already, as Locust's.
    $("failures-body").innerHTML = errors.map((e) =>
      "<tr><td>" + e.occurrences + "</td><td class=\"text\">" + esc(e.method) + "</td><td class=\"text\">" +
      esc(e.name) + "</td><td class=\"text pre\">" + e.error + "</td></tr>").join("");
  }

  function renderStatus(d) {
    $("status-state").textContent = d.state;
    $("status-state").className = "state-" + d.state;
    $("status-users").textContent = d.user_count;
    $("status-rps").textContent = fmtRate(Number(d.total_rps));
    $("status-fail").textContent = Math.round(d.fail_ratio * 100) + "%";
    $("status-left").textContent = timeLeft(d.state);
  }

  // timeLeft is the run's time to its stop time (start + run time; an edit
  // keeps it), "-" when it has none or is not running.
  function timeLeft(state) {
    const r = ui.run;
    if (!r || !r.start || !r.spec.run_time || (state !== "spawning" && state !== "running")) return "-";
    let s = Math.max(0, Math.round((Date.parse(r.start) + r.spec.run_time * 1000 - Date.now()) / 1000));
    const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    s %= 60;
    const pad = (n) => String(n).padStart(2, "0");
    return (d ? d + "d " : "") + (d || h ? h + "h " : "") + (d || h || m ? pad(m) + "m " : "") + pad(s) + "s";
  }

  async function poll() {
    let d;
    try {
      d = await getJSON("./stats/requests");
    } catch (e) {
      $("status-state").textContent = "unreachable";
      return;
    }
    const total = d.stats[d.stats.length - 1];
    const started = (ui.state === "ready" || ui.state === "stopped" || ui.state === "") &&
      (d.state === "spawning" || d.state === "running");
    const reset = total.num_requests < ui.requests;
    ui.stats = d;
    ui.requests = total.num_requests;
    if (d.state !== ui.state && d.state !== "spawning" && d.state !== "running") ui.editing = false;
    ui.state = d.state;
    renderStatus(d);
    showControls();
    renderStats();
    renderFailures(d.errors);
    await loadHistory(started || reset);
  }

  // ---- charts (uPlot) ----

  // loadHistory fetches the points after the last one (all of them when
  // full is set), so the charts survive a reload: history lives on the server.
  async function loadHistory(full) {
    let doc;
    try {
      doc = await getJSON("./api/v1/history" + (full || !ui.lastTime ? "" : "?since=" + encodeURIComponent(ui.lastTime)));
    } catch (e) {
      return;
    }
    const h = ui.hist;
    if (full) {
      for (const k in h) h[k].length = 0;
      ui.lastTime = "";
    }
    for (const p of doc.points) {
      h.t.push(Date.parse(p.time) / 1000);
      h.rps.push(p.rps);
      h.fail.push(p.fail_per_sec);
      h.p50.push(p.p50);
      h.p95.push(p.p95);
      h.users.push(p.users);
      h.target.push(p.open ? null : (p.target ?? null));
      h.targetRate.push(p.open ? (p.target ?? null) : null);
      ui.lastTime = p.time;
    }
    if (h.t.length > MAX_POINTS) { // halve the resolution, as the server does
      for (const k in h) h[k] = h[k].filter((_, i) => i % 2 === 0 || i === h[k].length - 1);
    }
    updateCharts();
  }

  function chartData() {
    const h = ui.hist;
    return [[h.t, h.rps, h.fail, h.targetRate], [h.t, h.p50, h.p95], [h.t, h.users, h.target]];
  }

  function drawCharts() {
    if (ui.charts.length || typeof uPlot === "undefined") {
      updateCharts();
      return;
    }
    const defs = [
      ["chart-rps", "Total Requests per Second", [["RPS", "#2e7d32"], ["Failures/s", "#c62828"], ["Target rate (iterations/s)", "#9e9e9e"]]],
      ["chart-times", "Response Times (ms)", [["50th percentile", "#f9a825"], ["95th percentile", "#6a1b9a"]]],
      ["chart-users", "Number of Users", [["Users", "#1565c0"], ["Target users", "#9e9e9e"]]],
    ];
    const data = chartData();
    defs.forEach(([id, title, series], i) => {
      const el = $(id);
      const opts = {
        title,
        width: Math.max(el.clientWidth, 300),
        height: 240,
        scales: { x: { time: true } },
        axes: [{}, { size: 70 }],
        series: [{}].concat(series.map(([label, stroke]) => ({ label, stroke, width: 2, points: { show: false } }))),
      };
      ui.charts.push(new uPlot(opts, data[i], el));
    });
  }

  function updateCharts() {
    if (!ui.charts.length || $("tab-charts").hidden) return;
    const data = chartData();
    ui.charts.forEach((c, i) => c.setData(data[i]));
  }

  document.addEventListener("visibilitychange", () => { if (!document.hidden) renderStats(); });

  window.addEventListener("resize", () => {
    for (const c of ui.charts) c.setSize({ width: Math.max(c.root.parentNode.clientWidth, 300), height: 240 });
  });

  // ---- soak: the target's series with the leak check's lines, and the running verdicts ----

  const SOAK_COLORS = ["#1565c0", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#ad1457", "#5d4037", "#455a64"];
  const soakUI = { doc: null, plots: new Map() }; // chart id -> { key, plot }
  ui.soak = soakUI;

  // fmtBytes formats bytes as KiB/MiB/GiB, with extra more decimals.
  const fmtBytes = (v, extra = 0) => {
    if (v == null) return "";
    const a = Math.abs(v);
    return a >= 1 << 30 ? (v / (1 << 30)).toFixed(2 + extra) + " GiB" : a >= 1 << 20 ? (v / (1 << 20)).toFixed(1 + extra) + " MiB" :
      a >= 1 << 10 ? (v / (1 << 10)).toFixed(extra) + " KiB" : v.toFixed(extra) + " B";
  };

  // fmtAxis formats a value of a chart's unit: bytes as KiB/MiB/GiB,
  // seconds as ms or s, anything else to four significant digits (so that
  // close ticks such as 0.0215 and 0.022 stay apart), extra digits more.
  const fmtAxis = (unit, extra = 0) => (v) => {
    if (v == null) return "";
    if (unit === "bytes") return fmtBytes(v, extra);
    if (unit === "seconds") return Math.abs(v) < 1 ? +(v * 1000).toPrecision(4 + extra) + " ms" : +v.toPrecision(4 + extra) + " s";
    return String(+v.toPrecision(4 + extra));
  };

  // fmtTicks formats an axis's ticks so that no two read alike: at
  // fmtAxis's precision, or with as many more digits as it takes (a
  // nearly flat series's ticks 0.019992, 0.019994, … all read "0.01999"
  // at four).
  const fmtTicks = (unit) => (vs) => {
    let out = [];
    for (let extra = 0; extra <= 8; extra++) {
      out = vs.map(fmtAxis(unit, extra));
      if (new Set(out).size === out.length) break;
    }
    return out;
  };
  ui.fmtTicks = fmtTicks; // for tests

  async function loadSoak() {
    try {
      soakUI.doc = await getJSON("./api/v1/soak");
    } catch (e) {
      return;
    }
    const o = $("soak-overall");
    const any = soakUI.doc.verdicts.length > 0;
    o.textContent = any ? soakUI.doc.overall : "";
    o.className = "verdict v-" + soakUI.doc.overall;
    renderSoak();
  }

  // "compared with the last N runs": the run so far against its --baseline.
  function renderBaseline(b) {
    $("soak-baseline").hidden = !b;
    if (!b) return;
    const num = (v) => v == null ? "-" : Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : (+v.toPrecision(3)).toString();
    const val = (v, u) => v == null ? "-" : num(v) + (u && u !== "req/s" ? (u.startsWith("%") ? u : " " + u) : "");
    const chg = (v, u) => v == null ? "-" : (v >= 0 ? "+" : "") + (u === "points" ? v.toFixed(2) + " pt" : v.toFixed(1) + "%");
    $("soak-baseline-title").textContent = b.title;
    $("soak-baseline-runs").textContent = b.runs && b.runs.length ? "Baseline runs (--baseline " + b.baseline + "): " + b.runs.join(", ") + (b.note ? " (" + b.note + ")" : "") : "";
    $("soak-baseline-body").innerHTML = (b.rows || []).map((r) => "<tr" + (r.worse && r.noise === "beyond noise" ? " class=\"worse\"" : "") + "><td class=\"text\">" + esc(r.metric) +
      "</td><td>" + esc(val(r.current, r.unit)) + "</td><td>" + esc(val(r.median, r.unit)) + "</td><td>" + esc((r.baseline || []).map(num).join(", ")) +
      "</td><td>" + esc(chg(r.change, r.change_unit)) + "</td><td class=\"text\">" + esc(r.noise + (r.p == null ? "" : " (p=" + r.p.toPrecision(2) + ")")) + "</td></tr>").join("");
  }

  function renderSoak() {
    const d = soakUI.doc;
    if (!d || $("tab-soak").hidden) return;
    $("soak-verdicts-body").innerHTML = d.verdicts.map((v) => "<tr data-status=\"" + esc(v.status) + "\"><td class=\"text\"><span class=\"verdict v-" +
      esc(v.status) + "\">" + esc(v.status) + "</span></td><td class=\"text\">" + esc(v.kind) + "</td><td class=\"text\">" +
      esc(v.name) + "</td><td class=\"text\">" + esc(v.reason) + "</td></tr>").join("");
    renderBaseline(d.baseline);
    $("soak-none").hidden = d.charts.length > 0;
    $("soak-time").textContent = "Last judged " + d.time.slice(11, 19) + " UTC.";
    const seen = new Set();
    const box = $("soak-charts");
    for (const c of d.charts) {
      seen.add(c.id);
      const key = c.series.map((x) => x.label).join("\n");
      let entry = soakUI.plots.get(c.id);
      if (entry && entry.key !== key) {
        entry.plot.destroy();
        entry.el.remove();
        entry = null;
      }
      const data = [c.t].concat(c.series.map((x) => x.v));
      if (!entry) {
        if (typeof uPlot === "undefined") continue;
        const el = document.createElement("div");
        el.className = "chart";
        el.id = "soak-" + c.id;
        box.appendChild(el);
        let color = 0;
        const series = [{}].concat(c.series.map((x) => {
          const stroke = SOAK_COLORS[x.trend ? (color - 1 + SOAK_COLORS.length) % SOAK_COLORS.length : color++ % SOAK_COLORS.length];
          return { label: x.label, stroke, width: x.trend ? 2 : 1.5, dash: x.trend ? [8, 5] : undefined, spanGaps: true, points: { show: false },
            value: (u, v) => fmtAxis(c.unit)(v) };
        }));
        const opts = {
          title: c.title + (c.unit ? " (" + c.unit + ")" : ""),
          width: Math.max(box.clientWidth, 300), height: 260,
          scales: { x: { time: true } },
          // size: wide enough for "1023.9 MiB" or a seven-digit count, never clipped
          axes: [{}, { size: (u, vs) => vs ? Math.max(60, 12 + 7 * Math.max(...vs.map((v) => String(v).length))) : 60,
            values: (u, vs) => fmtTicks(c.unit)(vs) }],
          series,
        };
        entry = { key, el, plot: new uPlot(opts, data, el) };
        soakUI.plots.set(c.id, entry);
      } else {
        entry.plot.setData(data);
      }
    }
    for (const c of d.charts) { // in the document's order: memory, CPU, others
      const entry = soakUI.plots.get(c.id);
      if (entry) box.appendChild(entry.el);
    }
    for (const [id, entry] of soakUI.plots) {
      if (!seen.has(id)) {
        entry.plot.destroy();
        entry.el.remove();
        soakUI.plots.delete(id);
      }
    }
  }

  // ---- exceptions and workers ----

  async function slowPoll() {
    try {
      ui.run = await getJSON("./api/v1/run");
      if (ui.run.spec.host) $("status-host").textContent = ui.run.spec.host;
      const ex = (await getJSON("./exceptions")).exceptions;
      $("exceptions-count").textContent = ex.length ? "(" + ex.length + ")" : "";
      $("exceptions-none").hidden = ex.length > 0;
      $("exceptions").hidden = ex.length === 0;
      // msg and traceback are HTML-escaped by the server, as Locust's.
      $("exceptions-body").innerHTML = ex.map((e) => "<tr><td>" + e.count + "</td><td class=\"text pre\">" +
        e.msg + "</td><td class=\"text pre\">" + e.traceback + "</td><td class=\"text\">" + esc(e.nodes) + "</td></tr>").join("");
      const ws = (await getJSON("./api/v1/workers")).workers;
      $("workers-none").hidden = ws.length > 0;
      renderWorkerCount(ws);
      $("workers-body").innerHTML = ws.map((w) => "<tr><td class=\"text\">" + esc(w.id) + "</td><td class=\"text\">" +
        esc(w.host) + "</td><td class=\"text\">" + esc(w.state) + "</td><td>" + w.users + "</td><td>" +
        w.cpu.toFixed(1) + "%</td><td>" + (w.memory / 1048576).toFixed(0) + " MiB</td><td class=\"text\">" +
        esc(w.last_heartbeat) + "</td></tr>").join("");
    } catch (e) {
      // the next poll will tell
    }
  }

  // renderWorkerCount shows a distributed run's workers in the header, as
  // Locust does: those in the run, and those lost (missing: killed, no
  // heartbeat), left (said goodbye: shut down cleanly) or disconnected
  // (within their reconnect grace).
  function renderWorkerCount(ws) {
    $("status-workers-box").hidden = ws.length === 0;
    const lost = ws.filter((w) => w.state === "missing").length;
    const left = ws.filter((w) => w.state === "left").length;
    const gone = ws.filter((w) => w.state === "disconnected").length;
    const extra = [];
    if (gone) extra.push(gone + " disconnected");
    if (lost) extra.push(lost + " lost");
    if (left) extra.push(left + " left");
    $("status-workers").textContent = (ws.length - lost - left - gone) + (extra.length ? " (" + extra.join(", ") + ")" : "");
    $("status-workers").className = lost ? "state-lost" : "";
  }

  function every(ms, fn) {
    const tick = async () => {
      try { await fn(); } finally { setTimeout(tick, ms); }
    };
    tick();
  }

  showTab((location.hash || "#stats").slice(1) || "stats");
  loadHistory(true).then(() => every(POLL_MS, poll));
  every(SLOW_POLL_MS, slowPoll);
  every(SLOW_POLL_MS, loadSoak);
})();
