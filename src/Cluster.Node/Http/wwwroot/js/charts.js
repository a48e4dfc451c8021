// Line charts drawn as plain SVG: no library, nothing fetched from elsewhere.
"use strict";
import { el } from "./dom.js";

const NS = "http://www.w3.org/2000/svg";
export const COLORS = ["#3a7bd5", "#d9534f", "#4cae4c", "#f0ad4e", "#8e44ad"];

function svg(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * A chart of several series over one x axis. xs: numbers (times in ms or rounds); series: [{name, values, color?}]
 * where a null or missing value breaks the line; format turns a y value into axis text; xLabel turns an x into text.
 * Returns a div.chart holding the title, an svg (data-series lists the names, each line a polyline with data-points)
 * and a legend.
 */
export function lineChart(title, xs, series, { format = v => v.toFixed(2), xLabel = x => String(x), width = 380, height = 140 } = {}) {
  const box = el("div", undefined, "chart");
  box.appendChild(el("div", title, "title"));
  const left = 76, right = 8, top = 8, bottom = 18, w = width - left - right, h = height - top - bottom;
  const s = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title, "data-series": series.map(x => x.name).join(",") });
  const values = series.flatMap(x => x.values).filter(v => v !== null && v !== undefined && Number.isFinite(v));
  const xmin = xs.length ? Math.min(...xs) : 0, xmax = xs.length ? Math.max(...xs) : 1;
  const ymax = values.length ? Math.max(...values, 0) : 1, ymin = Math.min(0, ...values);
  const span = ymax - ymin || 1, xspan = xmax - xmin || 1;
  const X = x => left + (xs.length > 1 ? (x - xmin) / xspan * w : w / 2), Y = y => top + h - (y - ymin) / span * h;
  s.appendChild(svg("rect", { x: left, y: top, width: w, height: h, fill: "#fafafa", stroke: "#ddd" }));
  for (const [y, anchor] of [[ymax, top + 8], [ymin, top + h]])
    s.appendChild(svg("text", { x: left - 4, y: anchor, "text-anchor": "end" }, format(y)));
  if (xs.length) {
    s.appendChild(svg("text", { x: left, y: height - 4 }, xLabel(xmin)));
    s.appendChild(svg("text", { x: left + w, y: height - 4, "text-anchor": "end" }, xLabel(xmax)));
  }
  series.forEach((line, i) => {
    const color = line.color || COLORS[i % COLORS.length];
    let points = [];
    const flush = () => {
      if (points.length === 1) s.appendChild(svg("circle", { cx: points[0][0], cy: points[0][1], r: 2.5, fill: color, "data-name": line.name }));
      else if (points.length > 1) s.appendChild(svg("polyline", { points: points.map(p => p.join(",")).join(" "), fill: "none", stroke: color, "stroke-width": 1.5, "data-name": line.name, "data-points": points.length }));
      points = [];
    };
    xs.forEach((x, k) => {
      const v = line.values[k];
      if (v === null || v === undefined || !Number.isFinite(v)) flush();
      else points.push([X(x).toFixed(1), Y(v).toFixed(1)]);
    });
    flush();
  });
  box.appendChild(s);
  const legend = el("div", undefined, "legend");
  series.forEach((line, i) => {
    const item = el("span"), swatch = el("i");
    swatch.style.background = line.color || COLORS[i % COLORS.length];
    item.appendChild(swatch); item.appendChild(document.createTextNode(line.name)); legend.appendChild(item);
  });
  box.appendChild(legend);
  return box;
}

/** Clock time of a Unix time in ms, as HH:MM. */
export const clock = t => new Date(t).toTimeString().slice(0, 5);
