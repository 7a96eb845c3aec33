// Drives headless Chromium through the dashboard and prints what it saw as JSON.
//
// Input (JSON on stdin): {"chromium", "base": collector URL, "user", "password", "artifacts": directory for
// screenshots and downloads, "steps": [{"do": name, ...arguments}]}. Output (stdout): {"ok", "failure",
// "results": [one result per step], "dialogs": [every alert/confirm/prompt that fired], "errors": [page
// errors], "console": [console messages], "violations": [CSP violations reported by the page]}.
// Steps wait for conditions (the page marks body[data-loaded] when every card has answered), never for a
// fixed time.
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const WAIT_MS = 20000;
const input = JSON.parse(readFileSync(0, 'utf8'));
const out = { ok: true, results: [], dialogs: [], errors: [], console: [], violations: [], failed: [] };

// Everything a test compares: headline numbers, card rows (label and raw metric values), filter chips.
const snapshot = (page) => page.evaluate(() => {
  const cards = {};
  for (const card of document.querySelectorAll('section.card[id^="card-"]')) {
    cards[card.id.slice(5)] = {
      tab: card.querySelector('.tab.on')?.textContent || '',
      rows: [...card.querySelectorAll('tbody tr')].map((tr) => ({
        label: tr.querySelector('.name').textContent, value: tr.dataset.value,
        metrics: [...tr.querySelectorAll('td.num')].map((td) => td.dataset.value),
      })),
      text: card.querySelector('.body').textContent,
    };
  }
  const headline = {};
  for (const li of document.querySelectorAll('#headline li')) {
    headline[li.dataset.metric] = { value: li.querySelector('.value').dataset.value, text: li.querySelector('.value').textContent,
      change: li.querySelector('.change')?.textContent || null };
  }
  return { headline, cards, chips: [...document.querySelectorAll('#filters .chip span')].map((s) => s.textContent),
    status: document.getElementById('status').textContent, url: location.href,
    realtime: document.getElementById('realtime').textContent };
});

async function loaded(page, after) {
  await page.waitForFunction((n) => Number(document.body.dataset.loaded || 0) > n, after, { timeout: WAIT_MS });
}
const generation = (page) => page.evaluate(() => Number(document.body.dataset.loaded || 0));

