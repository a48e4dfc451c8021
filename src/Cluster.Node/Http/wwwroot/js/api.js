// The API the page talks to: one prefix for the JSON routes, the bearer token, and requests that turn the API's
// error answers ({"error", "message"}) into exceptions carrying the message, for the page to show.
"use strict";

/** The prefix of the JSON control routes (the versioned API; /api is its unversioned alias). */
export const API = "/api/v1";
/** The prefix of the routes that exist only under /api/v1 (history, events, the console's WebSocket). */
export const API_V1 = "/api/v1";

const tokenKey = "cluster-token";

/** Takes a token from the URL's fragment (#token=...) into this tab's sessionStorage and removes it from the address bar. */
export function adoptFragmentToken() {
  const fragment = location.hash.match(/^#token=([A-Za-z0-9_-]+)$/);
  if (fragment) { sessionStorage.setItem(tokenKey, fragment[1]); history.replaceState(null, "", location.pathname + location.search); }
}
export const token = () => sessionStorage.getItem(tokenKey);
export const setToken = t => sessionStorage.setItem(tokenKey, t);
export const forgetToken = () => sessionStorage.removeItem(tokenKey);

/** The token was missing or refused (401): the page asks for another. */
export class Unauthenticated extends Error {}

/** The API refused or failed a request; the message is the API's own. */
export class ApiError extends Error {
  constructor(status, error, message) { super(message); this.status = status; this.error = error; }
}

async function send(method, path, body) {
  const headers = { "Authorization": "Bearer " + token() };
  const init = { method, cache: "no-store", headers };
  if (method !== "GET") { headers["Content-Type"] = "application/json"; init.body = body === undefined ? "" : JSON.stringify(body); }
  const r = await fetch(path, init);
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (r.status === 401) throw new Unauthenticated((json && json.message) || "the token was not accepted");
  if (!r.ok) throw new ApiError(r.status, json && json.error, (json && json.message) || (r.status + " " + r.statusText));
  return json;
}

/** GET path; the parsed JSON answer. */
export const get = path => send("GET", path);
/** POST path with a JSON body (an empty one when body is undefined). */
export const post = (path, body) => send("POST", path, body);
/** DELETE path. */
export const del = path => send("DELETE", path);
