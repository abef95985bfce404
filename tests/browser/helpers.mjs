// Shared by the browser tests: a headless Debian Chromium driven by playwright-core, with a
// fresh profile, console errors collected, and screenshots saved under test-output/.
//
// ROAM_BASE_URL  where the UI is served (the `--as` front in front of `wrangler dev`)
// ROAM_AS_CITY   the city the front presents the browser as (default rome)
// ROAM_SCREENSHOTS  folder for screenshots (default <repo>/test-output/screenshots)
// CHROMIUM       the browser binary (default /usr/bin/chromium)

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const BASE_URL = (process.env.ROAM_BASE_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
export const SCREENSHOTS = process.env.ROAM_SCREENSHOTS ?? path.join(repo, 'test-output', 'screenshots');

/** What the edge should report for each city the front can be (the ones the tests use). */
const PLACES = {
  rome: { country: 'IT', city: 'Rome', colo: 'FCO', region: 'eu-west' },
  paris: { country: 'FR', city: 'Paris', colo: 'CDG', region: 'eu-west' },
  'new-york': { country: 'US', city: 'New York', colo: 'EWR', region: 'us-east' },
  tokyo: { country: 'JP', city: 'Tokyo', colo: 'NRT', region: 'us-west' },
};
export const AS_CITY = process.env.ROAM_AS_CITY ?? 'rome';
export const HERE = { slug: AS_CITY, ...PLACES[AS_CITY] };
export const placeOf = (slug) => ({ slug, ...PLACES[slug] });

export const PHONE = { width: 360, height: 780 };
export const DESKTOP = { width: 1280, height: 900 };

const ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/**
 * A browser with a fresh profile and one page. `allow(status, path)` declares a failed
 * response the test provokes on purpose (Chromium logs those as console errors);
 * `unexpectedErrors()` is every other console error or uncaught exception.
 */
export async function openBrowser(viewport = DESKTOP) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'roam-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ARGS,
    viewport,
  });
  context.setDefaultTimeout(20_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  const allowed = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push({ text: m.text(), url: m.location()?.url ?? '' });
  });
  page.on('pageerror', (e) => errors.push({ text: `uncaught: ${e.message}`, url: '' }));
  return {
    context,
    page,
    allow(status, urlPath) {
      allowed.push({ status, urlPath });
    },
    unexpectedErrors() {
      return errors.filter((e) => !allowed.some((a) =>
        e.text.includes(`status of ${a.status}`) && new URL(e.url || 'http://x/').pathname === a.urlPath));
    },
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot as <SCREENSHOTS>/<name>.png and returns its path. */
export async function shot(page, name) {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Opens a page of the UI and waits until its script has finished loading data. */
export async function visit(page, urlPath) {
  await page.goto(`${BASE_URL}${urlPath}`);
  await page.waitForSelector('body[data-ready="true"]');
}
