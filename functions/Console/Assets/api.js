// Calls to the pipeline's API, with the key from this tab's sessionStorage as x-functions-key.
// The API lives beside the dashboard: /api/dashboard/ → /api/… (whatever the route prefix).
const KEY = 'sensorpipeline.key';
const base = new URL('../', document.baseURI);

export class Unauthorized extends Error {}
export class NeedsAdmin extends Error {}

export function currentKey() { return sessionStorage.getItem(KEY) ?? ''; }
export function saveKey(key) { sessionStorage.setItem(KEY, key); }
export function forgetKey() { sessionStorage.removeItem(KEY); }

/** GET (or another method with admin: true for the master-key actions) → the JSON body. */
export async function api(path, { method = 'GET', body, admin = false, signal } = {}) {
  const headers = { Accept: 'application/json' };
  const key = currentKey();
  if (key) headers['x-functions-key'] = key;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(new URL(path, base), {
    method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store',
  });
  if (response.status === 401) {
    throw admin ? new NeedsAdmin('This needs the master key.') : new Unauthorized('The key was refused.');
  }
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) {
    throw new Error(json?.detail ?? json?.title ?? `${response.status} ${response.statusText}`);
  }
  return json;
}

/** Runs fn now and every intervalMs until stopped; a failure is shown, not fatal. */
export function poll(fn, intervalMs, onError) {
  let stopped = false;
  let timer;
  const tick = async () => {
    try { await fn(); } catch (e) { if (!stopped) onError(e); }
    if (!stopped) timer = setTimeout(tick, intervalMs);
  };
  tick();
  return () => { stopped = true; clearTimeout(timer); };
}
