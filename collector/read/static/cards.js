// The breakdown cards. Each tab is one stats API query (a dimension and its metrics); clicking a row
// filters the whole dashboard by its value; each card exports what it shows as CSV.
import { card as cardAnswer, cardCsvUrl, csvUrl, query } from './api.js';
import { el, renderTable } from './table.js';

const SOURCE_TABS = [['Sources', 'visit:source'], ['Referrers', 'visit:referrer'], ['UTM source', 'visit:utm_source'],
  ['UTM medium', 'visit:utm_medium'], ['UTM campaign', 'visit:utm_campaign'], ['UTM content', 'visit:utm_content'],
  ['UTM term', 'visit:utm_term']];

export const CARDS = [
  { id: 'sources', title: 'Sources', tabs: SOURCE_TABS.map(([label, dim]) => ({ label, dim, metrics: ['visitors'] })) },
  { id: 'pages', title: 'Pages', heatmap: true, tabs: [
    { label: 'Top pages', dim: 'event:page', metrics: ['visitors', 'pageviews'] },
    { label: 'Entry pages', dim: 'visit:entry_page', metrics: ['visitors', 'visits'] },
    { label: 'Exit pages', dim: 'visit:exit_page', metrics: ['visitors', 'visits'] }] },
  { id: 'locations', title: 'Locations', tabs: [
    { label: 'Countries', dim: 'visit:country', metrics: ['visitors'] },
    { label: 'Regions', dim: 'visit:region', metrics: ['visitors'] },
    { label: 'Cities', dim: 'visit:city', metrics: ['visitors'] }] },
  { id: 'devices', title: 'Devices', tabs: [
    { label: 'Devices', dim: 'visit:device', metrics: ['visitors'] },
    { label: 'Browsers', dim: 'visit:browser', metrics: ['visitors'] },
    { label: 'OS', dim: 'visit:os', metrics: ['visitors'] }] },
  { id: 'goals', title: 'Goals and events', tabs: [
    { label: 'Goals', dim: 'event:goal', metrics: ['visitors', 'events', 'conversion_rate'] },
    { label: 'Properties', dim: 'event:props:', prop: true, metrics: ['visitors', 'events'] }] },
  { id: 'vitals', title: 'Web vitals (p75 per page)', tabs: [
    { label: 'LCP', card: 'vitals', name: 'LCP' }, { label: 'INP', card: 'vitals', name: 'INP' },
    { label: 'CLS', card: 'vitals', name: 'CLS' }, { label: 'FCP', card: 'vitals', name: 'FCP' },
    { label: 'TTFB', card: 'vitals', name: 'TTFB' }] },
  { id: 'privacy', title: 'Privacy', tabs: [
    { label: 'Consent tiers', card: 'tiers' }, { label: 'Consent sources', card: 'sources' },
    { label: 'Dropped', card: 'dropped' },
    { label: 'Suppressed', card: 'suppressed' }] },
];

// The stats API query of a tab.
export function tabQuery(tab, ctx, limit = 10) {
  const dim = tab.prop ? `event:props:${ctx.propKey || ''}` : tab.dim;
  return {
    site_id: ctx.state.site, metrics: tab.metrics, date_range: ctx.dateRange, dimensions: [dim],
    filters: ctx.filters, order_by: [[tab.metrics[0], 'desc']], pagination: { limit },
  };
}

function heatmapLink(ctx, row) {
  const a = el('a', 'heat', 'heatmap');
  const params = new URLSearchParams({ site_id: ctx.state.site, page: row.dimensions[0] });
  a.href = `/dashboard/heatmap?${params}`;
  a.title = 'Clicks on this page';
  return a;
}

async function loadTab(card, tab, body, ctx) {
  if (tab.card === 'suppressed') {
    card.node.querySelector('a.csv').hidden = true;  // what this page folded, not a query to export
    const rows = Object.entries(ctx.suppressed).map(([name, n]) => ({ dimensions: [name], metrics: [n] }));
    renderTable(body, { metrics: ['rows'], rows });
    return;
  }
  if (tab.prop && !ctx.propKey) {
    body.replaceChildren(el('p', 'empty', 'Choose a property key above to break goals down by it.'));
    return;
  }
  const answer = tab.card
    ? await cardAnswer({ card: tab.card, name: tab.name || '', site_id: ctx.state.site,
      date_range: ctx.dateRange })
    : await query(tabQuery(tab, ctx));
  const metrics = answer.query?.metrics || tab.metrics || [];
  const suppressed = answer.meta?.suppressed_rows || 0;
  ctx.suppressed[`${card.title}: ${tab.label}`] = suppressed;
  renderTable(body, {
    metrics, rows: answer.results, suppressed,
    onPick: tab.dim ? (value) => ctx.pick(tab.prop ? `event:props:${ctx.propKey}` : tab.dim, value) : null,
    extra: card.heatmap && tab.dim === 'event:page' ? (row) => heatmapLink(ctx, row) : null,
  });
  if (tab.card && tab.card !== 'suppressed') {
    const notes = [answer.meta?.note, ctx.filters.length ? 'Not filtered: this card reads the whole site.' : null];
    for (const note of notes.filter(Boolean)) body.append(el('p', 'empty', note));
  }
  const csv = card.node.querySelector('a.csv');
  csv.hidden = false;
  if (tab.dim) csv.href = csvUrl(tabQuery(tab, ctx, 300), `${card.id}-${tab.label}`);
  else csv.href = cardCsvUrl({ card: tab.card, name: tab.name || '', site_id: ctx.state.site, date_range: ctx.dateRange });
}

function build(card, ctx) {
  const node = el('section', 'card');
  node.id = `card-${card.id}`;
  const head = el('header');
  head.append(el('h2', '', card.title));
  const tabs = el('nav', 'tabs');
  const body = el('div', 'body');
  card.node = node;
  card.active = card.active || 0;
  card.tabs.forEach((tab, i) => {
    const b = el('button', i === card.active ? 'tab on' : 'tab', tab.label);
    b.type = 'button';
    b.dataset.dim = tab.dim || tab.card;
    b.addEventListener('click', () => {
      card.active = i;
      tabs.querySelectorAll('button').forEach((x, j) => x.classList.toggle('on', j === i));
      ctx.refreshCard(card);
    });
    tabs.append(b);
  });
  if (card.id === 'goals') {
    const key = el('input', 'propkey');
    key.placeholder = 'property key, e.g. plan';
    key.setAttribute('aria-label', 'Property key');
    key.value = ctx.propKey || '';
    key.addEventListener('change', () => {
      ctx.propKey = key.value.trim();
      card.active = 1;
      tabs.querySelectorAll('button').forEach((x, j) => x.classList.toggle('on', j === 1));
      ctx.refreshCard(card);
    });
    tabs.append(key);
  }
  const csv = el('a', 'csv', 'CSV');
  csv.setAttribute('download', '');
  csv.hidden = true;
  head.append(tabs, csv);
  node.append(head, body);
  return node;
}

export function mountCards(container, ctx) {
  container.replaceChildren(...CARDS.map((card) => build(card, ctx)));
}

export async function refreshCard(card, ctx) {
  const body = card.node.querySelector('.body');
  card.node.classList.add('loading');
  try {
    await loadTab(card, card.tabs[card.active], body, ctx);
  } catch (err) {
    body.replaceChildren(el('p', 'error', String(err.message || err)));
  } finally {
    card.node.classList.remove('loading');
  }
}
