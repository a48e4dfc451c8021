// Small DOM helpers: text from the cluster is always inserted as text, never as markup.
"use strict";

export const $ = id => document.getElementById(id);

export function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

export function row(cells, cls) {
  const tr = el("tr", undefined, cls);
  for (const c of cells) { const td = el("td"); if (c instanceof Node) td.appendChild(c); else td.textContent = c ?? ""; tr.appendChild(td); }
  return tr;
}

export function button(label, onClick, attrs) {
  const b = el("button", label); b.type = "button";
  for (const [k, v] of Object.entries(attrs || {})) b.setAttribute(k, v);
  b.addEventListener("click", onClick); return b;
}

export function group(...children) { const s = el("span"); for (const c of children) if (c) s.appendChild(c); return s; }

/** A bar filled to fraction, red above hotAbove (a load; a progress passes Infinity). */
export function bar(fraction, label, hotAbove = 0.85) {
  const f = Math.max(0, Math.min(1, fraction || 0)), span = el("span"), wrap = el("span"), b = el("span", undefined, f > hotAbove ? "bar hot" : "bar");
  span.style.width = (f * 100).toFixed(1) + "%"; b.appendChild(span); wrap.appendChild(b);
  wrap.appendChild(document.createTextNode(" " + (label ?? Math.round(f * 100) + "%"))); return wrap;
}

export function bytes(n) {
  if (n === null || n === undefined || n < 0 || Number.isNaN(n)) return "-";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n.toFixed(0)) + " " + u[i];
}

export function ms(n) { if (n === null || n === undefined || n < 0) return "-"; return n < 1000 ? n.toFixed(0) + " ms" : (n / 1000).toFixed(1) + " s"; }

/** Shows a notice above the views: kind "err" for the API's refusals, "ok" for accepted actions. Kept for 15 s. */
export function notice(text, kind) {
  const d = el("div", text, kind); $("notices").prepend(d);
  setTimeout(() => d.remove(), 15000);
  while ($("notices").children.length > 5) $("notices").lastChild.remove();
}

/**
 * Asks the operator to confirm: resolves true on "yes". extra (a node) goes into the dialog, for choices such as the
 * migration's target.
 */
export function confirmAction(text, extra) {
  const dialog = $("confirm");
  $("confirm-text").textContent = text;
  $("confirm-extra").replaceChildren(...(extra ? [extra] : []));
  return new Promise(resolve => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}
