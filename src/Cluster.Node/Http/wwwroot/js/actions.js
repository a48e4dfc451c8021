// What the operator can do from the page: each action asks for confirmation, sends one request, and shows the API's
// answer (its message when it refuses). After an accepted action the next refresh shows the new state.
"use strict";
import { API, post, Unauthenticated } from "./api.js";
import { el, notice, confirmAction } from "./dom.js";

async function act(question, label, send, extra) {
  if (!await confirmAction(question, extra)) return false;
  try {
    await send();
    notice(label + ": accepted", "ok");
    return true;
  } catch (e) {
    if (e instanceof Unauthenticated) throw e;
    notice(label + ": " + e.message, "err");
    return false;
  }
}

const vmPath = (id, tail) => `${API}/vms/${encodeURIComponent(id)}/${tail}`;
const hostPath = (host, tail) => `${API}/hosts/${encodeURIComponent(host)}/${tail}`;

export const startVm = id => act(`Start VM ${id}?`, `start ${id}`, () => post(vmPath(id, "start")));
export const stopVm = id => act(`Stop VM ${id} (graceful)?`, `stop ${id}`, () => post(vmPath(id, "stop")));
export const drainHost = host => act(`Drain host ${host}? Its VMs migrate to other hosts and nothing new is placed on it.`, `drain ${host}`, () => post(hostPath(host, "drain")));
export const undrainHost = host => act(`Undrain host ${host}? It takes VMs again.`, `undrain ${host}`, () => post(hostPath(host, "undrain")));

/** Migrates a VM: the dialog offers the other hosts as targets. */
export function migrateVm(id, from, hosts) {
  const select = el("select"); select.id = "migrate-target";
  for (const h of hosts.filter(h => h !== from)) { const o = el("option", h); o.value = h; select.appendChild(o); }
  const label = el("label", "to "); label.appendChild(select);
  if (!select.options.length) { notice(`migrate ${id}: there is no other host`, "err"); return Promise.resolve(false); }
  return act(`Migrate VM ${id} live from ${from}?`, `migrate ${id}`, () => post(vmPath(id, "migrate"), { to: select.value }), label);
}

/** Creates a VM from the create form's fields. */
export function createVm(form) {
  const f = new FormData(form), id = String(f.get("id")).trim();
  const spec = { id, image: String(f.get("image")).trim(), vcpus: Number(f.get("vcpus")), memory: String(f.get("memory")).trim(), start: f.get("start") === "on" };
  return act(`Create VM ${id} (${spec.vcpus} vCPU, ${spec.memory}, image ${spec.image})${spec.start ? " and start it" : ""}?`, `create ${id}`, () => post(`${API}/vms`, spec));
}
