// The API reference page renders the OpenAPI document the edge serves with Swagger UI: every
// operation, its parameters and responses, and "Try it out" answering from this edge, all
// under the pages' Content-Security-Policy (a violation is a console error, which fails).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BASE_URL, DESKTOP, HERE, openBrowser, shot, visit } from './helpers.mjs';

/** The operation ids of the document, and of the operations the page shows. */
async function operationIds(page, doc) {
  const expected = Object.values(doc.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
  const shown = await page.$$eval('.opblock[id^="operations-"]', (blocks) =>
    blocks.map((b) => b.id.split('-').slice(2).join('-')),
  );
  return { expected: expected.sort(), shown: shown.sort() };
}

describe('the API reference page', () => {
  let browser;
  let doc;
  before(async () => {
    browser = await openBrowser(DESKTOP);
    doc = await (await fetch(`${BASE_URL}/api/v1/openapi.json`)).json();
  });
  after(async () => {
    await browser?.close();
  });

  it('shows every operation of the document with its parameters and responses', async () => {
    const { page } = browser;
    await visit(page, '/');
    await page.getByRole('link', { name: 'API' }).click();
    await page.waitForSelector('body[data-ready="true"]');
    const { expected, shown } = await operationIds(page, doc);
    assert.deepEqual(shown, expected);
    const startRide = page.locator('.opblock[id$="-startRide"]');
    await startRide.locator('.opblock-summary-control').click();
    await startRide.locator('.responses-table').waitFor();
    assert.match(await startRide.locator('.opblock-summary-path').textContent(), /\/api\/v1\/cities\/\{city\}\/rides/);
    assert.equal(await startRide.locator('.responses-table tr[data-code="409"]').count(), 1);
    assert.equal(await startRide.locator('tr[data-param-name="idempotency-key"]').count(), 1);
    assert.equal(await startRide.locator('.authorization__btn').count(), 1, 'needs a session');
    await shot(page, 'docs-desktop');
  });

  it('tries an operation against this edge', async () => {
    const { page } = browser;
    await visit(page, '/docs');
    await page.waitForSelector('body[data-ready="true"]');
    const list = page.locator('.opblock[id$="-listVehicles"]');
    await list.locator('.opblock-summary-control').click();
    await list.locator('.try-out__btn').click();
    await list.locator('tr[data-param-name="city"] input').fill(HERE.slug);
    await list.locator('.execute').click();
    const live = list.locator('.live-responses-table tbody .response-col_status').first();
    await live.waitFor();
    assert.equal((await live.textContent()).trim(), '200');
    assert.match(await list.locator('.live-responses-table .microlight').first().textContent(), /"vehicles"/);
    assert.deepEqual(browser.unexpectedErrors(), []);
  });
});
