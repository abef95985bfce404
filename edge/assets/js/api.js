// Talking to the edge: JSON in and out, problem+json errors as ApiError, the session token
// (Authorization: Bearer) and the read-your-writes bookmark, both kept in sessionStorage.

const SESSION_KEY = 'roam.session';
const BOOKMARK_KEY = 'roam.bookmark';

/** An error the user should read: `message` is words, `field` names the input at fault. */
export class ApiError extends Error {
  constructor({ status = 0, title = 'Error', detail = '', field = null, requestId = null } = {}) {
    super(detail || title);
    this.name = 'ApiError';
    this.status = status;
    this.title = title;
    this.field = field;
    this.requestId = requestId;
  }
}

/** Words for a status when the body says nothing useful. */
function wordsFor(status) {
  if (status === 401) return 'You are not signed in, or your session has expired.';
  if (status === 403) return 'You are not allowed to do that.';
  if (status === 404) return 'That does not exist (any more).';
  if (status === 409) return 'That conflicts with something that changed meanwhile; refresh and try again.';
  if (status === 503) return 'That region is unavailable right now; try again in a moment.';
  if (status === 504) return 'The region took too long to answer; try again.';
  if (status >= 500) return 'Something went wrong on our side; try again.';
  return `The request failed (HTTP ${status}).`;
}

export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
  } catch {
    return null;
  }
}

export function saveSession(value) {
  if (value) sessionStorage.setItem(SESSION_KEY, JSON.stringify(value));
  else sessionStorage.removeItem(SESSION_KEY);
}

/** Parses `server-timing` (`edge;dur=1.2, origin;dur=3.4;desc="eu-west"`) into {name: ms}. */
export function parseServerTiming(header) {
  const out = {};
  for (const entry of (header || '').split(',')) {
    const [name, ...params] = entry.trim().split(';');
    if (!name) continue;
    const dur = params.map((p) => p.trim()).find((p) => p.startsWith('dur='));
    out[name.trim()] = dur ? Number.parseFloat(dur.slice(4)) : null;
  }
  return out;
}

function newKey() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  return `k-${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

/**
 * Calls the API. Resolves to {data, response, ms, timing}; rejects with ApiError only.
 * Writes carry a fresh idempotency key and store the bookmark they return; reads send it.
 */
export async function api(method, path, body) {
  const headers = { accept: 'application/json, application/problem+json' };
  const current = session();
  if (current?.token) headers.authorization = `Bearer ${current.token}`;
  const write = method !== 'GET' && method !== 'HEAD';
  if (write) headers['idempotency-key'] = newKey();
  const bookmark = sessionStorage.getItem(BOOKMARK_KEY);
  if (!write && bookmark) headers['x-roam-bookmark'] = bookmark;
  if (body !== undefined) headers['content-type'] = 'application/json';

  const started = performance.now();
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError({ title: 'Network error', detail: `Could not reach roam (${e.message}).` });
  }
  const ms = performance.now() - started;
  const timing = parseServerTiming(response.headers.get('server-timing'));
  const mark = response.headers.get('x-roam-bookmark');
  if (mark) sessionStorage.setItem(BOOKMARK_KEY, mark);

  const type = response.headers.get('content-type') || '';
  let data = null;
  if (response.status !== 204 && type.includes('json')) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const problem = data && typeof data === 'object' ? data : {};
    throw new ApiError({
      status: response.status,
      title: problem.title || response.statusText || 'Error',
      detail: problem.detail || wordsFor(response.status),
      field: problem.field || null,
      requestId: problem.request_id || response.headers.get('x-request-id'),
    });
  }
  return { data, response, ms, timing };
}

/** Where the edge thinks the user is, and the `--as` front's city choices if it runs behind one. */
export async function whereAmI() {
  const { data, response } = await api('GET', '/ping');
  const as = response.headers.get('x-roam-as');
  const choices = (response.headers.get('x-roam-as-choices') || '').split(',').filter(Boolean);
  return { pong: data || {}, as, choices };
}

/** The cities of the map as [{slug, name, region}], whatever shape the list comes in. */
export async function cities() {
  const { data } = await api('GET', '/api/v1/cities');
  const list = Array.isArray(data) ? data : data?.cities;
  if (Array.isArray(list)) {
    return list.map((c) => (typeof c === 'string' ? { slug: c, name: c, region: '' } : c));
  }
  if (data && typeof data === 'object') {
    return Object.entries(data).map(([slug, region]) => ({ slug, name: slug, region: String(region) }));
  }
  return [];
}
