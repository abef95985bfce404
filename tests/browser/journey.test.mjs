// The whole vehicle-sharing journey of a user on a phone, through the UI only: sign up (and a
// refused field shown next to it), a bad password refused in words, log in, vehicles here and
// in another city, add a vehicle, start and end a ride on it, my rides, log out.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { HERE, PHONE, openBrowser, shot, visit } from './helpers.mjs';

const OTHER_CITY = HERE.slug === 'paris' ? 'rome' : 'paris';
const tag = randomUUID().slice(0, 8);
const me = { name: `Rider ${tag}`, email: `rider-${tag}@example.com`, password: `correct horse ${tag}` };
const spot = `Piazza Navona ${tag}`;
const dropOff = `Campo de' Fiori ${tag}`;

describe(`the vehicle-sharing journey, as a user in ${HERE.city} on a phone`, () => {
  let browser;
  let page;
  before(async () => {
    browser = await openBrowser(PHONE);
    page = browser.page;
  });
  after(async () => {
    await browser?.close();
  });

  const status = () => page.textContent('#status');
  const vehicleRow = (text) => page.locator('#vehicles li', { hasText: text });

  it('shows a refused field next to that field', async () => {
    await visit(page, '/app');
    assert.equal(await page.inputValue('#signup select[name="city"]'), HERE.slug, 'home city defaults to where we are');
    const form = page.locator('#signup');
    await form.getByLabel('Email').fill(me.email);
    await form.getByLabel('Name').fill(me.name);
    await form.getByLabel('Password').fill('short');
    browser.allow(422, '/api/v1/users');
    await form.getByRole('button', { name: 'Create account' }).click();
    const error = page.locator('#signup-password-error');
    await error.waitFor({ state: 'visible' });
    assert.match(await error.textContent(), /[a-z]{3,} .*[a-z]{3,}/i, 'an explanation in words');
    assert.equal(await form.getByLabel('Password').getAttribute('aria-invalid'), 'true');
    await shot(page, 'app-field-error');
  });

  it('signs up', async () => {
    const form = page.locator('#signup');
    await form.getByLabel('Password').fill(me.password);
    await form.getByRole('button', { name: 'Create account' }).click();
    await page.waitForFunction(() => /Account created/.test(document.getElementById('status').textContent));
    assert.match(await status(), new RegExp(`${me.email}.*${HERE.city}`));
    assert.equal(await page.textContent('#signup-password-error'), '', 'the old error is gone');
  });

  it('refuses a bad password with a message in words', async () => {
    const form = page.locator('#login');
    assert.equal(await form.getByLabel('Email').inputValue(), me.email, 'the new email is filled in');
    await form.getByLabel('Password').fill('not my password');
    browser.allow(401, '/api/v1/sessions');
    await form.getByRole('button', { name: 'Log in' }).click();
    const error = page.locator('#login-error');
    await error.waitFor({ state: 'visible' });
    const words = await error.textContent();
    assert.match(words, /[a-z]{3,} [a-z]{2,}/i, `"${words}" is words`);
    assert.ok(await page.locator('#signed-in').isHidden(), 'still signed out');
    await shot(page, 'app-bad-password');
  });

  it('logs in with the keyboard', async () => {
    const password = page.locator('#login').getByLabel('Password');
    await password.fill(me.password);
    await password.press('Enter');
    await page.locator('#signed-in').waitFor({ state: 'visible' });
    assert.ok(await page.locator('#signed-out').isHidden(), 'the sign-up and log-in forms are gone');
    assert.match(await page.textContent('#me'), new RegExp(`${me.name} \\(${me.email}\\), home city ${HERE.city}`));
    assert.ok(await page.evaluate(() => JSON.parse(sessionStorage.getItem('roam.session'))?.token), 'token kept');
  });

  it(`lists the available vehicles in ${HERE.city}`, async () => {
    assert.equal(await page.inputValue('#vehicle-city'), HERE.slug);
    await page.locator('#vehicles li[data-vehicle-id]').first().waitFor();
    assert.match(await page.textContent('#vehicles-meta'), new RegExp(`^\\d+ available in ${HERE.city}`));
    await shot(page, 'app-vehicles');
  });

  it('lists the vehicles of another city', async () => {
    await page.selectOption('#vehicle-city', OTHER_CITY);
    await page.waitForFunction((c) => document.getElementById('vehicles-meta').textContent.includes(c), OTHER_CITY === 'paris' ? 'Paris' : 'Rome');
    assert.ok((await page.locator('#vehicles li[data-vehicle-id]').count()) > 0);
    await page.selectOption('#vehicle-city', HERE.slug);
    await page.waitForFunction((c) => document.getElementById('vehicles-meta').textContent.includes(c), HERE.city);
  });

  it('adds a vehicle and sees it at once (read-your-writes)', async () => {
    const form = page.locator('#add-vehicle');
    await form.getByLabel('Type').selectOption('scooter');
    await form.getByLabel('Where it is').fill(spot);
    await form.getByLabel('Color (optional)').fill('green');
    await form.getByLabel('Brand (optional)').fill('Roamer');
    const relist = page.waitForRequest((r) => r.method() === 'GET' && r.url().includes(`/cities/${HERE.slug}/vehicles`));
    await form.getByRole('button', { name: 'Add vehicle' }).click();
    const bookmark = (await relist).headers()['x-roam-bookmark'] ?? '';
    assert.match(bookmark, /^b3\./, 'the read after the write presents the bookmark the write returned');
    await vehicleRow(spot).waitFor();
    assert.match(await vehicleRow(spot).textContent(), /green Roamer scooter/);
    assert.match(await status(), /Added the green Roamer scooter/);
  });

  it('starts a ride on it', async () => {
    await vehicleRow(spot).getByRole('button', { name: /Start/ }).click();
    const open = page.locator('#rides li[data-open="true"]', { hasText: spot });
    await open.waitFor();
    await vehicleRow(spot).waitFor({ state: 'detached' });
    assert.match(await status(), /Ride started/);
    await shot(page, 'app-riding');
  });

  it('ends the ride where it left the scooter', async () => {
    const open = page.locator('#rides li[data-open="true"]', { hasText: spot });
    await open.getByLabel('Where you left it').fill(dropOff);
    await open.getByRole('button', { name: 'End ride' }).click();
    const ended = page.locator('#rides li[data-open="false"]', { hasText: dropOff });
    await ended.waitFor();
    assert.match(await ended.textContent(), new RegExp(`${spot} → ${dropOff}`));
    await vehicleRow(dropOff).waitFor();
  });

  it('lists my rides', async () => {
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await page.locator('#rides li[data-open="false"]', { hasText: dropOff }).waitFor();
    assert.equal(await page.locator('#rides li[data-open="true"]').count(), 0);
  });

  it('shows the fare once the background job has priced the ride', async () => {
    const fare = () => page.locator('#rides li[data-open="false"]', { hasText: dropOff }).locator('[data-fare]');
    // The job runs in the home region right after the ride ends; reload until it has.
    for (let attempt = 0; attempt < 20 && !(await fare().getAttribute('data-fare')); attempt += 1) {
      await page.waitForTimeout(500);
      await page.reload();
      await page.waitForSelector('body[data-ready="true"]');
    }
    assert.match(await fare().getAttribute('data-fare'), /^\d+$/, 'fare in cents');
    assert.match(await fare().textContent(), /€|EUR/, 'in Rome the fare is in euros');
    await shot(page, 'app-my-rides');
  });

  it('logs out', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.locator('#signed-out').waitFor({ state: 'visible' });
    assert.ok(await page.locator('#signed-in').isHidden());
    assert.equal(await status(), 'Logged out.');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('roam.session')), null);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
    await shot(page, 'app-logged-out');
  });

  it('logged no console errors', () => {
    assert.deepEqual(browser.unexpectedErrors(), []);
  });
});
