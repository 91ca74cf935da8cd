/* The dashboard's pages, routed on the URL fragment as FATEBoard's are (#/dashboard?job_id=..&role=..&party_id=..). */
"use strict";

const CSRF = document.querySelector('meta[name="csrf-token"]').content;
const FINISHED = new Set(["success", "failed", "canceled", "timeout"]);
let timers = [];

function every(ms, fn) { timers.push(setInterval(fn, ms)); }
function clearTimers() { timers.forEach(clearInterval); timers = []; }

/* POST a /v1 route; answers the envelope. A non-JSON answer (e.g. 404 of a route missing here) becomes retcode -1. */
async function api(path, body) {
  const resp = await fetch(path, { method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": CSRF }, body: JSON.stringify(body || {}) });
  if (resp.status === 401) { location.href = "/board/login?next=" + encodeURIComponent(location.pathname + location.hash); }
  try { return Object.assign({ httpStatus: resp.status }, await resp.json()); }
  catch (e) { return { retcode: -1, retmsg: `HTTP ${resp.status}`, httpStatus: resp.status }; }
}

function fmtTime(ms) { return ms ? new Date(ms).toLocaleString() : "-"; }
function fmtElapsed(ms) {
  if (!ms && ms !== 0) return "-";
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m${s % 60}s` : `${Math.floor(s / 3600)}h${Math.floor(s % 3600 / 60)}m`;
}
function statusBadge(status) { return el("span", { class: `status status-${status}` }, status); }
function params() { return new URLSearchParams((location.hash.split("?")[1]) || ""); }
function jobLink(job, role, party) {
  return `#/dashboard?job_id=${encodeURIComponent(job)}&role=${encodeURIComponent(role)}&party_id=${encodeURIComponent(party)}`;
}

/* ---- job list ------------------------------------------------------------------------------ */

async function showHistory(view) {
  const q = params();
  const state = { job_id: q.get("job_id") || "", role: q.get("role") || "", status: q.get("status") || "",
                  page: Number(q.get("page") || 1), page_size: 20 };
  const input = el("input", { id: "filter-job", placeholder: "job id", value: state.job_id });
  const role = el("select", { id: "filter-role" }, ["", "guest", "host", "arbiter", "local"].map(r => el("option", { value: r }, r || "any role")));
  const status = el("select", { id: "filter-status" },
    ["", "waiting", "running", "success", "failed", "canceled", "timeout"].map(s => el("option", { value: s }, s || "any status")));
  role.value = state.role; status.value = state.status;
  const table = el("div", { id: "job-table" });
  const pager = el("div", { class: "filters", id: "pager" });
  const message = el("p", { id: "action-message" });
  const apply = () => { Object.assign(state, { job_id: input.value.trim(), role: role.value, status: status.value, page: 1 }); load(); };
  input.addEventListener("change", apply); role.addEventListener("change", apply); status.addEventListener("change", apply);
  view.replaceChildren(el("section", {}, el("h2", {}, "Jobs"),
    el("div", { class: "filters" }, input, role, status, el("button", { onclick: apply }, "Search")), message, table, pager));
  let unfinished = false;
  async function load() {
    const answer = await api("/v1/board/jobs", state);
    if (answer.retcode !== 0) { table.replaceChildren(el("p", { class: "error" }, answer.retmsg)); return; }
    const d = answer.data;
    unfinished = d.has_unfinished;
    table.replaceChildren(dataTableOfJobs(d.jobs, message, load));
    const pages = Math.max(1, Math.ceil(d.total / d.page_size));
    pager.replaceChildren(
      el("button", { disabled: state.page <= 1, onclick: () => { state.page--; load(); } }, "‹ prev"),
      el("span", { id: "page-info" }, `page ${d.page} of ${pages} (${d.total} jobs)`),
      el("button", { disabled: state.page >= pages, onclick: () => { state.page++; load(); } }, "next ›"));
  }
  await load();
  every(3000, () => { if (unfinished) load(); });
}

function dataTableOfJobs(jobs, message, reload) {
  const head = ["job id", "role", "party", "status", "progress", "start", "end", "elapsed", ""];
  const rows = jobs.map(j => {
    const actions = el("td", {});
    if (!FINISHED.has(j.f_status)) actions.append(el("button", { class: "stop", onclick: () => stopJob(j.f_job_id, message, reload) }, "stop"));
    if (FINISHED.has(j.f_status) && j.f_is_initiator === 1 && j.f_role !== "local")
      actions.append(el("button", { class: "rerun", onclick: () => rerunJob(j.f_job_id, message, reload) }, "rerun"));
    const progress = j.f_status === "waiting" && j.f_queue_position ? `queue #${j.f_queue_position}` : `${j.f_progress || 0}%`;
    return el("tr", { class: "job-row", "data-job-id": j.f_job_id, "data-role": j.f_role, "data-status": j.f_status },
      el("td", {}, el("a", { href: jobLink(j.f_job_id, j.f_role, j.f_party_id) }, j.f_job_id)),
      el("td", {}, j.f_role), el("td", {}, j.f_party_id), el("td", {}, statusBadge(j.f_status)),
      el("td", { class: "num" }, progress), el("td", {}, fmtTime(j.f_start_time)), el("td", {}, fmtTime(j.f_end_time)),
      el("td", { class: "num" }, fmtElapsed(j.f_elapsed)), actions);
  });
  return el("table", {}, el("thead", {}, el("tr", {}, head.map(h => el("th", {}, h)))), el("tbody", {}, rows));
}

async function stopJob(jobId, message, reload) {
  if (!confirm(`Stop job ${jobId}?`)) return;
  const a = await api("/v1/job/stop", { job_id: jobId });
  message.textContent = a.retcode === 0 ? `stop asked for ${jobId}` : `stop failed: ${a.retmsg}`;
  reload();
}

async function rerunJob(jobId, message, reload) {
  const a = await api("/v1/job/rerun", { job_id: jobId });
  message.textContent = a.httpStatus === 404 ? "rerun is not available on this server"
    : a.retcode === 0 ? `rerun of ${jobId} submitted` : `rerun failed: ${a.retmsg}`;
  reload();
}

/* ---- job page -------------------------------------------------------------------------------- */

async function showJob(view) {
  const q = params();
  const ctx = { job_id: q.get("job_id"), role: q.get("role"), party_id: q.get("party_id") };
  const summary = el("section", { id: "job-summary" }, "Loading…");
  const dagBox = el("div", { class: "dag", id: "dag" });
  const side = el("section", { id: "component" }, el("p", { class: "muted" }, "Click a component to see its parameters, metrics, data, model and logs."));
  view.replaceChildren(summary, el("div", { class: "layout" }, el("section", {}, el("h3", {}, "DAG"), dagBox, jobTabs(ctx)), side));
  const dagAnswer = await api("/v1/pipeline/dag/dependency", ctx);
  if (dagAnswer.retcode !== 0) { summary.replaceChildren(el("p", { class: "error" }, dagAnswer.retmsg)); return; }
  let selected = null, finished = false;
  const select = name => { selected = name; showComponent(side, ctx, name, dagAnswer.data.component_module[name], () => finished); refresh(); };
  async function refresh() {
    const [jobs, tasks] = await Promise.all([api("/v1/job/query", ctx), api("/v1/job/task/query", ctx)]);
    const statuses = {};
    for (const t of tasks.data || []) statuses[t.f_component_name] = t.f_status;
    drawDag(dagBox, dagAnswer.data, statuses, selected, select);
    if (jobs.retcode === 0 && jobs.data.length) { renderSummary(summary, jobs.data[0]); finished = FINISHED.has(jobs.data[0].f_status); }
  }
  await refresh();
  every(2000, () => { if (!finished) refresh(); });
}

function renderSummary(box, job) {
  const roles = JSON.parse(job.f_roles || "{}");
  box.replaceChildren(el("h2", {}, `Job ${job.f_job_id}`),
    el("p", {}, "status: ", statusBadge(job.f_status), ` · progress ${job.f_progress || 0}%`,
       ` · role ${job.f_role} ${job.f_party_id} · initiator ${job.f_initiator_party_id}`,
       ` · start ${fmtTime(job.f_start_time)} · end ${fmtTime(job.f_end_time)} · elapsed ${fmtElapsed(job.f_elapsed)}`),
    el("p", {}, "parties: ", Object.entries(roles).map(([r, ps]) => `${r}: ${ps.join(", ")}`).join(" · ")),
    job.f_status_reason ? el("p", { class: "reason", id: "status-reason" }, job.f_status_reason) : "");
}

function jobTabs(ctx) {
  const body = el("div", { id: "job-tab-body" });
  const tabs = {
    "Runtime conf": async () => { const a = await api("/v1/job/config", ctx); body.replaceChildren(el("pre", { class: "conf" }, JSON.stringify((a.data || {}).runtime_conf, null, 2))); },
    "DSL": async () => { const a = await api("/v1/job/config", ctx); body.replaceChildren(el("pre", { class: "conf" }, JSON.stringify((a.data || {}).dsl, null, 2))); },
    "Job logs": () => showLogs(body, ctx, "", () => false),
  };
  return el("div", {}, tabBar(tabs, "job-tabs"), body);
}

function tabBar(tabs, id) {
  const bar = el("div", { class: "tabs", id });
  for (const [name, open] of Object.entries(tabs)) {
    bar.append(el("button", { "data-tab": name, onclick: e => {
      bar.querySelectorAll("button").forEach(b => b.classList.remove("active"));
      e.target.classList.add("active"); open();
    } }, name));
  }
  return bar;
}

function showComponent(box, ctx, name, module, isFinished) {
  const query = Object.assign({ component_name: name }, ctx);
  const body = el("div", { id: "component-body" });
  const tabs = {
    Parameters: async () => { const a = await api("/v1/tracking/component/parameters", query); body.replaceChildren(el("pre", { class: "conf" }, JSON.stringify(a.data || a.retmsg, null, 2))); },
    Metrics: async () => { body.replaceChildren(); renderMetrics(body, await metricsOf(query)); },
    "Output data": async () => { body.replaceChildren(outputTable(await api("/v1/tracking/component/output/data", query))); },
    Model: async () => { const a = await api("/v1/tracking/component/output/model", query); body.replaceChildren(); if (a.retcode === 0 && a.data) renderModel(body, a, `${ctx.role}:${ctx.party_id}`); else body.append(el("p", { class: "muted" }, a.retmsg || "No model.")); },
    Logs: () => showLogs(body, ctx, name, isFinished),
  };
  box.replaceChildren(el("h3", {}, `${name} `, el("span", { class: "muted" }, module)), tabBar(tabs, "component-tabs"), body);
  box.querySelector('[data-tab="Metrics"]').click();
}

async function metricsOf(query) {
  const a = await api("/v1/tracking/component/metric/all", query);
  return a.retcode === 0 ? a.data : {};
}

function outputTable(a) {
  if (a.retcode !== 0 || !a.data) return el("p", { class: "muted" }, a.retmsg || "No output data.");
  const header = (a.meta && a.meta.header) || [];
  return el("div", {}, el("p", { id: "output-count" }, `${a.data.length} of ${(a.meta || {}).total} rows`),
            dataTable(header, a.data, { id: "output-table" }));
}

async function showLogs(box, ctx, component, isFinished) {
  const body = Object.assign({ component_name: component }, ctx);
  const files = (await api("/v1/board/log/files", body)).data || [];
  const choose = el("select", { id: "log-file" }, files.map(f => el("option", { value: f }, f)));
  if (files.includes("INFO.log")) choose.value = "INFO.log";
  const pre = el("pre", { id: "log-text" });
  let offset = -1, file = choose.value;
  async function more() {
    if (!file) return;
    const a = await api("/v1/board/log", Object.assign({ file, offset }, body));
    if (a.retcode !== 0) { pre.textContent = a.retmsg; return; }
    pre.append(a.data.text);  // appended as text: log lines are never markup
    offset = a.data.offset;
  }
  choose.addEventListener("change", () => { file = choose.value; offset = -1; pre.textContent = ""; more(); });
  box.replaceChildren(el("div", { class: "filters" }, "log: ", choose), pre);
  await more();
  const timer = setInterval(() => { if (!document.body.contains(pre)) clearInterval(timer); else if (!isFinished()) more(); }, 1000);
  timers.push(timer);
}

/* ---- beyond FATEBoard ---------------------------------------------------------------------- */

async function showCompare(view) {
  const q = params();
  const a = el("input", { id: "compare-a", placeholder: "job id A", value: q.get("a") || "" });
  const b = el("input", { id: "compare-b", placeholder: "job id B", value: q.get("b") || "" });
  const chart = el("div", { id: "compare-chart" });
  const go = () => { location.hash = `#/compare?a=${encodeURIComponent(a.value.trim())}&b=${encodeURIComponent(b.value.trim())}`; };
  view.replaceChildren(el("section", {}, el("h2", {}, "Compare evaluation curves"),
    el("div", { class: "filters" }, a, b, el("button", { onclick: go }, "Compare")), chart));
  const ids = [q.get("a"), q.get("b")].filter(Boolean);
  if (!ids.length) return;
  const traces = [];
  for (const jobId of ids) traces.push(...await rocTraces(jobId));
  if (!traces.length) { chart.replaceChildren(el("p", { class: "muted" }, "No ROC curves in these jobs.")); return; }
  plot(chart, traces, { title: { text: "ROC" }, xaxis: { title: { text: "fpr" } }, yaxis: { title: { text: "tpr" } } }, { "data-kind": "compare" });
}

/* ROC curves of every Evaluation component of a job, seen by the job's initiator. */
async function rocTraces(jobId) {
  const jobs = await api("/v1/job/query", { job_id: jobId });
  const job = (jobs.data || []).find(j => j.f_is_initiator === 1) || (jobs.data || [])[0];
  if (!job) return [];
  const ctx = { job_id: jobId, role: job.f_role, party_id: job.f_party_id };
  const dag = await api("/v1/pipeline/dag/dependency", ctx);
  const traces = [];
  for (const [name, module] of Object.entries((dag.data || {}).component_module || {})) {
    if (module !== "Evaluation") continue;
    const all = await metricsOf(Object.assign({ component_name: name }, ctx));
    for (const [ns, metrics] of Object.entries(all || {})) {
      for (const [metric, m] of Object.entries(metrics)) {
        if ((m.meta || {}).metric_type === "ROC_EVALUATION")
          traces.push({ x: m.data.map(p => p[0]), y: m.data.map(p => p[1]), mode: "lines", name: `${jobId} ${name} ${ns} ${metric}` });
      }
    }
  }
  return traces;
}

async function showData(view) {
  const q = params();
  const ns = el("input", { id: "data-namespace", placeholder: "namespace", value: q.get("namespace") || "" });
  const name = el("input", { id: "data-name", placeholder: "table name", value: q.get("name") || "" });
  const out = el("div", { id: "data-view" });
  const go = () => { location.hash = `#/data?namespace=${encodeURIComponent(ns.value.trim())}&name=${encodeURIComponent(name.value.trim())}`; };
  view.replaceChildren(el("section", {}, el("h2", {}, "Data"), el("div", { class: "filters" }, ns, name, el("button", { onclick: go }, "Show")), out));
  if (!ns.value || !name.value) return;
  const a = await api("/v1/board/table/preview", { namespace: ns.value, name: name.value });
  if (a.retcode !== 0) { out.replaceChildren(el("p", { class: "error" }, a.retmsg)); return; }
  const d = a.data;
  out.replaceChildren(el("p", { id: "data-count" }, `${d.count} rows, ${d.partitions} partitions; showing ${d.rows.length}`),
    el("details", {}, el("summary", {}, "schema"), el("pre", { class: "conf" }, JSON.stringify(d.schema, null, 2))),
    dataTable(d.header, d.rows, { id: "data-table" }));
}

async function showUploads(view) {
  const a = await api("/v1/data/upload/history", { limit: 100 });
  const rows = (a.data || []).map(u => { const [jobId, info] = Object.entries(u)[0] || ["", {}];
    const t = (info && info.upload_info) || {};
    return el("tr", {}, el("td", {}, jobId), el("td", {}, el("a", { href: `#/data?namespace=${encodeURIComponent(t.namespace || "")}&name=${encodeURIComponent(t.table_name || "")}` }, `${t.namespace || ""}.${t.table_name || ""}`)),
              el("td", { class: "num" }, t.upload_count ?? ""), el("td", {}, info && info.notes || "")); });
  view.replaceChildren(el("section", {}, el("h2", {}, "Upload history"),
    a.retcode === 0 ? el("table", { id: "upload-table" }, el("thead", {}, el("tr", {}, ["job", "table", "rows", "notes"].map(h => el("th", {}, h)))), el("tbody", {}, rows))
                    : el("p", { class: "muted" }, a.retmsg)));
}

/* ---- router ---------------------------------------------------------------------------------- */

const ROUTES = { "#/dashboard": showJob, "#/history": showHistory, "#/compare": showCompare, "#/data": showData, "#/uploads": showUploads };

function route() {
  clearTimers();
  const page = ROUTES[location.hash.split("?")[0]] || showHistory;
  const view = document.getElementById("view");
  page(view).catch(e => view.replaceChildren(el("p", { class: "error" }, String(e))));
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", () => {
  const logout = document.getElementById("logout");
  if (logout) logout.addEventListener("click", async () => { await api("/board/logout"); location.href = "/board/login"; });
  route();
});
