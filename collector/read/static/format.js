// Numbers and labels as people read them. Everything here returns text, for textContent.
const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });
const plain = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

export const LABELS = {
  visitors: 'Unique visitors', visits: 'Visits', pageviews: 'Pageviews', views_per_visit: 'Views per visit',
  bounce_rate: 'Bounce rate', visit_duration: 'Visit duration', events: 'Events', percentage: '%',
  conversion_rate: 'Conversion rate', scroll_depth: 'Scroll depth', p75: 'p75', samples: 'Samples',
  visitor_share: 'Share of visitors', rows: 'Rows folded', grants: 'Grants', refusals: 'Refusals and withdrawals',
};

export function duration(seconds) {
  const s = Math.round(Number(seconds) || 0);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m ${s % 60}s` : `${Math.floor(m / 60)}h ${m % 60}m`;
}

export function metric(name, value) {
  if (value === null || value === undefined) return '–';
  if (['bounce_rate', 'percentage', 'conversion_rate', 'scroll_depth', 'visitor_share'].includes(name)) {
    return `${plain.format(value)}%`;
  }
  if (name === 'visit_duration') return duration(value);
  return Number(value) >= 10000 ? compact.format(value) : plain.format(value);
}

// A change against the comparison period as the stats API states it (percent, or points for rates).
export function change(name, value) {
  if (value === null || value === undefined) return '';
  const sign = value > 0 ? '+' : '';
  return `${sign}${plain.format(value)}${name === 'bounce_rate' ? ' pts' : '%'}`;
}

// A dimension value for display: an empty value is "(none)"; the text is shown as it is, never as HTML.
export const label = (value) => (value === '' || value === null || value === undefined ? '(none)' : String(value));
