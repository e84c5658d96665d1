// The operations dashboard: the admin key typed into the page (kept in this module's memory only: gone on
// reload), the active and stored models with rollback, training runs with "retrain now", live figures.

import { ApiError, call } from "./api.js";
import { el } from "./cards.js";
import { barChart, shareBar } from "./chart.js";

const REFRESH_MS = 3000;
const TERMINAL = new Set(["activated", "failed"]);
let adminKey = null;
let timer = null;
let watching = null;   // the id of the run started here, followed until it ends

const $ = (id) => document.getElementById(id);
const when = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "medium" });

function time(iso) {
  return iso ? when.format(new Date(iso)) : "—";
}

function seconds(from, to) {
  if (!from || !to) return "—";
  const value = (new Date(to) - new Date(from)) / 1000;
  return value < 90 ? `${value.toFixed(1)} s` : `${(value / 60).toFixed(1)} min`;
}

function shortId(id) {
  return id.length > 18 ? `${id.slice(0, 16)}…` : id;
}

function number(value) {
  return typeof value === "number" ? value.toLocaleString("en-GB") : "—";
}

const admin = (path, options = {}) => call(path, { ...options, auth: { adminKey } });

function showError(error) {
  const box = $("dash-error");
  box.textContent = error ? `${error.message}${error.status ? ` (HTTP ${error.status})` : ""}` : "";
  box.hidden = !error;
}

function facts(pairs) {
  return el("dl", { class: "facts" }, ...pairs.flatMap(([name, value]) => [el("dt", { text: name }),
    el("dd", { text: value })]));
}

function renderActive(active) {
  const panel = $("active-model");
  panel.dataset.modelVersion = active.activeVersion ?? "";
  if (!active.activeVersion) {
    panel.replaceChildren(el("h2", { text: "Active model" }), el("p", { class: "empty", text: "No model yet." }));
    return;
  }
  const manifest = active.manifest ?? {};
  const counts = manifest.counts ?? {};
  const metrics = manifest.metrics && Object.keys(manifest.metrics).length ? manifest.metrics : null;
  panel.replaceChildren(
    el("h2", { text: "Active model" }),
    el("p", { class: "version", "data-testid": "active-version", text: active.activeVersion }),
    facts([["Trained", time(manifest.createdAt)], ["Activated", time(active.activatedAt)],
      ["Trainer", manifest.trainer ?? "—"], ["Users", number(counts.users)], ["Products", number(counts.products)],
      ["Orders", number(counts.orders)], ["Training time", manifest.timings ? `${manifest.timings.total} s` : "—"],
      ["Previous", active.previousVersion ?? "—"]]),
    el("h3", { text: "Offline metrics" }),
    metrics ? facts(Object.entries(metrics).map(([name, value]) => [name, typeof value === "number"
      ? value.toFixed(4) : JSON.stringify(value)]))
      : el("p", { class: "note", text: "This model's manifest records no offline metrics (manage.py evaluate "
        + "measures them on an orders file)." }));
}

function renderVersions(versions) {
  const rows = versions.items.map((item) => el("tr", { "data-model-version": item.modelVersion },
    el("td", { class: "mono", text: item.modelVersion }), el("td", { text: time(item.createdAt) }),
    el("td", { text: number(item.counts?.users) }), el("td", { text: number(item.counts?.products) }),
    el("td", {}, item.active ? el("span", { class: "state activated", text: "active" })
      : item.retiring ? el("span", { class: "state retiring", text: "retiring" }) : null),
    el("td", {}, item.active ? null : el("button", { type: "button", class: "small", onclick: (event) =>
      activate(item.modelVersion, event.target) }, "Activate"))));
  $("versions").replaceChildren(el("h2", { text: "Stored models" }), el("div", { class: "table-wrap" },
    el("table", {}, el("thead", {}, el("tr", {}, ...["Version", "Trained", "Users", "Products", "", ""].map(
      (name) => el("th", { text: name })))), el("tbody", {}, ...rows))));
}