const STEPS = {
  async goto(page, { path }) { await page.goto(input.base + path); return { url: page.url() }; },
  async login(page, { user, password }) {
    await page.goto(`${input.base}/dashboard`);
    await page.fill('input[name=user]', user ?? input.user);
    await page.fill('input[name=password]', password ?? input.password);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    return { url: page.url(), cookies: (await page.context().cookies()).map((c) => ({ name: c.name, httpOnly: c.httpOnly, sameSite: c.sameSite })) };
  },
  async dashboard(page) { await loaded(page, 0); return snapshot(page); },
  async period(page, { value }) {
    const n = await generation(page);
    await page.selectOption('#period', value);
    await loaded(page, n);
    return snapshot(page);
  },
  async custom(page, { from, to }) {
    await page.selectOption('#period', 'custom');
    await page.fill('#from', from);
    await page.fill('#to', to);
    const n = await generation(page);
    await page.click('#apply');
    await loaded(page, n);
    return snapshot(page);
  },
  async compare(page, { value }) {
    const n = await generation(page);
    await page.selectOption('#compare', value);
    await loaded(page, n);
    return snapshot(page);
  },
  async tab(page, { card, label }) {
    await page.click(`#card-${card} .tab:text-is("${label}")`);
    await page.waitForFunction((c) => !document.querySelector(`#card-${c}`).classList.contains('loading'), card);
    return snapshot(page);
  },
  async propkey(page, { key }) {
    await page.fill('#card-goals .propkey', key);
    await page.press('#card-goals .propkey', 'Enter');
    await page.waitForFunction(() => document.querySelector('#card-goals .tab.on')?.textContent === 'Properties'
      && !document.querySelector('#card-goals').classList.contains('loading') && document.querySelector('#card-goals tbody'));
    return snapshot(page);
  },
  async pick(page, { card, label }) {
    const n = await generation(page);
    const index = await page.$$eval(`#card-${card} tbody .name`, (names, l) => names.findIndex((x) => x.textContent === l), label);
    if (index < 0) throw new Error(`no row ${label} in ${card}`);
    await page.locator(`#card-${card} tbody .name`).nth(index).click();
    await loaded(page, n);
    return snapshot(page);
  },
  async unfilter(page) {
    const n = await generation(page);
    await page.click('#filters .chip .remove');
    await loaded(page, n);
    return snapshot(page);
  },
  async csv(page, { card }) {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click(`#card-${card} a.csv`)]);
    const path = join(input.artifacts, download.suggestedFilename());
    await download.saveAs(path);
    return { name: download.suggestedFilename(), text: readFileSync(path, 'utf8') };
  },
  // Until the page (reloaded every half second) shows the headline metric at `value` and every card the rows
  // named in `cards` ({card: [labels]}): the writer flushes once a second.
  async until(page, { metric, value, cards = {} }) {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      await page.reload();
      await loaded(page, 0);
      const snap = await snapshot(page);
      const shown = Object.entries(cards).every(([card, labels]) => labels.every(
        (l) => snap.cards[card]?.rows.some((r) => r.label === l)));
      if (snap.headline[metric]?.value === String(value) && shown) return snap;
      if (Date.now() > deadline) throw new Error(`never saw ${metric} = ${value} and ${JSON.stringify(cards)}: ${JSON.stringify(snap)}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  },
  async heatmap(page, { query }) {
    await page.goto(`${input.base}/dashboard/heatmap?${new URLSearchParams(query)}`);
    await page.waitForFunction(() => document.body.dataset.loaded === '1', null, { timeout: WAIT_MS });
    const stage = await page.locator('#stage').boundingBox();
    const dots = await page.$$eval('#dots .dot', (ds) => ds.map((d) => {
      const r = d.getBoundingClientRect();
      return { x: Number(d.dataset.x), y: Number(d.dataset.y), clicks: Number(d.dataset.clicks),
        cx: r.left + r.width / 2, cy: r.top + r.height / 2 };
    }));
    const scroll = await page.evaluate(() => ({ x: window.scrollX, y: window.scrollY }));
    return { stage, dots, scroll, status: await page.textContent('#status'), frame: await page.$$eval('iframe', (f) => f.map((x) => x.getAttribute('src'))) };
  },
  // An inline script added to the page must not run: the CSP has no 'unsafe-inline'.
  async inline(page) {
    return page.evaluate(() => new Promise((resolve) => {
      document.addEventListener('securitypolicyviolation', (e) => resolve({ ran: Boolean(window.__inline), blocked: e.violatedDirective }), { once: true });
      const s = document.createElement('script');
      s.textContent = 'window.__inline = true';
      document.body.append(s);
      setTimeout(() => resolve({ ran: Boolean(window.__inline), blocked: null }), 2000);
    }));
  },
  async click(page, { selector }) { await page.click(selector); return {}; },
  async clickNav(page, { selector }) {
    await Promise.all([page.waitForNavigation(), page.click(selector)]);
    return { url: page.url() };
  },
  async screenshot(page, { name, width, height, fullPage }) {
    if (width) await page.setViewportSize({ width, height: height || 900 });
    const path = join(input.artifacts, `${name}.png`);
    await page.screenshot({ path, fullPage: fullPage ?? true });
    return { path };
  },
  async logout(page) {
    await Promise.all([page.waitForNavigation(), page.click('form.logout button')]);
    return { url: page.url() };
  },
};

// The collector drops headless user agents as bots (the demo flow sends real events), so the browser
// presents itself as a regular Chrome; a launch flag, so that beacons sent while a page unloads carry it.
const userAgent = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36';
const browser = await chromium.launch({
  executablePath: input.chromium, headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--no-first-run', '--disable-quic', '--disable-sync', `--user-agent=${userAgent}`],
});
try {
  const context = await browser.newContext({ userAgent, acceptDownloads: true, viewport: input.viewport || { width: 1280, height: 900 } });
  // Outbound links leave for the internet, which tests never reach: answer them here.
  await context.route(/^https?:\/\/(?!127\.0\.0\.1)/, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<p>outside</p>' }));
  const page = await context.newPage();
  page.on('dialog', async (d) => { out.dialogs.push({ type: d.type(), message: d.message() }); await d.dismiss(); });
  page.on('pageerror', (e) => out.errors.push(String(e.message)));
  page.on('console', (m) => out.console.push({ type: m.type(), text: m.text() }));
  page.on('response', async (r) => {
    if (r.status() >= 400) out.failed.push({ url: r.url(), status: r.status(), body: (await r.text().catch(() => '')).slice(0, 300) });
  });
  await context.exposeBinding('__violation', (source, v) => out.violations.push(v));
  await context.addInitScript(() => document.addEventListener('securitypolicyviolation',
    (e) => window.__violation({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample })));
  for (const step of input.steps) {
    try {
      out.results.push(await STEPS[step.do](page, step));
    } catch (err) {
      Object.assign(out, { ok: false, failure: `step ${step.do}: ${String(err && err.stack || err)}` });
      await page.screenshot({ path: join(input.artifacts, 'failure.png'), fullPage: true }).catch(() => {});
      break;
    }
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out));
