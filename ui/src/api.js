// The service's JSON API, as a script would use it, with the session's CSRF token on every
// request that changes something (docs/dashboard.md).

let csrf = null;
let authLost = null;
let role = 'admin';

export function setCsrf(token) {
  csrf = token;
}

// The caller's role, from /api/session: the views hide what it cannot use (the service refuses
// it all the same). Roles are ordered agent < analyst < supervisor < admin.
const RANK = { agent: 1, analyst: 2, supervisor: 3, admin: 4 };
export function setRole(r) {
  role = r && RANK[r] ? r : 'admin';
}
export function can(least) {
  return RANK[role] >= RANK[least];
}

// Called with the error when the service answers 401 (the session expired or was refused).
export function onAuthLost(fn) {
  authLost = fn;
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// GETs started before the page has drawn anything (the session, the data of the view the URL
// opens): the first api() call for the same path takes the answer, when it is a success;
// anything else is asked again by that call, as if never fetched early.
const early = new Map();

export function prefetch(path) {
  if (!early.has(path))
    early.set(path, fetch(path, { headers: { Accept: 'application/json' }, credentials: 'same-origin' }).catch(() => null));
}

export async function api(path, { method = 'GET', body, signal } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  let r = null;
  if (method === 'GET' && early.has(path)) {
    const p = early.get(path);
    early.delete(path);
    r = await p;
    if (signal && signal.aborted) throw new DOMException('aborted', 'AbortError');
    if (r && !r.ok) r = null;
  }
  if (!r) {
    try {
      r = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
        signal,
      });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new ApiError(0, 'unreachable', 'the service cannot be reached');
    }
  }
  const type = r.headers.get('content-type') || '';
  const data = type.includes('json') ? await r.json().catch(() => null) : null;
  if (!r.ok) {
    const e = new ApiError(r.status, (data && data.code) || `http_${r.status}`,
      (data && data.error) || r.statusText || `HTTP ${r.status}`);
    if (r.status === 401 && authLost) authLost(e);
    throw e;
  }
  return data;
}

// A path with query arguments; empty, null and undefined values are left out.
export function withQuery(path, args) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(args || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export const enc = encodeURIComponent;
