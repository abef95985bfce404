// The diagnostic page: where the edge thinks we are, the latency chart with numbers for the
// edge and every region, the server-timing breakdown, keyboard use, and the `--as` picker.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DESKTOP, HERE, PHONE, openBrowser, placeOf, shot, visit } from './helpers.mjs';

const TARGETS = ['edge', 'us-east', 'us-west', 'eu-west'];
const NUMBER = /^\d+(\.\d)?$/;

async function facts(page) {
  return page.$$eval('#you [data-fact]', (dds) => Object.fromEntries(dds.map((d) => [d.dataset.fact, d.textContent])));
}

describe(`the diagnostic page, as a user in ${HERE.city}`, () => {
  let browser;
  before(async () => {
    browser = await openBrowser(DESKTOP);
  });
  after(async () => {
    await browser?.close();
  });

  it('says where we are: country, city, PoP and nearest region', async () => {
    const { page } = browser;
    await visit(page, '/');
    assert.deepEqual(await facts(page), { country: HERE.country, city: HERE.city, colo: HERE.colo, region: HERE.region });
  });

  it('pings the edge and each region N times and charts min/p50/p95 for each', async () => {
    const { page } = browser;
    await page.getByLabel('Pings per target').fill('5');
    await page.getByRole('button', { name: 'Ping', exact: true }).click();
    await page.waitForFunction(() => /^Done/.test(document.getElementById('ping-status').textContent), null, { timeout: 60_000 });
    for (const target of TARGETS) {
      for (const stat of ['min', 'p50', 'p95']) {
        const text = await page.textContent(`#stats td[data-target="${target}"][data-stat="${stat}"]`);
        assert.match(text, NUMBER, `${stat} of ${target}`);
      }
      const label = await page.textContent(`#chart g[data-target="${target}"]`);
      assert.match(label, /min [\d.]+ · p50 [\d.]+ · p95 [\d.]+ ms/, `chart row of ${target}`);
    }
    assert.equal(await page.locator('#chart rect.range').count(), TARGETS.length, 'one range bar per target');
    assert.match(await page.textContent('#ping-status'), /Done: 5 pings per target/);
  });

  it('breaks the latest ping down with server-timing', async () => {
    const { page } = browser;
    const rows = await page.$$eval('#timing tbody tr', (trs) => trs.map((tr) => ({
      target: tr.dataset.target,
      cells: [...tr.querySelectorAll('td')].map((td) => td.textContent),
    })));
    assert.deepEqual(rows.map((r) => r.target), TARGETS);
    for (const { target, cells } of rows) {
      const [total, , origin, , status] = cells;
      assert.match(total, NUMBER, `total of ${target}`);
      assert.equal(status, 'ok', `status of ${target}`);
      if (target !== 'edge') assert.match(origin, NUMBER, `origin time of ${target}`);
    }
    await shot(page, 'diagnostics-desktop');
  });

  it('draws the map: you, the PoP and each region with its health and round trip', async () => {
    const { page } = browser;
    assert.equal(await page.locator('#map [data-you]').count(), 1, 'the user is on the map');
    assert.match(await page.textContent('#map title'), /^Map: you/, 'the map keeps its accessible name');
    for (const region of TARGETS.slice(1)) {
      const health = await page.getAttribute(`#map g[data-region="${region}"]`, 'data-health');
      assert.equal(health, 'ok', `${region} is healthy (its report and the breaker)`);
      assert.match(await page.textContent(`#map g[data-region="${region}"]`), new RegExp(`^${region}ok$`), 'name and health in words');
      assert.match(await page.textContent(`#map [data-rtt="${region}"]`), /^[\d.]+ ms$/, `round trip to ${region}`);
      const row = await page.textContent(`#regions tr[data-region="${region}"]`);
      assert.match(row, /127\.0\.0\.1:\d+/, `${region}'s primary host is shown`);
      assert.match(row, /\d+ pending, \d+ dead/, `${region}'s job backlog is shown`);
    }
    assert.match(await page.textContent(`#map [data-rtt="edge"]`), new RegExp(`PoP ${HERE.colo} · [\\d.]+ ms`));
    // Where the user is drawn follows the coordinates: nearer their own region than any other.
    const distances = await page.evaluate((regions) => {
      const at = (sel) => document.querySelector(sel).getBoundingClientRect();
      const you = at('#map [data-you]');
      return Object.fromEntries(regions.map((r) => {
        const c = at(`#map g[data-region="${r}"] circle`);
        return [r, Math.hypot(c.x - you.x, c.y - you.y)];
      }));
    }, TARGETS.slice(1));
    const nearest = Object.entries(distances).sort((a, b) => a[1] - b[1])[0][0];
    assert.equal(nearest, HERE.region, `on the map, ${HERE.city} is nearest ${HERE.region}: ${JSON.stringify(distances)}`);
  });

  it('traces one request and draws its hops as a waterfall, with the trace id to copy', async () => {
    const { page, context } = browser;
    assert.ok(await page.locator('#trace-result').isHidden(), 'nothing to show before a trace');
    const sent = page.waitForRequest((r) => /\/vehicles\?limit=5$/.test(r.url()));
    await page.getByRole('button', { name: 'Trace a request' }).click();
    await page.waitForFunction(() => /^HTTP 200/.test(document.getElementById('trace-status').textContent), null, { timeout: 30_000 });
    const traceparent = (await sent).headers().traceparent ?? '';
    const traceId = await page.textContent('#trace-id');
    assert.match(traceId, /^[0-9a-f]{32}$/, 'the trace id the edge answered');
    assert.equal(traceId, traceparent.split('-')[1], 'the edge continued the trace the page started');
    const bars = await page.$$eval('#waterfall g', (gs) => gs.map((g) => {
      const r = g.querySelector('rect');
      const x = Number(r.getAttribute('x'));
      return { kind: g.dataset.kind, label: g.textContent, x, end: x + Number(r.getAttribute('width')) };
    }));
    const kinds = bars.map((b) => b.kind);
    assert.deepEqual(await page.$$eval('#hops tbody tr', (trs) => trs.map((tr) => tr.dataset.kind)), kinds, 'the table lists the same hops');
    assert.deepEqual(kinds.slice(0, 3), ['total', 'edge', 'cache'], `hops: ${kinds}`);
    const [total] = bars;
    for (const b of bars) assert.ok(b.x >= total.x - 0.5 && b.end <= total.end + 0.5, `${b.label} lies within the round trip`);
    // Whether the origin was asked is what the cache says (a hit or stale entry answers alone).
    const cache = /\(cache: (\w+)\)/.exec(await page.textContent('#trace-status'))?.[1];
    if (cache === 'hit' || cache === 'stale') {
      assert.ok(!kinds.includes('attempt'), `a cache ${cache} asks no origin: ${kinds}`);
    } else {
      assert.deepEqual(kinds.slice(3), ['attempt', 'app', 'db', ...kinds.slice(6)], `cache ${cache}: the origin, its handler, its database`);
      const [attempt, app] = [bars[3], bars[4]];
      assert.match(attempt.label, new RegExp(`origin ${HERE.region} ok`), 'the home region answered');
      assert.ok(app.x >= attempt.x && app.end <= attempt.end + 0.5, 'the handler ran within the attempt');
      for (const db of bars.filter((x) => x.kind === 'db')) assert.ok(db.x >= app.x - 0.5, 'the database after the handler began');
    }
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.waitForFunction(() => /copied/.test(document.getElementById('trace-status').textContent));
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), traceId, 'the trace id is on the clipboard');
    await shot(page, 'diagnostics-waterfall');
  });

  it('keeps pinging in auto mode until it is switched off', async () => {
    const { page } = browser;
    const count = () => page.$eval('#stats tbody tr:first-child td', (td) => Number(td.textContent));
    const before = await count();
    await page.getByLabel('Auto (every 2 s)').check();
    await page.waitForFunction((n) => Number(document.querySelector('#stats tbody tr:first-child td').textContent) >= n + 2, before, { timeout: 30_000 });
    await page.getByLabel('Auto (every 2 s)').uncheck();
    assert.ok((await count()) >= before + 2);
  });

  it('is usable with the keyboard alone, with a visible focus', async () => {
    const { page } = browser;
    await visit(page, '/');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, 'none', 'focus is visible');
    await page.keyboard.press('Enter');
    const order = [];
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('Tab');
      order.push(await page.evaluate(() => document.activeElement.id || document.activeElement.textContent));
    }
    assert.deepEqual(order, ['ping-count', 'ping-run', 'ping-auto', 'ping-reset'], 'skip link, then the controls in order');
    await page.focus('#ping-count');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('2');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /^Done: 2/.test(document.getElementById('ping-status').textContent), null, { timeout: 60_000 });
  });

  it('fits a phone-width screen', async () => {
    const { page } = browser;
    await page.setViewportSize(PHONE);
    await visit(page, '/');
    await page.getByRole('button', { name: 'Ping', exact: true }).click();
    await page.waitForFunction(() => /^Done/.test(document.getElementById('ping-status').textContent), null, { timeout: 60_000 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
    await shot(page, 'diagnostics-phone');
  });

  it('switches city with the "be a user in" picker of the --as front', async (t) => {
    const { page } = browser;
    await page.setViewportSize(DESKTOP);
    await visit(page, '/');
    if (await page.locator('#as-picker').isHidden()) {
      t.skip('not behind the --as front');
      return;
    }
    assert.equal(await page.inputValue('#as-city'), HERE.slug);
    const tokyo = placeOf('tokyo');
    await Promise.all([page.waitForEvent('load'), page.selectOption('#as-city', tokyo.slug)]);
    await page.waitForSelector('body[data-ready="true"]');
    assert.deepEqual(await facts(page), { country: tokyo.country, city: tokyo.city, colo: tokyo.colo, region: tokyo.region });
    await shot(page, 'diagnostics-as-tokyo');
    await Promise.all([page.waitForEvent('load'), page.selectOption('#as-city', HERE.slug)]);
  });

  it('logged no console errors', () => {
    assert.deepEqual(browser.unexpectedErrors(), []);
  });
});
