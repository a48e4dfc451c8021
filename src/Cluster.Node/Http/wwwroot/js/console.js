// A VM's serial console in the page: xterm.js (served by the node, see vendor/xterm) on the WebSocket
// /api/v1/vms/{id}/console. A browser cannot set headers on a WebSocket, so the token goes as the subprotocol
// "bearer.TOKEN" beside "cluster-console"; the server answers with "cluster-console" alone.
"use strict";
import { API_V1, token } from "./api.js";
import { $ } from "./dom.js";

let open = null;

export function openConsole(id) {
  closeConsole();
  $("console").hidden = false;
  $("console-title").textContent = "console of " + id;
  $("console-state").textContent = "connecting…";
  const term = new Terminal({ cols: 100, rows: 24, convertEol: true, fontSize: 13 });
  term.open($("terminal"));
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}${API_V1}/vms/${encodeURIComponent(id)}/console`, ["cluster-console", "bearer." + token()]);
  socket.binaryType = "arraybuffer";
  socket.onopen = () => { $("console-state").textContent = "connected (typing goes to the guest's serial port)"; term.focus(); };
  socket.onmessage = m => term.write(typeof m.data === "string" ? m.data : new Uint8Array(m.data));
  socket.onclose = c => { $("console-state").textContent = "closed" + (c.reason ? ": " + c.reason : c.code !== 1000 ? ` (code ${c.code})` : ""); };
  const typing = term.onData(d => { if (socket.readyState === WebSocket.OPEN) socket.send(new TextEncoder().encode(d)); });
  open = { term, socket, typing };
}

export function closeConsole() {
  if (!open) return;
  open.typing.dispose(); open.socket.close(); open.term.dispose(); open = null;
  $("console").hidden = true;
}
