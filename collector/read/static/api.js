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

// A stats API v2 query (POST /api/stats/query, through the dashboard's session door).
export const query = (body) => post('/dashboard/api/query', body);

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
