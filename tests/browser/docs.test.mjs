// The API docs page renders the OpenAPI document the edge serves: every operation with its
// responses, and the schemas, reachable from the other pages' navigation.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BASE_URL, DESKTOP, openBrowser, shot, visit } from './helpers.mjs';

describe('the API docs page', () => {
  let browser;
  let doc;
  before(async () => {
    browser = await openBrowser(DESKTOP);
    doc = await (await fetch(`${BASE_URL}/api/v1/openapi.json`)).json();
  });
  after(async () => {
    await browser?.close();
  });

  it('lists every operation of the document with its responses', async () => {
    const { page } = browser;
    await visit(page, '/');
    await page.getByRole('link', { name: 'API' }).click();
    await page.waitForSelector('body[data-ready="true"]');
    assert.match(await page.textContent('#status'), /operations/);
    const expected = Object.values(doc.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
    const shown = await page.$$eval('#operations section.card', (cards) => cards.map((c) => c.id.replace(/^op-/, '')));
    assert.deepEqual(shown, expected);
    const startRide = await page.textContent('#op-startRide');
    assert.match(startRide, /POST \/api\/v1\/cities\/\{city\}\/rides/);
    assert.match(startRide, /409/);
    assert.match(startRide, /idempotency-key/);
    assert.match(startRide, /Authorization: Bearer/);
    await shot(page, 'docs-desktop');
  });

  it('links bodies to their schemas', async () => {
    const { page } = browser;
    await visit(page, '/docs');
    await page.click('#op-signUp a[href="#schema-SignUp"]');
    const fields = await page.$$eval('#schema-SignUp tbody td:first-child', (tds) => tds.map((td) => td.textContent));
    assert.deepEqual(fields.sort(), ['city', 'email', 'name', 'password']);
    assert.deepEqual(browser.unexpectedErrors(), []);
  });
});
