// The hosts, VMs, networks and disks views, drawn from the latest answers of the API.
"use strict";
import { $, el, row, bar, bytes, button, group } from "./dom.js";
import { progress, done } from "./migrations.js";
import * as actions from "./actions.js";

/** What the views are drawn from, and the hooks for graphs and the console (set by dashboard.js). */
export const state = { hosts: null, vms: null, migrations: null, rebalance: null, showGraphs: null, openConsole: null, refresh: null };

const after = p => p.then(ok => { if (ok && state.refresh) state.refresh(); });

export function renderHosts() {
  const balance = new Map((state.rebalance ? state.rebalance.hosts : []).map(h => [h.host, h]));
  $("hosts").replaceChildren(...(state.hosts ? state.hosts.hosts : []).map(h => {
    const b = balance.get(h.host), load = b ? b.load : (h.vcpus ? h.guestCpuSeconds / h.vcpus : 0);
    const usedVcpus = h.vms.reduce((s, v) => s + v.vcpus, 0), usedMemory = h.vms.reduce((s, v) => s + v.memoryBytes, 0);
    const draining = b && b.draining;
    const tr = row([h.host, bar(load), usedVcpus + "/" + h.vcpus, bytes(usedMemory) + " / " + bytes(h.memoryBytes),
      h.runningVms + " running of " + h.vms.length, draining ? el("span", "DRAINING", "warn") : "ready",
      group(draining ? button("undrain", () => after(actions.undrainHost(h.host)), { "data-action": "undrain" })
                     : button("drain", () => after(actions.drainHost(h.host)), { "data-action": "drain" }),
            button("graphs", () => state.showGraphs("host", h.host), { "data-action": "graphs" }))]);
    tr.dataset.host = h.host; tr.dataset.draining = draining ? "true" : "false"; return tr;
  }));
}

export function renderVms() {
  const placed = new Map((state.hosts ? state.hosts.hosts : []).flatMap(h => h.vms.map(v => [v.vmId, v])));
  const moving = new Map((state.migrations ? state.migrations.migrations : []).filter(m => !done(m.state)).map(m => [m.vmId, m]));
  const stuck = Object.assign({}, ...(state.rebalance ? state.rebalance.hosts : []).map(h => h.stuck));
  const hostNames = (state.hosts ? state.hosts.hosts : []).map(h => h.host);
  $("vms").replaceChildren(...(state.vms ? state.vms.vms : []).map(info => {
    const id = info.spec.id, p = placed.get(id), m = moving.get(id);
    const note = m ? bar(progress(m), "→ " + m.target + " " + Math.round(progress(m) * 100) + "%", Infinity)
      : stuck[id] ? el("span", "fits nowhere: " + stuck[id], "warn") : info.reason;
    const running = info.status === "Running";
    const acts = group(
      running ? button("stop", () => after(actions.stopVm(id)), { "data-action": "stop" })
              : button("start", () => after(actions.startVm(id)), { "data-action": "start" }),
      running && !m ? button("migrate", () => after(actions.migrateVm(id, info.node, hostNames)), { "data-action": "migrate" }) : null,
      running ? button("console", () => state.openConsole(id), { "data-action": "console" }) : null,
      button("graphs", () => state.showGraphs("vm", id), { "data-action": "graphs" }));
    const tr = row([id, info.status, info.node, String(info.spec.vcpus),
      (p && p.memoryUsedBytes != null ? bytes(p.memoryUsedBytes) + " / " : "") + bytes(info.spec.memoryBytes),
      p ? p.cpuLoad.toFixed(2) : "", note, acts]);
    tr.dataset.vm = id; tr.dataset.status = info.status; return tr;
  }));
}

export function renderNetworks(list) {
  $("networks").replaceChildren(...(list ? list.networks : []).map(n => row([n.spec.name, String(n.spec.mode).toLowerCase(), n.spec.subnet || "-",
    n.spec.bridge || "-", n.spec.mtu ? String(n.spec.mtu) : "-",
    n.addresses.map(a => a.vmId + " " + a.mac + (a.ip ? " " + a.ip : "")).join(", ") || "-"])));
}

export function renderDisks() {
  const seen = new Map();
  for (const h of state.hosts ? state.hosts.hosts : [])
    for (const d of h.disks || []) { if (!seen.has(d.path)) seen.set(d.path, []); seen.get(d.path).push(h.host + (d.exists ? "" : " (missing)")); }
  const rows = [];
  for (const info of state.vms ? state.vms.vms : [])
    for (const d of info.spec.disks || [])
      rows.push(row([d.path, info.spec.id, d.format ? String(d.format).toLowerCase() : "probed", d.readOnly ? "read-only" : "read-write",
        (seen.get(d.path) || []).join(", ") || "-"]));
  $("disks").replaceChildren(...rows);
}
