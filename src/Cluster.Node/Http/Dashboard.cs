namespace Cluster.Node.Http;

/// <summary>
/// The live HTML page served at GET /: self-contained (no external assets), it polls /api/hosts, /api/vms,
/// /api/migrations and /api/rebalance every second and shows the rebalancer, each host with its load bar and
/// VMs, and the migrations with progress bars. Text from the cluster is inserted as text, never as markup.
/// </summary>
public static class Dashboard
{
    public const string Html =
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>cluster hypervisor</title>
        <style>
          body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
          h1 { font-size: 1.3em; margin: 0 0 .3em; } h2 { font-size: 1.1em; margin: 1.2em 0 .3em; }
          table { border-collapse: collapse; } td, th { padding: .15em .8em .15em 0; text-align: left; vertical-align: top; }
          th { font-weight: 600; border-bottom: 1px solid #ccc; }
          .bar { display: inline-block; width: 140px; height: .8em; background: #e6e6e6; vertical-align: middle; }
          .bar > span { display: block; height: 100%; background: #3a7bd5; }
          .bar.hot > span { background: #d9534f; }
          .vm td:first-child { padding-left: 1.5em; }
          .muted { color: #888; } .warn { color: #b00; font-weight: 600; } .err { color: #b00; }
          code { font-size: 13px; }
        </style>
        </head>
        <body>
        <h1>cluster hypervisor</h1>
        <div id="updated" class="muted">connecting…</div>
        <div id="rebalance"></div>
        <h2>hosts and VMs</h2>
        <table><thead><tr><th>host / VM</th><th>load / status</th><th>CPU</th><th>vCPUs</th><th>memory</th><th>note</th></tr></thead>
        <tbody id="hosts"></tbody></table>
        <h2>migrations</h2>
        <table><thead><tr><th>VM</th><th>from → to</th><th>state</th><th>round</th><th>progress</th><th>remaining</th><th>rate</th>
        <th>dirty</th><th>ETA</th><th>throttle</th><th>result</th></tr></thead><tbody id="migrations"></tbody></table>
        <div id="errors" class="err"></div>
        <script>
        "use strict";
        const $ = id => document.getElementById(id);
        function el(tag, text, cls) { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }
        function row(cells, cls) { const tr = el("tr", undefined, cls); for (const c of cells) { const td = el("td"); if (c instanceof Node) td.appendChild(c); else td.textContent = c; tr.appendChild(td); } return tr; }
        function bar(fraction, label) {
          const f = Math.max(0, Math.min(1, fraction || 0)), span = el("span"), wrap = el("span"), b = el("span", undefined, f > 0.85 ? "bar hot" : "bar");
          span.style.width = (f * 100).toFixed(1) + "%"; b.appendChild(span); wrap.appendChild(b); wrap.appendChild(document.createTextNode(" " + (label ?? Math.round(f * 100) + "%"))); return wrap;
        }
        function bytes(n) { if (n === null || n === undefined || n < 0) return "-"; const u = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0; while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; } return (i ? n.toFixed(1) : n.toFixed(0)) + " " + u[i]; }
        function ms(n) { if (n === null || n === undefined || n < 0) return "-"; return n < 1000 ? n.toFixed(0) + " ms" : (n / 1000).toFixed(1) + " s"; }
        function progress(m) { if (m.state === "Completed") return 1; if (m.state === "Preparing" || !m.memoryBytes) return 0; return 1 - Math.max(0, m.remainingBytes) / m.memoryBytes; }
        const done = s => s === "Completed" || s === "Failed" || s === "Cancelled";
        async function get(path) { const r = await fetch(path, { cache: "no-store" }); const body = await r.json(); if (!r.ok) throw new Error(path + ": " + (body.message || r.status)); return body; }
        async function refresh() {
          const names = ["/api/hosts", "/api/vms", "/api/migrations", "/api/rebalance"];
          const got = await Promise.allSettled(names.map(get));
          const [hosts, vms, migrations, rebalance] = got.map(g => g.status === "fulfilled" ? g.value : null);
          $("errors").replaceChildren(...got.filter(g => g.status === "rejected").map(g => el("div", String(g.reason.message || g.reason))));
          $("updated").textContent = "updated " + new Date().toLocaleTimeString();
          const rb = $("rebalance");
          if (rebalance) rb.textContent = "rebalancer: " + rebalance.mode.toLowerCase() + ", imbalance " + rebalance.imbalance.toFixed(3) +
            " (threshold " + rebalance.threshold.toFixed(3) + "), " + rebalance.inFlight.length + " of its moves in flight, " + rebalance.movesMade + " made";
          else rb.textContent = "rebalancer: not answering";
          const byId = new Map((vms ? vms.vms : []).map(v => [v.spec.id, v]));
          const moving = new Map((migrations ? migrations.migrations : []).filter(m => !done(m.state)).map(m => [m.vmId, m]));
          const balance = new Map((rebalance ? rebalance.hosts : []).map(h => [h.host, h]));
          const rows = [];
          for (const h of hosts ? hosts.hosts : []) {
            const b = balance.get(h.host), load = b ? b.load : (h.vcpus ? h.guestCpuSeconds / h.vcpus : 0);
            const usedVcpus = h.vms.reduce((s, v) => s + v.vcpus, 0), usedMemory = h.vms.reduce((s, v) => s + v.memoryBytes, 0);
            rows.push(row([h.host, bar(load), h.guestCpuSeconds.toFixed(2), usedVcpus + "/" + h.vcpus, bytes(usedMemory) + " / " + bytes(h.memoryBytes),
              b && b.draining ? el("span", "DRAINING", "warn") : ""]));
            for (const v of h.vms) {
              const info = byId.get(v.vmId), m = moving.get(v.vmId), stuck = b && b.stuck[v.vmId];
              const disks = info && info.spec.disks && info.spec.disks.length
                ? "disks: " + info.spec.disks.map(d => d.path + (d.readOnly ? " (ro)" : "")).join(", ") : "";
              const note = m ? bar(progress(m), "→ " + m.target + " " + Math.round(progress(m) * 100) + "%") : stuck ? el("span", "fits nowhere: " + stuck, "warn") : disks;
              rows.push(row([v.vmId, info ? info.status : "?", v.cpuLoad.toFixed(2), String(v.vcpus), bytes(v.memoryBytes), note], "vm"));
            }
          }
          $("hosts").replaceChildren(...rows);
          $("migrations").replaceChildren(...(migrations ? migrations.migrations : []).map(m => done(m.state)
            ? row([m.vmId, m.source + " → " + m.target, m.state, String(m.round), bar(progress(m)), "", "", "", "", "",
                m.state === "Completed" ? "downtime " + ms(m.downtimeMs) + ", total " + ms(m.totalMs) + ", " + bytes(m.wireBytes) + " sent" : (m.failureReason || "")])
            : row([m.vmId, m.source + " → " + m.target, m.state, String(m.round), bar(progress(m)), bytes(m.remainingBytes),
                bytes(m.transferBytesPerSecond) + "/s", bytes(m.dirtyBytesPerSecond) + "/s", ms(m.etaMs), m.throttlePercent + "%", ""])));
        }
        async function loop() { try { await refresh(); } catch (e) { $("errors").textContent = String(e); } setTimeout(loop, 1000); }
        loop();
        </script>
        </body>
        </html>
        """;
}
