// The click heatmap of one page: cells of the page (fractions of its width and height, per width bucket)
// drawn as dots over a neutral grid, or over the page itself in a sandboxed iframe when the site allows
// the collector to frame it. Cells come from /dashboard/api/heatmap (suppressed below k for read users).
import { get } from './api.js';
import { el } from './table.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const state = { site: params.get('site_id') || '', page: params.get('page') || '/',
  width: params.get('width') || '', dateRange: params.get('date_range') || '30d', frame: params.get('frame') === '1' };

function drawFrame(answer) {
  const stage = $('stage');
  stage.querySelector('iframe')?.remove();
  const show = state.frame && answer.frame_src;
  stage.classList.toggle('framed', Boolean(show));
  if (!show) return;
  const frame = document.createElement('iframe');
  // No allow-scripts: the page's own scripts (and its tracker) never run inside the dashboard. A page of
  // this collector (the demo site) may be read, to give the stage the page's height, of which y is a
  // fraction: its content's height, or a desktop-shaped screen's when the content is shorter (the tracker
  // divides by the document's height, which is at least the visitor's screen).
  const local = answer.frame_src.startsWith('/');
  frame.setAttribute('sandbox', local ? 'allow-same-origin' : '');
  if (local) {
    frame.addEventListener('load', () => {
      frame.style.height = '10px';
      const content = frame.contentDocument?.documentElement.scrollHeight || 0;
      frame.style.height = '';
      stage.style.aspectRatio = 'auto';
      stage.style.height = `${Math.max(content, Math.round(stage.clientWidth * 0.7))}px`;
    });
  }
  frame.setAttribute('referrerpolicy', 'no-referrer');
  frame.title = 'The page, behind its clicks';
  frame.src = answer.frame_src;
  stage.prepend(frame);
}

function drawDots(answer) {
  const top = Math.max(1, ...answer.cells.map((c) => c.clicks));
  $('dots').replaceChildren(...answer.cells.map((c) => {
    const dot = el('span', 'dot');
    dot.dataset.x = String(c.x);
    dot.dataset.y = String(c.y);
    dot.dataset.clicks = String(c.clicks);
    // x and y are the cell's left and top edges; the dot sits at its centre.
    dot.style.left = `${(c.x + 0.5 / answer.grid.x_cells) * 100}%`;
    dot.style.top = `${(c.y + 0.5 / answer.grid.y_cells) * 100}%`;
    dot.style.opacity = String(0.35 + (0.65 * c.clicks) / top);
    const size = 10 + (22 * c.clicks) / top;
    dot.style.width = `${size}px`;
    dot.style.height = `${size}px`;
    dot.title = `${c.clicks} click(s)`;
    return dot;
  }));
}

async function load() {
  $('title').textContent = `Clicks on ${state.page}`;
  const query = { site_id: state.site, page: state.page, date_range: state.dateRange };
  if (state.width) query.width = state.width;
  try {
    const answer = await get('/dashboard/api/heatmap', query);
    const widths = answer.widths.map((w) => { const o = el('option', '', w.label); o.value = w.value; return o; });
    $('width').replaceChildren(...widths);
    $('width').value = state.width;
    $('frame').disabled = !answer.frame_src;
    $('frame').checked = state.frame && Boolean(answer.frame_src);
    drawFrame(answer);
    drawDots(answer);
    const hidden = answer.meta?.suppressed_rows ? `, ${answer.meta.suppressed_rows} cell(s) under the threshold of ${answer.meta.small_cell_threshold} visitors hidden` : '';
    $('status').textContent = `${answer.cells.length} cell(s)${hidden}`;
    document.body.dataset.loaded = '1';
  } catch (err) {
    $('status').textContent = String(err.message || err);
  }
}

function navigate() {
  const next = new URLSearchParams({ site_id: state.site, page: state.page, date_range: state.dateRange });
  if (state.width) next.set('width', state.width);
  if (state.frame) next.set('frame', '1');
  // The page's CSP (frame-src) depends on frame=1, so a change reloads it.
  location.assign(`${location.pathname}?${next}`);
}

$('width').addEventListener('change', () => { state.width = $('width').value; load(); });
$('frame').addEventListener('change', () => { state.frame = $('frame').checked; navigate(); });
load();
