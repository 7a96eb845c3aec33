// The top graph: visitors, visits and pageviews over time, drawn by uPlot (vendor/uplot, MIT) on a canvas,
// with the same numbers in a visually hidden table for screen readers.
import { LABELS, metric } from './format.js';
import { el } from './table.js';

const COLORS = { visitors: '#4f46e5', visits: '#0d9488', pageviews: '#d97706' };
let plot = null;

// "2026-11-28", "2026-11-28 13:00:00" or "2026-11" (UTC) to seconds since the epoch.
export function toSeconds(value) {
  const text = String(value);
  const iso = text.length === 7 ? `${text}-01` : text;
  return Date.parse(iso.length === 10 ? `${iso}T00:00:00Z` : `${iso.replace(' ', 'T')}Z`) / 1000;
}

function series(metrics, compared) {
  const out = [{}];
  for (const m of metrics) {
    out.push({ label: LABELS[m] || m, stroke: COLORS[m], width: 2, points: { show: (u) => u.data[0].length < 3 },
      value: (u, v) => metric(m, v) });
  }
  if (compared) {
    out.push({ label: `${LABELS[metrics[0]]} (compared)`, stroke: COLORS[metrics[0]], width: 1, dash: [6, 4],
      points: { show: false }, value: (u, v) => metric(metrics[0], v) });
  }
  return out;
}

const pad = (n) => String(n).padStart(2, '0');

// Every bucket of the range as the stats API names it ("2026-11-28", "2026-11-28 13:00:00", "2026-11-01"):
// a bucket without events has no row in the answer, and the graph shows it as zero.
export function buckets([from, to], grain) {
  const out = [];
  const end = new Date(`${to}T23:59:59Z`);
  const t = new Date(`${from}T00:00:00Z`);
  if (grain === 'time:month') t.setUTCDate(1);
  while (t <= end && out.length < 5000) {
    const day = `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
    if (grain === 'time:hour') { out.push(`${day} ${pad(t.getUTCHours())}:00:00`); t.setUTCHours(t.getUTCHours() + 1); }
    else if (grain === 'time:month') { out.push(day); t.setUTCMonth(t.getUTCMonth() + 1); }
    else { out.push(day); t.setUTCDate(t.getUTCDate() + 1); }
  }
  return out;
}

export function renderGraph(container, table, { metrics, rows: answered, range, grain }) {
  const byTime = new Map(answered.map((r) => [String(r.dimensions[0]), r]));
  const rows = buckets(range, grain).map((b) => byTime.get(b) || { dimensions: [b], metrics: metrics.map(() => 0) });
  const compared = answered.some((r) => r.comparison);
  const data = [rows.map((r) => toSeconds(r.dimensions[0]))];
  metrics.forEach((m, i) => data.push(rows.map((r) => r.metrics[i])));
  if (compared) data.push(rows.map((r) => (r.comparison ? r.comparison.metrics[0] : null)));
  const width = Math.max(280, container.clientWidth);
  const opts = {
    width, height: width < 600 ? 200 : 260, series: series(metrics, compared),
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
    axes: [{}, { size: 50 }],
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
  };
  if (plot) plot.destroy();
  container.replaceChildren();
  plot = new uPlot(opts, data, container);
  renderTable(table, metrics, rows);
}

// The graph's numbers as a table (screen readers; the canvas itself is an image).
function renderTable(table, metrics, rows) {
  const head = el('tr');
  head.append(el('th', '', 'Time'), ...metrics.map((m) => el('th', '', LABELS[m] || m)));
  const body = rows.map((r) => {
    const tr = el('tr');
    tr.append(el('td', '', String(r.dimensions[0])), ...r.metrics.map((v, i) => el('td', '', metric(metrics[i], v))));
    return tr;
  });
  table.replaceChildren(head, ...body);
}

export function resizeGraph(container) {
  if (plot) plot.setSize({ width: Math.max(280, container.clientWidth), height: container.clientWidth < 600 ? 200 : 260 });
}
