// The dashboard's main loop: the token, the tabs, and a refresh every second of hosts, VMs, migrations and the
// rebalancer (networks every 5 s, the event feed every 2 s, the open graphs every 10 s).
"use strict";
import { adoptFragmentToken, token, setToken, forgetToken, get, API, Unauthenticated } from "./api.js";
import { $, el } from "./dom.js";
import { state, renderHosts, renderVms, renderNetworks, renderDisks } from "./views.js";
import { renderMigrations } from "./migrations.js";
import { showGraphs, closeGraphs, refreshGraphs, refreshEvents } from "./history.js";
import { openConsole, closeConsole } from "./console.js";
import { createVm } from "./actions.js";

adoptFragmentToken();

window.addEventListener("hashchange", () => { adoptFragmentToken(); if (token()) { $("login").hidden = true; refresh(); } });

function askToken(why) { $("login").hidden = false; $("login-error").textContent = why || ""; $("token").focus(); }
$("login").addEventListener("submit", e => {
  e.preventDefault(); const t = $("token").value.trim(); if (!t) return;
  setToken(t); $("token").value = ""; $("login").hidden = true; refresh();
});

let view = "hosts";
for (const b of $("tabs").querySelectorAll("button"))
  b.addEventListener("click", () => {
    view = b.dataset.view;
    for (const o of $("tabs").querySelectorAll("button")) o.classList.toggle("on", o === b);
    for (const s of document.querySelectorAll("section.view")) s.hidden = s.id !== "view-" + view;
    slow();
  });

$("create").addEventListener("submit", e => { e.preventDefault(); createVm(e.target).then(ok => { if (ok) { e.target.reset(); refresh(); } }); });
$("graphs-close").addEventListener("click", closeGraphs);
$("console-close").addEventListener("click", closeConsole);

function denied(e) { if (!(e instanceof Unauthenticated)) return false; forgetToken(); askToken(e.message); return true; }

async function refresh() {
  if (!token()) { askToken(); return; }
  const got = await Promise.allSettled([`${API}/hosts`, `${API}/vms`, `${API}/migrations`, `${API}/rebalance`].map(get));
  const refused = got.find(g => g.status === "rejected" && g.reason instanceof Unauthenticated);
  if (refused) { denied(refused.reason); return; }
  [state.hosts, state.vms, state.migrations, state.rebalance] = got.map(g => g.status === "fulfilled" ? g.value : null);
  $("errors").replaceChildren(...got.filter(g => g.status === "rejected").map(g => el("div", String(g.reason.message || g.reason))));
  $("updated").textContent = "updated " + new Date().toLocaleTimeString();
  const rb = state.rebalance;
  $("rebalance").textContent = rb ? "rebalancer: " + rb.mode.toLowerCase() + ", imbalance " + rb.imbalance.toFixed(3) +
    " (threshold " + rb.threshold.toFixed(3) + "), " + rb.inFlight.length + " of its moves in flight, " + rb.movesMade + " made" : "rebalancer: not answering";
  renderHosts(); renderVms(); renderDisks(); renderMigrations(state.migrations);
}

async function slow() {
  if (!token()) return;
  try {
    if (view === "networks") renderNetworks(await get(`${API}/networks`));
  } catch (e) { if (!denied(e)) $("errors").appendChild(el("div", e.message)); }
}

function every(ms, work) {
  const loop = async () => { try { await work(); } catch (e) { if (!denied(e)) $("errors").appendChild(el("div", String(e.message || e))); } setTimeout(loop, ms); };
  loop();
}

state.showGraphs = showGraphs;
state.openConsole = openConsole;
state.refresh = refresh;
every(1000, refresh);
every(5000, slow);
every(2000, () => token() ? refreshEvents() : null);
every(10000, () => token() ? refreshGraphs() : null);
