/* A job's DAG in SVG: components in layers by their longest path from a source, edges upstream -> downstream. */
"use strict";

const DAG_COLOURS = {
  success: "#a5d6a7", failed: "#ef9a9a", timeout: "#ef9a9a", canceled: "#cfd8dc",
  running: "#90caf9", waiting: "#fff59d", "": "#eceff1",
};
const SVG_NS = "http://www.w3.org/2000/svg";

function svgEl(tag, attrs) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  return node;
}

/* depth of each component: 0 for sources, else 1 + the deepest upstream */
function dagLayers(names, dependencies) {
  const depth = {};
  const visit = (name, seen) => {
    if (name in depth) return depth[name];
    if (seen.has(name)) return 0;  // a cycle cannot be submitted; guard anyway
    seen.add(name);
    const ups = (dependencies[name] || []).map(d => d.component_name).filter(n => names.includes(n));
    depth[name] = ups.length ? 1 + Math.max(...ups.map(u => visit(u, seen))) : 0;
    return depth[name];
  };
  names.forEach(n => visit(n, new Set()));
  const layers = [];
  names.forEach(n => { (layers[depth[n]] = layers[depth[n]] || []).push(n); });
  return layers;
}

/* Draw into `container`; statuses maps name -> status; onSelect(name) on click. */
function drawDag(container, dag, statuses, selected, onSelect) {
  const W = 150, H = 32, GX = 30, GY = 40;
  const layers = dagLayers(dag.component_list, dag.dependencies || {});
  const widest = Math.max(1, ...layers.map(l => l.length));
  const width = widest * (W + GX) + GX, height = layers.length * (H + GY) + GY;
  const pos = {};
  layers.forEach((layer, row) => layer.forEach((name, col) => {
    const offset = (width - layer.length * (W + GX) + GX) / 2;
    pos[name] = { x: offset + col * (W + GX), y: GY / 2 + row * (H + GY) };
  }));
  const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, id: "dag-svg", style: `max-width: ${width}px` });
  const defs = svgEl("defs");
  const marker = svgEl("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto" });
  marker.appendChild(svgEl("path", { d: "M0,0 L10,5 L0,10 z", fill: "#889" }));
  defs.appendChild(marker);
  svg.appendChild(defs);
  for (const [down, ups] of Object.entries(dag.dependencies || {})) {
    for (const up of ups) {
      const a = pos[up.component_name], b = pos[down];
      if (!a || !b) continue;
      const x1 = a.x + W / 2, y1 = a.y + H, x2 = b.x + W / 2, y2 = b.y;
      svg.appendChild(svgEl("path", { class: "edge", d: `M${x1},${y1} C${x1},${y1 + GY / 2} ${x2},${y2 - GY / 2} ${x2},${y2}`,
                                      "stroke-dasharray": up.type === "model" ? "4 3" : "" }));
    }
  }
  for (const name of dag.component_list) {
    const status = statuses[name] || "";
    const g = svgEl("g", { class: "node" + (name === selected ? " selected" : ""), "data-name": name, "data-status": status });
    const rect = svgEl("rect", { x: pos[name].x, y: pos[name].y, width: W, height: H, fill: DAG_COLOURS[status] || DAG_COLOURS[""] });
    const label = svgEl("text", { x: pos[name].x + W / 2, y: pos[name].y + H / 2 + 4, "text-anchor": "middle" });
    label.textContent = name;  // textContent: a name is data, never markup
    const tip = svgEl("title");
    tip.textContent = `${name} (${dag.component_module[name] || ""}): ${status || "not started"}`;
    g.append(rect, label, tip);
    g.addEventListener("click", () => onSelect(name));
    svg.appendChild(g);
  }
  container.replaceChildren(svg);
}