function renderRuns(runs) {
  const rows = runs.items.map((run) => el("tr", { "data-run-id": run.id, "data-state": run.state },
    el("td", { class: "mono", title: run.id, text: shortId(run.id) }),
    el("td", {}, el("span", { class: `state ${run.state}`, text: run.state })),
    el("td", { text: run.reason ?? "—" }), el("td", { text: time(run.createdAt) }),
    el("td", { text: seconds(run.createdAt, run.submittedAt) }),
    el("td", { text: seconds(run.createdAt, run.finishedAt) }),
    el("td", { class: "mono", text: run.modelVersion ?? "—" }),
    el("td", { class: "error-text", text: run.error ?? run.lastError ?? "" })));
  $("training-runs").replaceChildren(el("div", { class: "table-wrap" }, el("table", {},
    el("thead", {}, el("tr", {}, ...["Run", "State", "Reason", "Requested", "To submit", "Total", "Model", "Error"]
      .map((name) => el("th", { text: name })))),
    el("tbody", {}, ...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 8, class: "empty",
      text: "No training runs yet." }))])))));
  const watched = runs.items.find((run) => run.id === watching);
  if (watched && TERMINAL.has(watched.state)) {
    $("retrain-status").textContent = `Run ${watched.id} ended: ${watched.state}.`;
    watching = null;
  }
  $("retrain").disabled = Boolean(watching);
}

function renderMetrics(metrics) {
  const latency = metrics.recommendations.latencyMs;
  const ms = (value) => (value === null ? "—" : `${value.toFixed(1)} ms`);
  const points = metrics.ordersPerMinute.map((item) => ({ label: item.minute.slice(11, 16), value: item.orders }));
  $("live").replaceChildren(
    el("h2", { text: "Live figures" }),
    el("p", { class: "note", text: `From worker process ${metrics.process} (each process counts its own) since `
      + `${time(metrics.since)}.` }),
    el("div", { class: "stats" },
      stat("Orders, last minute", number(points.at(-1)?.value ?? 0)),
      stat("Recommendations, 5 min", number(metrics.recommendations.count)),
      stat("Latency p50", ms(latency.p50)), stat("Latency p99", ms(latency.p99))),
    el("h3", { text: "Orders per minute (UTC)" }), barChart(points),
    el("h3", { text: "Strategy mix, last 5 minutes" }),
    Object.keys(metrics.recommendations.strategies).length ? shareBar(metrics.recommendations.strategies)
      : el("p", { class: "note", text: "No recommendations served yet." }));
}

function stat(label, value) {
  return el("div", { class: "stat" }, el("span", { class: "stat-value", text: value }),
    el("span", { class: "note", text: label }));
}

// The stored versions cost a cross-partition query: read them on connect, after a change, and every 30 s.
const VERSIONS_EVERY = 10;
let ticks = 0;
let shownVersion = null;

async function refresh({ versions = false } = {}) {
  try {
    const [active, runs, metrics] = await Promise.all([admin("/api/manage/models/active"),
      admin("/api/manage/training-runs?limit=10"), admin("/api/manage/metrics")]);
    const changed = active.data.activeVersion !== shownVersion;
    shownVersion = active.data.activeVersion;
    if (versions || changed || ticks++ % VERSIONS_EVERY === 0) renderVersions((await admin("/api/manage/models")).data);
    renderActive(active.data);
    renderRuns(runs.data);
    renderMetrics(metrics.data);
    showError(null);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      disconnect("That admin key was refused.");
      return;
    }
    showError(error);
  }
}

async function activate(version, button) {
  button.disabled = true;
  try {
    await admin("/api/manage/models/active", { method: "PUT", body: { modelVersion: version } });
    await refresh({ versions: true });
  } catch (error) {
    showError(error);
    button.disabled = false;
  }
}

async function retrain() {
  $("retrain").disabled = true;
  try {
    const { data } = await admin("/api/manage/training-runs", { method: "POST" });
    watching = data.id;
    $("retrain-status").textContent = `Run ${data.id} requested (${data.state}).`;
  } catch (error) {
    $("retrain-status").textContent = error.status === 409 ? "A training run is already in flight." : "";
    if (error.status !== 409) showError(error);
  }
  await refresh();
}

function connect(event) {
  event.preventDefault();
  const key = $("admin-key-input").value.trim();
  if (!key) return;
  adminKey = key;
  ticks = 0;
  $("admin-key-input").value = "";
  document.body.classList.add("connected");
  $("connect-status").textContent = "Connected. The key is kept in this page's memory only.";
  refresh();
  clearInterval(timer);
  timer = setInterval(refresh, REFRESH_MS);
}

function disconnect(message = "") {
  adminKey = null;
  clearInterval(timer);
  document.body.classList.remove("connected");
  $("connect-status").textContent = message;
}

$("connect-form").addEventListener("submit", connect);
$("disconnect").addEventListener("click", () => disconnect("Disconnected."));
$("retrain").addEventListener("click", retrain);
