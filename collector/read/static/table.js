// One breakdown table: rows of a stats API answer, each with a bar for its share, its label and metrics.
// Event data (paths, referrers, props) is only ever set with textContent: it is text, never markup.
import { LABELS, label, metric } from './format.js';

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// rows: [{dimensions: [...], metrics: [...]}]; onPick(value) filters the dashboard by a row's value;
// extra(row) may return a node appended to the label cell (e.g. a heatmap link).
export function renderTable(container, { metrics, rows, suppressed, onPick, extra }) {
  const table = el('table', 'rows');
  const head = table.createTHead().insertRow();
  head.append(el('th', 'label', ''));
  for (const m of metrics) head.append(el('th', 'num', LABELS[m] || m));
  const body = table.createTBody();
  const top = Math.max(1, ...rows.map((r) => Number(r.metrics[0]) || 0));
  for (const row of rows) {
    const value = row.dimensions[row.dimensions.length - 1];
    const tr = body.insertRow();
    const other = value === '(other)';
    tr.className = other ? 'other' : 'pickable';
    const cell = el('td', 'label');
    const bar = el('span', 'bar');
    bar.style.width = `${(100 * (Number(row.metrics[0]) || 0)) / top}%`;
    const name = el('span', 'name', label(value));
    tr.dataset.value = String(value);
    name.title = label(value);
    const inner = el('div', 'cell');
    inner.append(name);
    if (extra) { const node = extra(row); if (node) inner.append(node); }
    cell.append(bar, inner);
    tr.append(cell);
    row.metrics.forEach((v, i) => {
      const td = el('td', 'num', metric(metrics[i], v));
      td.dataset.value = String(v);  // the API's raw number, for tests and copy-paste
      tr.append(td);
    });
    if (!other && onPick) {
      tr.tabIndex = 0;
      tr.addEventListener('click', (e) => { if (e.target.tagName !== 'A') onPick(value); });
      tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') onPick(value); });
    }
  }
  container.replaceChildren(table);
  if (!rows.length) container.append(el('p', 'empty', 'No data for this period'));
  if (suppressed) {
    container.append(el('p', 'suppressed', `${suppressed} row(s) under the small-cell threshold folded into (other)`));
  }
}

export { el };
