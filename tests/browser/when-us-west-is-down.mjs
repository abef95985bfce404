// Run by the launcher (tests/tests/browser.rs) after it has stopped us-west's origin; the
// name does not match `node --test`'s patterns, so `node --test tests/browser/` skips it.
// The pages must say in words what is down, keep measuring the rest, and log no errors.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DESKTOP, openBrowser, shot, visit } from './helpers.mjs';

const NUMBER = /^\d+(\.\d)?$/;

describe("when us-west's origin is down", () => {
  let browser;
  before(async () => {
    browser = await openBrowser(DESKTOP);
  });
  after(async () => {
    await browser?.close();
  });

  it('the diagnostic page says us-west does not answer and still measures the rest', async () => {
    const { page } = browser;
    await visit(page, '/');
    await page.getByLabel('Pings per target').fill('3');
    await page.getByRole('button', { name: 'Ping', exact: true }).click();
    await page.waitForFunction(() => /^Done/.test(document.getElementById('ping-status').textContent), null, { timeout: 60_000 });
    assert.match(await page.textContent('#ping-status'), /no answer from us-west/);
    assert.equal(await page.textContent('#stats td[data-target="us-west"][data-stat="p50"]'), '–');
    assert.match(await page.textContent('#chart g[data-target="us-west"]'), /no answer/);
    for (const target of ['edge', 'us-east', 'eu-west']) {
      assert.match(await page.textContent(`#stats td[data-target="${target}"][data-stat="p50"]`), NUMBER, target);
    }
    // The map and the regions' table say it in words, not only in colour.
    assert.equal(await page.getAttribute('#map g[data-region="us-west"]', 'data-health'), 'down');
    assert.match(await page.textContent('#map g[data-region="us-west"]'), /down/);
    assert.match(await page.textContent('#regions tr[data-region="us-west"] [data-stat="health"]'), /down/);
    for (const region of ['us-east', 'eu-west']) {
      assert.equal(await page.getAttribute(`#map g[data-region="${region}"]`, 'data-health'), 'ok', region);
    }
    await shot(page, 'diagnostics-us-west-down');
  });

  it("still lists Seattle's vehicles (another region answers for us-west)", async () => {
    const { page } = browser;
    const tag = randomUUID().slice(0, 8);
    const password = `correct horse ${tag}`;
    await visit(page, '/app');
    const signup = page.locator('#signup');
    await signup.getByLabel('Email').fill(`down-${tag}@example.com`);
    await signup.getByLabel('Name').fill(`Down ${tag}`);
    await signup.getByLabel('Password').fill(password);
    await signup.getByRole('button', { name: 'Create account' }).click();
    await page.waitForFunction(() => /Account created/.test(document.getElementById('status').textContent));
    await page.locator('#login').getByLabel('Password').fill(password);
    await page.locator('#login').getByRole('button', { name: 'Log in' }).click();
    await page.locator('#signed-in').waitFor({ state: 'visible' });
    await page.selectOption('#vehicle-city', 'seattle');
    await page.waitForFunction(() => /in Seattle/.test(document.getElementById('vehicles-meta').textContent));
    assert.ok((await page.locator('#vehicles li[data-vehicle-id]').count()) > 0);
    await shot(page, 'app-seattle-while-us-west-is-down');
  });

  it('logged no console errors', () => {
    assert.deepEqual(browser.unexpectedErrors(), []);
  });
});
