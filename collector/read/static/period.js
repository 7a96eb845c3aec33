// The period picker's state to stats API fields: date_range, the time dimension of the graph, comparison.
const GRAIN = { day: 'time:hour', '12mo': 'time:month' };

export function dateRange(state) {
  if (state.period === 'custom' && state.from && state.to) return [state.from, state.to];
  return state.period === 'custom' ? '30d' : state.period;
}

export const timeDimension = (state) => GRAIN[state.period] || 'time:day';

// include.comparison of the stats API: "previous_period" or "year_over_year", or nothing.
export function include(state) {
  return state.compare ? { comparison: state.compare } : {};
}

const PERIODS = new Set(['day', '7d', '30d', 'month', '12mo', 'custom']);
const COMPARES = new Set(['', 'previous_period', 'year_over_year']);
const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

// The dashboard's state lives in the address (so a view can be bookmarked and shared); anything that
// does not parse falls back to the default.
export function readState(params) {
  let filters = [];
  try {
    const parsed = JSON.parse(params.get('filters') || '[]');
    if (Array.isArray(parsed)) filters = parsed.filter((f) => Array.isArray(f) && f.length === 3 && Array.isArray(f[2]));
  } catch { /* a hand-edited address: no filters */ }
  const period = PERIODS.has(params.get('period')) ? params.get('period') : '30d';
  const compare = COMPARES.has(params.get('compare') || '') ? (params.get('compare') || '') : '';
  const day = (k) => (ISO_DAY.test(params.get(k) || '') ? params.get(k) : '');
  return { site: params.get('site') || '', period, compare, from: day('from'), to: day('to'), filters };
}

export function writeState(state) {
  const params = new URLSearchParams();
  if (state.site) params.set('site', state.site);
  params.set('period', state.period);
  if (state.compare) params.set('compare', state.compare);
  if (state.period === 'custom') { params.set('from', state.from); params.set('to', state.to); }
  if (state.filters.length) params.set('filters', JSON.stringify(state.filters));
  history.replaceState(null, '', `${location.pathname}?${params}`);
}
