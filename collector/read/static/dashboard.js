// The dashboard page: site and period pickers, filter chips, the top graph with the six headline numbers,
// the breakdown cards and the realtime count. State lives in the address; every number comes from the
// stats API (through /dashboard/api/*), none is computed here.
import { query, realtime as realtimeAnswer } from './api.js';
import { CARDS, mountCards, refreshCard } from './cards.js';
import { renderGraph, resizeGraph } from './chart.js';
import { change, LABELS, label, metric } from './format.js';
import { dateRange, include, readState, timeDimension, writeState } from './period.js';
import { el } from './table.js';

const HEADLINE = ['visitors', 'visits', 'pageviews', 'views_per_visit', 'bounce_rate', 'visit_duration'];
const GRAPH = ['visitors', 'visits', 'pageviews'];
const REALTIME_MS = 15000;
const $ = (id) => document.getElementById(id);

const ctx = {
  state: readState(new URLSearchParams(location.search)),
  suppressed: {},
  propKey: '',
  generation: 0,
  get dateRange() { return dateRange(this.state); },
  get filters() { return this.state.filters; },
  pick(dim, value) {
    this.state.filters = [...this.state.filters.filter((f) => f[1] !== dim), ['is', dim, [value]]];
    refresh();
  },
  refreshCard(card) { return refreshCard(card, ctx); },
};

function status(text) { $('status').textContent = text; }

function renderChips() {
  $('filters').replaceChildren(...ctx.state.filters.map((f, i) => {
    const chip = el('li', 'chip');
    const [op, dim, values] = f;
    chip.append(el('span', '', `${dim.replace(/^(visit|event):/, '')} ${op.replace('_', ' ')} ${values.map(label).join(' or ')}`));
    const x = el('button', 'remove', '×');
    x.type = 'button';
    x.setAttribute('aria-label', 'Remove filter');
    x.addEventListener('click', () => { ctx.state.filters.splice(i, 1); refresh(); });
    chip.append(x);
    return chip;
  }));
}

// The stats API (like Plausible's) answers visit metrics only for visit filters: with a page or goal
// filter, the visit-level numbers are not asked for and show as "–".
const EVENT_METRICS = ['visitors', 'pageviews'];
const eventFiltered = () => ctx.filters.some((f) => f[1].startsWith('event:'));

async function loadHeadline(generation) {
  const metrics = eventFiltered() ? EVENT_METRICS : HEADLINE;
  const answer = await query({ site_id: ctx.state.site, metrics, date_range: ctx.dateRange,
    filters: ctx.filters, include: include(ctx.state) });
  if (generation !== ctx.generation) return;
  const row = answer.results[0] || { metrics: metrics.map(() => 0) };
  $('headline').replaceChildren(...HEADLINE.map((m) => {
    const i = metrics.indexOf(m);
    const item = el('li', 'stat');
    item.dataset.metric = m;
    const delta = i < 0 ? undefined : row.comparison?.change?.[i];
    const value = el('span', 'value', i < 0 ? '–' : metric(m, row.metrics[i]));
    value.dataset.value = i < 0 ? '' : String(row.metrics[i]);
    if (i < 0) value.title = 'A visit metric: not available with a page or goal filter';
    item.append(el('span', 'name', LABELS[m]), value);
    if (delta !== undefined && delta !== null) {
      const good = m === 'bounce_rate' ? delta < 0 : delta > 0;
      item.append(el('span', `change ${delta === 0 ? '' : good ? 'up' : 'down'}`, change(m, delta)));
    }
    return item;
  }));
}

async function loadGraph(generation) {
  const metrics = eventFiltered() ? EVENT_METRICS : GRAPH;
  const answer = await query({ site_id: ctx.state.site, metrics, date_range: ctx.dateRange,
    dimensions: [timeDimension(ctx.state)], filters: ctx.filters, include: include(ctx.state),
    order_by: [[timeDimension(ctx.state), 'asc']] });
  if (generation !== ctx.generation) return;
  renderGraph($('graph'), $('graph-table'), { metrics, rows: answer.results, range: answer.query.date_range,
    grain: timeDimension(ctx.state) });
}

async function refresh() {
  const generation = ++ctx.generation;
  writeState(ctx.state);
  renderChips();
  ctx.suppressed = {};
  status('Loading…');
  document.body.classList.add('loading');
  // One round: every card asks now and the requests travel as one batch (api.js). Only the privacy card's
  // "Suppressed" tab waits, since it lists what the other cards folded.
  const privacy = CARDS.find((c) => c.id === 'privacy');
  const last = privacy.tabs[privacy.active || 0].card === 'suppressed' ? privacy : null;
  const jobs = [loadHeadline(generation), loadGraph(generation), ...CARDS.filter((c) => c !== last).map((c) => refreshCard(c, ctx))];
  const results = await Promise.allSettled(jobs);
  if (last) await refreshCard(last, ctx);
  if (generation !== ctx.generation) return;
  const failed = results.find((r) => r.status === 'rejected');
  status(failed ? String(failed.reason.message || failed.reason) : '');
  document.body.classList.remove('loading');
  document.body.dataset.loaded = String(generation);
}

async function realtime() {
  try {
    const answer = await realtimeAnswer(ctx.state.site);
    $('realtime').textContent = metric('visitors', answer.visitors);
  } catch { $('realtime').textContent = '–'; }
}

function wireControls() {
  $('period').value = ctx.state.period;
  $('compare').value = ctx.state.compare;
  $('from').value = ctx.state.from;
  $('to').value = ctx.state.to;
  $('custom').hidden = ctx.state.period !== 'custom';
  $('site').addEventListener('change', () => { ctx.state.site = $('site').value; ctx.state.filters = []; refresh(); realtime(); });
  $('period').addEventListener('change', () => {
    ctx.state.period = $('period').value;
    $('custom').hidden = ctx.state.period !== 'custom';
    if (ctx.state.period !== 'custom' || (ctx.state.from && ctx.state.to)) refresh();
  });
  $('apply').addEventListener('click', () => {
    if (!$('from').value || !$('to').value) return;
    ctx.state.from = $('from').value;
    ctx.state.to = $('to').value;
    refresh();
  });
  $('compare').addEventListener('change', () => { ctx.state.compare = $('compare').value; refresh(); });
  new ResizeObserver(() => resizeGraph($('graph'))).observe($('graph'));
}

async function main() {
  // The sites this login may read come with the page, so the first view's batch leaves at once.
  const sites = JSON.parse(document.querySelector('meta[name="sites"]')?.content || '[]');
  $('site').replaceChildren(...sites.map((s) => { const o = el('option', '', s); o.value = s; return o; }));
  if (!sites.includes(ctx.state.site)) ctx.state.site = sites[0] || '';
  $('site').value = ctx.state.site;
  wireControls();
  mountCards($('cards'), ctx);
  const first = refresh();
  realtime();  // in the same batch as the first view
  await first;
  setInterval(realtime, REALTIME_MS);
}

main().catch((err) => status(String(err.message || err)));
