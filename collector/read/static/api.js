// Requests to the collector's dashboard endpoints: the session cookie goes along by itself (same origin,
// SameSite=Strict); every POST carries the page's CSRF token in a header. A 401 sends the user to log in.
const csrf = document.querySelector('meta[name="csrf-token"]')?.content || '';

export class ApiError extends Error {
  constructor(status, body) {
    super(`${body.error || status}${body.detail ? `: ${body.detail}` : ''}`);
    this.status = status;
  }
}

async function answer(response) {
  if (response.status === 401) {
    location.assign('/dashboard/login');
    throw new ApiError(401, { error: 'logged out' });
  }
  const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

export async function post(path, body) {
  return answer(await fetch(path, {
    method: 'POST', credentials: 'same-origin', body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
  }));
}

export async function get(path, params = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, typeof v === 'string' ? v : JSON.stringify(v));
  return answer(await fetch(url, { credentials: 'same-origin' }));
}

// Requests made in one turn of the page's script (a view's headline, graph, cards and realtime count) travel
// together as one POST /dashboard/api/batch: one round trip, one request on the server, which answers them
// back to back. Each caller still gets its own answer, or its own error.
let pending = null;

function flush() {
  const batch = pending;
  pending = null;
  post('/dashboard/api/batch', { items: batch.map((p) => p.item) }).then(({ answers }) => {
    batch.forEach((p, i) => {
      const a = answers[i];
      if (a.status === 200) p.resolve(a.body);
      else p.reject(new ApiError(a.status, a.body));
    });
  }, (err) => batch.forEach((p) => p.reject(err)));
}

function batched(item) {
  if (!pending) {
    pending = [];
    setTimeout(flush, 0);
  }
  return new Promise((resolve, reject) => pending.push({ item, resolve, reject }));
}

// A stats API v2 query (POST /api/stats/query, through the dashboard's session door).
export const query = (body) => batched({ query: body });

// A card answered by the dashboard queries (vitals, tiers, dropped).
export const card = (params) => batched({ card: params });

// Visitors in the last five minutes.
export const realtime = (site) => batched({ realtime: { site_id: site } });

// The URL of a card's CSV export: the same query, answered as CSV by the server (suppressed, neutralised).
export function csvUrl(body, name) {
  const url = new URL('/dashboard/export.csv', location.origin);
  url.searchParams.set('q', JSON.stringify(body));
  url.searchParams.set('name', name);
  return url.pathname + url.search;
}

// The URL of the CSV export of a card answered by the dashboard queries (vitals, tiers, sources, dropped).
export function cardCsvUrl(params) {
  const url = new URL('/dashboard/export.csv', location.origin);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, typeof v === 'string' ? v : JSON.stringify(v));
  url.searchParams.set('name', params.card);
  return url.pathname + url.search;
}
