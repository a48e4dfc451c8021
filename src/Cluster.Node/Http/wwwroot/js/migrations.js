// The migrations table with progress bars, and a live chart per migration built from the page's one-second polls of
// /api/migrations: per pre-copy round the dirty rate against the transfer rate and the bytes still to send, and the
// final pause once it is known.
"use strict";
import { $, el, row, bar, bytes, ms } from "./dom.js";
import { lineChart } from "./charts.js";

export const done = s => s === "Completed" || s === "Failed" || s === "Cancelled";

export function progress(m) {
  if (m.state === "Completed") return 1;
  if (m.state === "Preparing" || !m.memoryBytes) return 0;
  return 1 - Math.max(0, m.remainingBytes) / m.memoryBytes;
}

const traces = new Map();

/** Records the latest figures of each migration per round (the last poll of a round stands for it). */
function trace(migrations) {
  for (const m of migrations) {
    let t = traces.get(m.migrationId);
    if (!t) { t = { vmId: m.vmId, rounds: new Map() }; traces.set(m.migrationId, t); }
    if (m.state !== "Preparing")
      t.rounds.set(m.round, { dirty: m.dirtyBytesPerSecond, transfer: m.transferBytesPerSecond, remaining: Math.max(0, m.remainingBytes) });
    t.last = m;
  }
  const known = new Set(migrations.map(m => m.migrationId));
  for (const id of traces.keys()) if (!known.has(id)) traces.delete(id);
}

function chart(id, t) {
  const rounds = [...t.rounds.keys()].sort((a, b) => a - b), m = t.last;
  const box = el("div"); box.dataset.migration = id;
  const pause = m.downtimeMs != null ? `, final pause ${ms(m.downtimeMs)}` : "";
  box.appendChild(lineChart(`${m.vmId} ${m.source} → ${m.target}: rates per round (${m.state}${pause})`, rounds, [
    { name: "dirty rate", values: rounds.map(r => t.rounds.get(r).dirty), color: "#d9534f" },
    { name: "transfer rate", values: rounds.map(r => t.rounds.get(r).transfer), color: "#3a7bd5" },
  ], { format: v => bytes(v) + "/s", xLabel: r => "round " + r }));
  const lastRound = rounds[rounds.length - 1], pages = Math.ceil(t.rounds.get(lastRound).remaining / 4096);
  box.appendChild(lineChart(`${m.vmId}: still to send per round (${pages} pages after round ${lastRound})`, rounds, [
    { name: "remaining", values: rounds.map(r => t.rounds.get(r).remaining), color: "#f0ad4e" },
  ], { format: bytes, xLabel: r => "round " + r }));
  return box;
}

export function renderMigrations(list) {
  const migrations = list ? list.migrations : [];
  trace(migrations);
  $("migrations").replaceChildren(...migrations.map(m => {
    const cause = m.cause ? `${m.cause.trigger.toLowerCase()}: ${m.cause.summary}` : "";
    const tr = done(m.state)
      ? row([m.vmId, m.source + " → " + m.target, m.state, String(m.round), bar(progress(m), undefined, Infinity), "", "", "", "", "",
          m.state === "Completed" ? "downtime " + ms(m.downtimeMs) + ", total " + ms(m.totalMs) + ", " + bytes(m.wireBytes) + " sent" : (m.failureReason || "")])
      : row([m.vmId, m.source + " → " + m.target, m.state, String(m.round), bar(progress(m), undefined, Infinity), bytes(m.remainingBytes),
          bytes(m.transferBytesPerSecond) + "/s", bytes(m.dirtyBytesPerSecond) + "/s", ms(m.etaMs), m.throttlePercent + "%", cause]);
    tr.dataset.migration = m.migrationId; tr.dataset.state = m.state; return tr;
  }));
  const live = [...traces.entries()].filter(([, t]) => t.rounds.size > 0).slice(-4);
  $("migration-charts").replaceChildren(...live.map(([id, t]) => chart(id, t)));
}
