// Drives headless Chromium through the consent-source scenarios (test_consent_sources_browser.py).
//
// Input (JSON on stdin): {"chromium": path, "recorded": URL of the collector's recorder, "scenarios":
// [{"name", "do", "cmp", "url", "first"?}]}. Output (stdout): {name: {"ok", "events": [events the collector
// received for the scenario's page], "console", "errors", ...scenario extras}}. One browser launch; the
// scenarios run at the same time, each in a fresh context (fresh storage) on a page path of its own, so
// the events of each are the ones the collector received for that path. Waits are for conditions, never
// for a fixed time.
import { chromium } from 'playwright-core';

const WAIT_MS = 15000;
const input = JSON.parse(await new Promise((resolve) => {
  let text = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => { text += chunk; });
  process.stdin.on('end', () => resolve(text));
}));

const flat = (posts) => posts.flatMap((p) => (Array.isArray(p.body) ? p.body : [p.body]));
async function received(url) {
  const path = new URL(url).pathname;
  const posts = await (await fetch(input.recorded)).json();
  return flat(posts).filter((e) => e && typeof e.url === 'string' && new URL(e.url).pathname === path);
}
const has = (evs, match) => evs.some((e) => Object.entries(match).every(([k, v]) => e[k] === v));
async function until(url, label, ...matches) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const evs = await received(url);
    if (matches.every((m) => has(evs, m))) return evs;
    if (Date.now() > deadline) {
      const kinds = evs.map((e) => [e.type, e.name, e.action].filter(Boolean).join(':'));
      throw new Error(`timed out waiting for ${label} on ${url}; collector got: ${kinds.join(', ') || 'nothing'}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
const storage = (page) => page.evaluate(() => ({
  local: Object.keys(localStorage), session: Object.keys(sessionStorage), cookie: document.cookie,
}));

// What the visitor does in each banner: its own buttons where it has them, its API for a later change.
const CMP = {
  gcm: { accept: (p) => p.click('#accept'), reject: (p) => p.click('#reject'), later: (p) => p.click('#reject') },
  tcf: { accept: (p) => p.click('#accept'), reject: (p) => p.click('#reject'), later: (p) => p.click('#reject') },
  klaro: {
    accept: (p) => p.click('.cookie-notice .cm-btn-success'),
    reject: (p) => p.click('.cookie-notice .cn-decline'),
    later: (p) => p.evaluate(() => {
      const manager = klaro.getManager();
      manager.updateConsent('analytics', false);
      manager.saveAndApplyConsents();
    }),
  },
  cookieconsent: {
    accept: (p) => p.click('[data-role="all"]'),
    reject: (p) => p.click('[data-role="necessary"]'),
    later: (p) => p.evaluate(() => CookieConsent.acceptCategory([])),
  },
};

const SCENARIOS = {
  // Reject in the banner: a refusal, the page's events without any id, nothing stored.
  async reject(p, s) {
    await p.goto(s.url);
    await until(s.url, 'pageview', { type: 'pageview' });
    const before = await storage(p);
    await CMP[s.cmp].reject(p);
    await p.evaluate(() => pa.track('AfterReject'));
    await until(s.url, 'refusal', { type: 'consent', action: 'withdraw' }, { type: 'custom', name: 'AfterReject' });
    return { before, after: await storage(p) };
  },
  // Accept in the banner: a grant naming the source, then events with the first-party id.
  async accept(p, s) {
    await p.goto(s.url);
    await until(s.url, 'pageview', { type: 'pageview' });
    const before = await storage(p);
    await CMP[s.cmp].accept(p);
    await until(s.url, 'grant', { type: 'consent', action: 'grant' });
    await p.evaluate(() => pa.track('AfterAccept'));
    await until(s.url, 'event after the grant', { type: 'custom', name: 'AfterAccept' });
    return { before, granted: await storage(p) };
  },
  // Accept, then reject later in the same banner: a withdrawal that carries the id it withdraws.
  async change(p, s) {
    await p.goto(s.url);
    await until(s.url, 'pageview', { type: 'pageview' });
    await CMP[s.cmp].accept(p);
    await until(s.url, 'grant', { type: 'consent', action: 'grant' });
    await p.evaluate(() => pa.track('Consented'));
    await until(s.url, 'consented event', { type: 'custom', name: 'Consented' });
    const granted = await storage(p);
    await CMP[s.cmp].later(p);
    await until(s.url, 'withdrawal', { type: 'consent', action: 'withdraw' });
    await p.evaluate(() => pa.track('AfterWithdraw'));
    await until(s.url, 'event after the withdrawal', { type: 'custom', name: 'AfterWithdraw' });
    return { granted, after: await storage(p) };
  },
  // A returning visitor (consented on an earlier page) on a page whose banner answers 1.5 s late, or never.
  async late(p, s) {
    await p.goto(s.first);
    await CMP.gcm.accept(p);
    await until(s.first, 'grant on the first page', { type: 'consent', action: 'grant' });
    const id = await p.evaluate(() => localStorage.pa_id);
    await p.goto(s.url);
    if (s.name === 'granted') await p.waitForFunction(() => window.answeredAt, null, { timeout: WAIT_MS });
    await until(s.url, 'pageview', { type: 'pageview' });
    return { id, beacons: await p.evaluate(() => window.beacons), answeredAt: await p.evaluate(() => window.answeredAt ?? null) };
  },
};

const userAgent = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36';
const browser = await chromium.launch({
  executablePath: input.chromium,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync',
    `--user-agent=${userAgent}`],
});
const out = {};
try {
  await Promise.all(input.scenarios.map(async (s) => {
    const context = await browser.newContext({ userAgent });
    const rec = { console: [], errors: [] };
    context.on('console', (msg) => rec.console.push({ type: msg.type(), text: msg.text(), url: msg.location().url || '' }));
    context.on('weberror', (err) => rec.errors.push({ message: err.error().message, stack: err.error().stack || '' }));
    const result = { ok: true };
    try {
      Object.assign(result, await SCENARIOS[s.do](await context.newPage(), s));
    } catch (err) {
      Object.assign(result, { ok: false, failure: String(err && err.stack || err) });
    }
    await context.close();
    out[s.name] = { ...result, events: await received(s.url), ...rec };
  }));
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out));
