// Drives headless Chromium through named tracker scenarios and prints what happened as JSON.
//
// Input (JSON on stdin): {"chromium": path, "site": static server URL, "outbound": URL on another
// host, "scenarios": [names]}. Output (stdout): {name: {"posts": [{url, body, status, failure}],
// "console": [...], "errors": [...], ...scenario extras}}. One browser launch per run; every
// scenario gets a fresh context (fresh storage), so scenarios never see each other's state.
// Waiting is event-driven: a scenario waits until the collector requests it expects have been
// sent and answered, never for a fixed time.
import { chromium } from 'playwright-core';

const WAIT_MS = 15000;
const input = JSON.parse(await new Promise((resolve) => {
  let text = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => { text += chunk; });
  process.stdin.on('end', () => resolve(text));
}));

// Collector POSTs, console messages and page errors of one browser context.
function record(context) {
  const rec = { posts: [], console: [], errors: [], pending: new Map(), wake: () => {} };
  context.on('request', (req) => {
    if (req.method() !== 'POST' || !new URL(req.url()).pathname.endsWith('/api/event')) return;
    let body = req.postData();
    try { body = JSON.parse(body); } catch { /* kept as text: the test reports it */ }
    const post = { url: req.url(), body, status: null, failure: null };
    post.done = new Promise((resolve) => rec.pending.set(req, { post, resolve }));
    rec.posts.push(post);
    rec.wake();
  });
  const settle = async (req, failed) => {
    const entry = rec.pending.get(req);
    if (!entry) return;
    rec.pending.delete(req);
    if (failed) entry.post.failure = req.failure()?.errorText ?? 'failed';
    else entry.post.status = (await req.response().catch(() => null))?.status() ?? null;
    entry.resolve();
    rec.wake();
  };
  context.on('requestfinished', (req) => settle(req, false));
  context.on('requestfailed', (req) => settle(req, true));
  context.on('console', (msg) => {
    const loc = msg.location();
    rec.console.push({ type: msg.type(), text: msg.text(), url: loc.url || '', line: loc.lineNumber });
  });
  context.on('weberror', (err) => {
    const e = err.error();
    rec.errors.push({ message: e.message, stack: e.stack || '' });
  });
  return rec;
}

const events = (rec) => rec.posts.flatMap((p) => (Array.isArray(p.body) ? p.body : [p.body]));
const has = (rec, match) => events(rec).filter((e) => Object.entries(match).every(([k, v]) => k[0] === '$' || e[k] === v));

// Wait until `ready(rec)` holds and every collector request sent so far has been answered.
async function until(rec, label, ready) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    if (ready(rec) && rec.pending.size === 0) return;
    const left = deadline - Date.now();
    if (left <= 0) {
      const seen = events(rec).map((e) => `${e.type}${e.name ? ':' + e.name : ''}${e.kind ? ':' + e.kind : ''}`);
      throw new Error(`timed out waiting for ${label}; events seen: ${seen.join(', ') || 'none'}`);
    }
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.min(left, 200));
      rec.wake = () => { clearTimeout(timer); resolve(); };
    });
  }
}
const untilEvents = (rec, label, ...matches) =>
  until(rec, label, (r) => matches.every((m) => has(r, m).length >= (m.$n || 1)));

const storage = (page) => page.evaluate(() => ({
  local: Object.keys(localStorage), session: Object.keys(sessionStorage), cookie: document.cookie,
}));

const page = (name) => `${input.site}/${name}/index.html`;

