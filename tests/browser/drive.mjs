// Drives headless Chromium through named tracker scenarios and prints what happened as JSON.
//
// Input (JSON on stdin): {"chromium": path, "site": test pages URL, "recorded": URL of the
// collector's recorder, "scenarios": [names]}. Output (stdout): {name: {"ok", "events": [events the
// collector received], "failed": [collector requests that failed, with their bodies], "console",
// "errors", ...scenario extras}}. One browser launch per run; every scenario gets a fresh context
// (fresh storage), so scenarios never see each other's state.
// A scenario waits until the collector has received the events it expects, never for a fixed time.
import { chromium } from 'playwright-core';

// A deadline, not a delay: waits poll every 50 ms and end as soon as the events are there. A cold
// Chromium on a busy machine once took just over 15 s to send the SPA's second pageview; 60 s leaves room.
const WAIT_MS = 60000;
const input = JSON.parse(await new Promise((resolve) => {
  let text = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => { text += chunk; });
  process.stdin.on('end', () => resolve(text));
}));

// Console messages, page errors and failed collector requests of one browser context; the
// events the collector received come from its recorder (browser_harness.py), which also sees the
// beacons of unloading pages that Playwright's request events miss.
function record(context) {
  const rec = { posts: [], console: [], errors: [], failed: [] };
  context.on('requestfailed', (req) => {
    if (!new URL(req.url()).pathname.endsWith('/api/event')) return;
    let body = req.postData();
    try { body = JSON.parse(body); } catch { /* kept as text: the schema check reports it */ }
    rec.failed.push({ url: req.url(), failure: req.failure()?.errorText, body });
  });
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

let seen = 0; // recorded posts that belong to earlier scenarios
async function recorded() {
  const posts = await (await fetch(input.recorded)).json();
  return posts.slice(seen);
}
const events = (posts) => posts.flatMap((p) => (Array.isArray(p.body) ? p.body : [p.body]));
const matching = (evs, match) => evs.filter((e) => Object.entries(match).every(([k, v]) => k[0] === '$' || e[k] === v));

// Poll until `ready(rec)` holds: a wait for a condition, with a deadline, never a fixed sleep.
async function until(rec, label, ready) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    rec.posts = await recorded();
    if (ready(rec)) return;
    if (Date.now() > deadline) {
      const kinds = events(rec.posts).map((e) => [e.type, e.name, e.kind, e.action].filter(Boolean).join(':'));
      throw new Error(`timed out waiting for ${label}; collector got: ${kinds.join(', ') || 'nothing'}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
const untilEvents = (rec, label, ...matches) =>
  until(rec, label, (r) => matches.every((m) => matching(events(r.posts), m).length >= (m.$n || 1)));

const storage = (page) => page.evaluate(() => ({
  local: Object.keys(localStorage), session: Object.keys(sessionStorage), cookie: document.cookie,
}));

const page = (name) => `${input.site}/${name}/index.html`;

// Each scenario gets (context, rec) and returns extra results merged into its output.
const SCENARIOS = {
  // Every event type of the tracker on one page, ending with an outbound click that leaves it.
  async core(context, rec) {
    const p = await context.newPage();
    // The tracker counts engaged time only while the page is visible, in ticks of 500 ms: the first page's
    // engagement is sent at the SPA navigation only if a tick found it visible. So the page is brought to
    // the front, and the navigation waits until the page itself has seen a second of visible time.
    await p.addInitScript(() => {
      window.__visibleMs = 0;
      setInterval(() => { if (!document.hidden) window.__visibleMs += 100; }, 100);
    });
    await p.bringToFront();
    await p.goto(page('core'));
    await p.bringToFront();
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
    await p.waitForFunction(() => window.__visibleMs >= 1000, null, { timeout: WAIT_MS });
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
    const q = await context.newPage();
    await q.goto(page('gpcdeny'));
    await q.evaluate(() => pa.track('DeniedSite'));
    await untilEvents(rec, 'denied site', { type: 'custom', name: 'DeniedSite' });
    const p = await context.newPage();
    await p.goto(page('gpc'));
    await p.evaluate(() => pa.track('UnderGpc'));
    await untilEvents(rec, 'pageview', { type: 'pageview', $n: 2 }, { type: 'custom', name: 'UnderGpc' });
    const before = await storage(p);
    await p.evaluate(() => { pa.consent({ analytics: true }); pa.track('GpcButConsented'); });
    await untilEvents(rec, 'explicit consent', { type: 'custom', name: 'GpcButConsented' });
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
    await until(rec, 'failed requests', (r) => r.failed.length > 0);
    const path = await p.evaluate(() => location.pathname);
    await p.click('#out');
    await p.waitForURL(/landing/);
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

// The collector drops headless user agents as bots, so the browser presents itself as a regular
// Chrome. A launch flag, not a context option: requests sent while a page unloads (beacons from
// pagehide) leave from the browser process with the launch-wide user agent.
const userAgent = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36';
const browser = await chromium.launch({
  executablePath: input.chromium,
  headless: true,
  // Pages are never backgrounded: a hidden page stops the tracker's engaged-time ticks.
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows',
    '--disable-background-timer-throttling',
    '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync',
    `--user-agent=${userAgent}`],
});
const out = {};
try {
  // Warm the browser up (renderer process, compositor) before the first scenario's clock starts.
  const warm = await browser.newContext({ userAgent });
  await (await warm.newPage()).setContent('<p>warm</p>');
  await warm.close();
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
    rec.posts = await recorded();
    seen += rec.posts.length;
    out[name] = { ...result, events: events(rec.posts), failed: rec.failed, console: rec.console, errors: rec.errors };
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out));
