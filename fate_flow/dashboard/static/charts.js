/* Metrics and models as charts and tables (plotly.js from the installed plotly wheel). */
"use strict";

const PLOT_CONFIG = { displaylogo: false, responsive: true };

/* A plain element with text children only: data never becomes markup. */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "onclick") node.addEventListener("click", v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function dataTable(header, rows, attrs) {
  return el("table", attrs || {},
    el("thead", {}, el("tr", {}, header.map(h => el("th", {}, h)))),
    el("tbody", {}, rows.map(r => el("tr", {}, r.map(c => el("td", {}, typeof c === "object" && c !== null ? JSON.stringify(c) : c))))));
}

/* plotly.js is 4-5 MB: it is fetched on the first chart, so lists and DAGs load without it. */
let plotlyLoading = null;
function loadPlotly() {
  if (window.Plotly) return Promise.resolve();
  if (!plotlyLoading) {
    plotlyLoading = new Promise((resolve, reject) => {
      const script = el("script", { src: document.querySelector('meta[name="plotly-src"]').content });
      script.onload = resolve; script.onerror = reject;
      document.head.append(script);
    });
  }
  return plotlyLoading;
}

function plot(parent, traces, layout, attrs) {
  const div = el("div", Object.assign({ class: "chart" }, attrs || {}));
  parent.append(div);
  loadPlotly().then(() => {
    Plotly.newPlot(div, traces, Object.assign({ margin: { t: 40, r: 20, b: 50, l: 60 }, height: 340 }, layout), PLOT_CONFIG);
    div.setAttribute("data-drawn", "1");
  });
  return div;
}

const CURVE_KIND = {
  ROC_EVALUATION: "ROC", KS_EVALUATION: "K-S", LIFT_EVALUATION: "Lift", GAIN_EVALUATION: "Gain",
  PRECISION_BINARY_EVALUATION: "Precision Recall", RECALL_BINARY_EVALUATION: "Precision Recall",
  ACCURACY_EVALUATION: "Accuracy",
};

const CURVE_ORDER = ["ROC", "K-S", "Lift", "Gain", "Precision Recall", "Accuracy"];

/* Render /v1/tracking/component/metric/all's data: {namespace: {metric: {data, meta}}}. */
function renderMetrics(parent, all) {
  if (!all || !Object.keys(all).length) { parent.append(el("p", { class: "muted" }, "No metrics.")); return; }
  for (const [namespace, metrics] of Object.entries(all)) {
    const box = el("div", { class: "namespace", "data-namespace": namespace }, el("h3", {}, namespace));
    parent.append(box);
    const summary = summaryValues(metrics);
    const curves = {}, others = [];
    for (const [name, metric] of Object.entries(metrics)) {
      const type = (metric.meta || {}).metric_type || "";
      if (CURVE_KIND[type]) (curves[CURVE_KIND[type]] = curves[CURVE_KIND[type]] || []).push([name, metric]);
      else if (type === "EVALUATION_SUMMARY") renderOneMetric(box, name, metric, type);
      else others.push([name, metric, type]);
    }
    for (const kind of CURVE_ORDER) if (curves[kind]) renderCurves(box, kind, curves[kind], summary);
    for (const [name, metric, type] of others) renderOneMetric(box, name, metric, type);
  }
}

function summaryValues(metrics) {
  const out = {};
  for (const metric of Object.values(metrics)) {
    if ((metric.meta || {}).metric_type === "EVALUATION_SUMMARY") for (const [k, v] of metric.data) out[k] = v;
  }
  return out;
}

function renderOneMetric(box, name, metric, type) {
  const data = metric.data || [];
  if (type === "LOSS" || /loss/i.test(name)) {
    plot(box, [{ x: data.map(p => p[0]), y: data.map(p => p[1]), mode: "lines+markers", name }],
         { title: { text: `Loss (${name})` }, xaxis: { title: { text: (metric.meta || {}).unit_name || "iters" } } },
         { "data-metric": name, "data-kind": "loss" });
  } else if (type === "EVALUATION_SUMMARY") {
    box.append(el("h4", {}, `Summary: ${name}`), dataTable(["metric", "value"], data, { class: "summary", "data-metric": name }));
  } else if (type === "CONFUSION_MAT") {
    box.append(el("details", {}, el("summary", {}, `Confusion matrix: ${name}`), confusionTable(metric.meta)));
  } else {
    box.append(el("h4", {}, `${name} ${type ? "(" + type + ")" : ""}`), dataTable(["key", "value"], data, { "data-metric": name }));
    const extra = Object.assign({}, metric.meta || {});
    delete extra.name; delete extra.metric_type;
    if (Object.keys(extra).length) box.append(el("pre", { class: "conf" }, JSON.stringify(extra, null, 1).slice(0, 20000)));
  }
}

function confusionTable(meta) {
  const t = meta.thresholds || [];
  const rows = t.map((th, i) => [th, meta.tp[i], meta.fp[i], meta.tn[i], meta.fn[i]]);
  return dataTable(["threshold", "TP", "FP", "TN", "FN"], rows, { class: "confusion" });
}

function renderCurves(box, kind, list, summary) {
  const traces = list.map(([name, m]) => ({ x: m.data.map(p => p[0]), y: m.data.map(p => p[1]), mode: "lines",
                                            name: (m.meta || {}).curve_name && kind === "K-S" ? name : name }));
  const attrs = { "data-kind": kind };
  const head = el("h4", {}, kind);
  if (kind === "ROC" && summary.auc !== undefined) {
    head.append(" ", el("span", { class: "auc-label", "data-auc": String(summary.auc) }, `AUC = ${summary.auc}`));
    traces.push({ x: [0, 1], y: [0, 1], mode: "lines", line: { dash: "dot", color: "#aaa" }, name: "random" });
  }
  if (kind === "K-S" && summary.ks !== undefined) head.append(" ", el("span", { class: "ks-label" }, `KS = ${summary.ks}`));
  box.append(head);
  plot(box, traces, { title: { text: kind } }, attrs);
}

/* The component's model summary: LR weights, binning IV/WOE, selection, tree models, else the raw JSON. */
function renderModel(parent, answer, site = "") {
  const data = answer.data || {}, meta = answer.meta || {};
  parent.append(el("p", {}, `module: ${meta.module_name || "-"}`));
  if (data.weight) renderWeights(parent, data);
  if (data.binning_result) renderBinning(parent, data.binning_result.binning_result || {});
  if (data.final_left_cols) renderSelection(parent, data.final_left_cols.left_cols || {});
  const importance = data.feature_importances || data.featureImportances;
  const names = { site, columns: data.feature_name_fid_mapping || {} };
  if (importance) renderImportance(parent, importance, names);
  const trees = data.trees_ || data.trees;
  if (Array.isArray(trees)) renderTrees(parent, trees, names);
  if (Array.isArray(data.local_corr) && Array.isArray(data.shapes)) renderCorrelation(parent, data);
  parent.append(el("details", {}, el("summary", {}, "Raw model"),
                   el("pre", { class: "conf" }, JSON.stringify(data, null, 1).slice(0, 200000))));
}

/* HeteroPearson: the guest x host matrix (the other party's names anonymous) and this party's own. */
function renderCorrelation(parent, data) {
  const rowsOf = (flat, width) => Array.from({ length: flat.length / width }, (_, i) => flat.slice(i * width, (i + 1) * width));
  const heatmap = (kind, title, flat, xs, ys) => plot(parent, [{ type: "heatmap", z: rowsOf(flat, xs.length), x: xs, y: ys,
    zmin: -1, zmax: 1, colorscale: "RdBu" }], { title: { text: title } }, { "data-kind": kind });
  const names = (data.all_names || []).map(n => n.names || []);
  if (Array.isArray(data.corr) && data.shapes.length === 2 && names.length === 2) {
    heatmap("corr", "Pearson correlation, guest x host", data.corr, names[1], names[0]);
  }
  heatmap("local-corr", `Pearson correlation of ${data.party || "this party"}`, data.local_corr, data.names || [], data.names || []);
}

function renderWeights(parent, data) {
  const rows = Object.entries(data.weight).sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
  if (data.intercept !== undefined) rows.push(["intercept", data.intercept]);
  parent.append(el("h4", {}, "Weights"), dataTable(["feature", "weight"], rows, { class: "weights" }));
}

function renderBinning(parent, results) {
  const cols = Object.keys(results);
  plot(parent, [{ type: "bar", x: cols, y: cols.map(c => results[c].iv) }], { title: { text: "IV per feature" } }, { "data-kind": "iv" });
  const select = el("select", { class: "woe-feature" }, cols.map(c => el("option", { value: c }, c)));
  const target = el("div");
  const draw = () => {
    const r = results[select.value] || {};
    target.replaceChildren();
    plot(target, [{ type: "bar", x: (r.woe_array || []).map((_, i) => `bin ${i}`), y: r.woe_array || [] }],
         { title: { text: `WOE of ${select.value}` } }, { "data-kind": "woe" });
  };
  select.addEventListener("change", draw);
  parent.append(el("label", {}, "WOE of ", select), target);
  if (cols.length) draw();
}

function renderSelection(parent, left) {
  const rows = Object.entries(left).map(([c, kept]) => [c, kept ? "kept" : "dropped"]);
  parent.append(el("h4", {}, `Selection: ${rows.filter(r => r[1] === "kept").length} kept of ${rows.length}`),
                dataTable(["feature", "result"], rows, { class: "selection" }));
}

/* A tree feature's label: its column name when the viewing party (names.site) owns it, else
   "<sitename> feature <fid>": a hetero guest knows a host's splits only by party and feature index. */
function featureLabel(node, names) {
  const fid = node.fid ?? node.feature;
  if (node.fullname || node.name) return node.fullname || node.name;
  const own = !node.sitename || node.sitename === names.site;
  return (own && names.columns[String(fid)]) || (node.sitename ? `${node.sitename} feature ${fid}` : String(fid));
}

function renderImportance(parent, importance, names = { site: "", columns: {} }) {
  const pairs = Array.isArray(importance)
    ? importance.map(f => [featureLabel(f, names), f.importance || f.gain || 0])
    : Object.entries(importance);
  pairs.sort((a, b) => b[1] - a[1]);
  plot(parent, [{ type: "bar", orientation: "h", y: pairs.map(p => p[0]).reverse(), x: pairs.map(p => p[1]).reverse() }],
       { title: { text: "Feature importance" } }, { "data-kind": "importance" });
}

/* Trees as nested lists: a node is {id, fid|feature, bid|split, weight, left_nodeid|left, right_nodeid|right, is_leaf}. */
function renderTrees(parent, trees, names = { site: "", columns: {} }) {
  const select = el("select", { class: "tree-index" }, trees.map((_, i) => el("option", { value: i }, `tree ${i}`)));
  const target = el("div", { class: "tree" });
  const draw = () => {
    const tree = trees[Number(select.value)] || {};
    const nodes = tree.tree_ || tree.nodes || (Array.isArray(tree) ? tree : []);
    const byId = {};
    nodes.forEach((n, i) => { byId[n.id !== undefined ? n.id : i] = n; });
    const item = (node, depth) => {
      if (!node || depth > 64) return null;
      const leaf = node.is_leaf || node.isLeaf;
      const text = leaf ? `leaf: weight ${node.weight}` : `${featureLabel(node, names)} <= bin ${node.split ?? node.bid}`;
      const kids = leaf ? [] : [node.left_nodeid ?? node.left, node.right_nodeid ?? node.right].map(id => item(byId[id], depth + 1));
      return el("li", {}, text, kids.some(k => k) ? el("ul", {}, kids) : null);
    };
    target.replaceChildren(el("ul", {}, item(nodes[0], 0)));
  };
  select.addEventListener("change", draw);
  parent.append(el("h4", {}, `Trees (${trees.length})`), select, target);
  if (trees.length) draw();
}