// Each scenario gets (context, rec) and returns extra results merged into its output.
const SCENARIOS = {
  async debug(context, rec) {
    await context.addInitScript(() => {
      const sb = navigator.sendBeacon.bind(navigator);
      navigator.sendBeacon = (u, b) => { const r = sb(u, b); console.log('beacon', r, String(b).slice(0, 80)); return r; };
      addEventListener('pagehide', () => console.log('pagehide seen'), true);
      addEventListener('visibilitychange', () => console.log('vis seen', document.visibilityState), true);
    });
    const p = await context.newPage();
    await p.goto(page('core'));
    await untilEvents(rec, 'pageview', { type: 'pageview' });
    await p.click('#out');
    await p.waitForURL(/landing/);
    await new Promise(r => setTimeout(r, 2000));
    return {};
  },
  // Every event type of the tracker on one page, ending with an outbound click that leaves it.
  async core(context, rec) {
    const p = await context.newPage();
    await p.goto(page('core'));
    await untilEvents(rec, 'pageview', { type: 'pageview' });
    await p.click('#signup');
    await p.click('#slow');
    await p.click('#dl');
    await p.focus('#email');
    await p.fill('#email', 'person@example.com');
    await p.click('#submit');
    await p.focus('#nick');
    await p.fill('#nick', 'someone');
    await p.click('#hero');
    await p.evaluate(() => { pa.track('Evaluated', { n: 1, ok: true, long: 'x'.repeat(300) }); pa.expose('hero', 'B'); });
    await p.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await p.click('#spa');
    await untilEvents(rec, 'second pageview', { type: 'pageview', $n: 2 }, { type: 'custom', name: 'Signup' },
      { type: 'click', kind: 'heatmap' }, { type: 'engagement' });
    await p.click('#throw');
    await untilEvents(rec, 'error', { type: 'error' });
    const spaPath = await p.evaluate(() => location.pathname);
    await p.click('#out');
    await p.waitForURL(/landing/);
    await untilEvents(rec, 'session end', { type: 'session_end' }, { type: 'click', kind: 'outbound' },
      { type: 'vital', name: 'LCP' }, { type: 'form', action: 'abandon' });
    return { spaPath };
  },

  // No consent yet: nothing stored; then consent({analytics: true}) and a reload keep one id.
  async consent(context, rec) {
    const p = await context.newPage();
    await p.goto(page('consent'));
    await untilEvents(rec, 'pageview', { type: 'pageview' });
    const before = await storage(p);
    await p.evaluate(() => { pa.consent({ analytics: true }); pa.track('AfterGrant'); });
    await untilEvents(rec, 'grant', { type: 'consent', action: 'grant' }, { type: 'custom', name: 'AfterGrant' });
    const granted = await storage(p);
    await p.reload();
    await untilEvents(rec, 'pageview after reload', { type: 'pageview', $n: 2 });
    return { before, granted };
  },

  // Grant, then withdraw: the withdraw event still carries the id, then storage is empty.
  async withdraw(context, rec) {
    const p = await context.newPage();
    await p.goto(page('withdraw'));
    await p.evaluate(() => pa.consent({ analytics: true }));
    await untilEvents(rec, 'grant', { type: 'consent', action: 'grant' });
    const granted = await storage(p);
    await p.evaluate(() => { pa.consent({ analytics: false }); pa.track('AfterWithdraw'); });
    await untilEvents(rec, 'withdraw', { type: 'consent', action: 'withdraw' }, { type: 'custom', name: 'AfterWithdraw' });
    return { granted, after: await storage(p) };
  },

  // Global Privacy Control on: the site's data-consent="granted" default must not apply.
  async gpc(context, rec) {
    await context.addInitScript(() => Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true }));
    const p = await context.newPage();
    await p.goto(page('gpc'));
    await p.evaluate(() => pa.track('UnderGpc'));
    await untilEvents(rec, 'pageview', { type: 'pageview' }, { type: 'custom', name: 'UnderGpc' });
    const before = await storage(p);
    await p.evaluate(() => { pa.consent({ analytics: true }); pa.track('GpcButConsented'); });
    await untilEvents(rec, 'explicit consent', { type: 'custom', name: 'GpcButConsented' });
    const q = await context.newPage();
    await q.goto(page('gpcdeny'));
    await q.evaluate(() => pa.track('DeniedSite'));
    await untilEvents(rec, 'denied site', { type: 'custom', name: 'DeniedSite' });
    return { before };
  },

  // The page's own scripts throw, before and after the tracker loads: both keep working.
  async throws(context, rec) {
    const p = await context.newPage();
    await p.goto(`${input.site}/throws/throws.html`);
    await untilEvents(rec, 'pageview and error', { type: 'pageview' }, { type: 'error' });
    await p.click('#count');
    return { title: await p.title(), count: await p.textContent('#count') };
  },

  // The collector is down (data-api points at a closed port): the page must not notice.
  async dead(context, rec) {
    const p = await context.newPage();
    await p.goto(page('dead'));
    await p.click('#signup');
    await p.click('#spa');
    await p.focus('#email');
    await p.evaluate(() => { pa.track('Down'); pa.consent({ analytics: true }); pa.consent({ analytics: false }); });
    await p.click('#throw');
    await until(rec, 'failed requests', (r) => r.posts.length > 0);
    const path = await p.evaluate(() => location.pathname);
    await p.click('#out');
    await p.waitForURL(/landing/);
    await until(rec, 'failed unload request', (r) => has(r, { type: 'session_end' }).length > 0);
    return { path };
  },

  // Excluded pages send nothing: a local page without data-local, then excluded paths.
  async excluded(context, rec) {
    const p = await context.newPage();
    await p.goto(page('local'));
    await p.evaluate(() => pa.track('LocalPage'));
    await p.goto(`${input.site}/excl/private/index.html`);
    await p.evaluate(() => { pa.track('PrivateTrack'); history.pushState({}, '', '/excl/public'); });
    await untilEvents(rec, 'public pageview', { type: 'pageview' });
    await p.evaluate(() => { location.hash = '#ignored'; history.pushState({}, '', '/excl/admin/users'); pa.track('AdminTrack'); });
    await p.goto(page('hash'));
    await p.evaluate(() => { location.hash = '#/settings'; });
    await untilEvents(rec, 'hash pageview', { type: 'pageview', $n: 3 });
    return {};
  },
};

const browser = await chromium.launch({
  executablePath: input.chromium,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'],
});
// The collector drops headless user agents as bots: present the same browser as a regular Chrome.
const userAgent = `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${browser.version()} Safari/537.36`;
const out = {};
try {
  for (const name of input.scenarios) {
    const context = await browser.newContext({ userAgent });
    const rec = record(context);
    const result = { ok: true };
    try {
      Object.assign(result, await SCENARIOS[name](context, rec));
    } catch (err) {
      Object.assign(result, { ok: false, failure: String(err && err.stack || err) });
    }
    await context.close();
    out[name] = { ...result, posts: rec.posts.map(({ done, ...p }) => p), console: rec.console, errors: rec.errors };
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out));
