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
