// Pictures of the last hour from the node's history (GET /api/v1/history?host=H or ?vm=ID, one sample every 10 s),
// and the cluster-wide event feed (GET /api/v1/events?after=N).
"use strict";
import { API_V1, get, Unauthenticated } from "./api.js";
import { $, el, bytes } from "./dom.js";
import { lineChart, clock } from "./charts.js";

let target = null;

/** Shows the graphs of a host or a VM (kind "host" or "vm") and keeps them fresh. */
export function showGraphs(kind, id) {
  target = { kind, id };
  $("graphs").hidden = false;
  $("graphs-title").textContent = `${kind === "host" ? "host" : "VM"} ${id}: the last hour`;
  $("graphs-body").replaceChildren(el("span", "loading…", "muted"));
  return refreshGraphs();
}

export function closeGraphs() { target = null; $("graphs").hidden = true; }

const rate = v => bytes(v) + "/s";
const io = h => [
  lineChart("disk (bytes per second)", h.at, [{ name: "read", values: h.series.diskRead }, { name: "write", values: h.series.diskWrite }], { format: rate, xLabel: clock }),
  lineChart("network (bytes per second)", h.at, [{ name: "received", values: h.series.netRx }, { name: "sent", values: h.series.netTx }], { format: rate, xLabel: clock }),
];

const charts = {
  host: h => [
    lineChart("CPU (guest CPU seconds per second)", h.at, [{ name: "load", values: h.series.cpu }, { name: "vCPUs", values: h.series.vcpus, color: "#aaa" }], { xLabel: clock }),
    lineChart("memory", h.at, [{ name: "in use", values: h.series.memoryInUse }, { name: "capacity", values: h.series.memoryCapacity, color: "#aaa" }], { format: bytes, xLabel: clock }),
    lineChart("VMs", h.at, [{ name: "placed", values: h.series.vms }, { name: "running", values: h.series.runningVms }], { format: v => v.toFixed(0), xLabel: clock }),
    ...io(h),
  ],
  vm: h => [
    lineChart("CPU (CPU seconds per second)", h.at, [{ name: "load", values: h.series.cpu }], { xLabel: clock }),
    lineChart("memory", h.at, [{ name: "in use", values: h.series.memoryInUse }, { name: "size", values: h.series.memory, color: "#aaa" }], { format: bytes, xLabel: clock }),
    ...io(h),
  ],
};

export async function refreshGraphs() {
  if (!target) return;
  const { kind, id } = target;
  try {
    const h = await get(`${API_V1}/history?${kind}=${encodeURIComponent(id)}`);
    if (!target || target.id !== id) return;
    const note = el("p", h.at.length ? `${h.at.length} sample${h.at.length === 1 ? "" : "s"}, one every ${h.intervalSeconds} s` : "no samples yet: the node samples every " + h.intervalSeconds + " s", "muted");
    $("graphs-body").replaceChildren(note, ...charts[kind](h));
    if (!h.at.length) setTimeout(refreshGraphs, 2000);
  } catch (e) {
    if (e instanceof Unauthenticated) throw e;
    $("graphs-body").replaceChildren(el("span", e.message, "err"));
  }
}

let after = 0;

/** Fetches the events after the last one shown and prepends them to the feed. */
export async function refreshEvents() {
  const feed = await get(`${API_V1}/events?after=${after}`);
  const list = $("events");
  for (const e of feed.events) {
    const li = el("li"); li.dataset.kind = e.kind; li.dataset.seq = e.seq;
    li.appendChild(el("span", new Date(e.at).toLocaleTimeString() + " ", "muted"));
    li.appendChild(el("span", e.kind, "kind"));
    li.appendChild(document.createTextNode(e.text));
    list.prepend(li);
    after = Math.max(after, e.seq);
  }
  while (list.children.length > 500) list.lastChild.remove();
}
