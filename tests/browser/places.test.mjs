// Places in headless Chromium: "… in CITY" typed into the box becomes a place
// chip and a filter; the lightbox shows where a photo was taken and offers
// "Photos from here", which puts the place into the query as a chip that can
// be taken out again.
//
//   SCRY_URL=http://127.0.0.1:PORT node --test tests/browser/places.test.mjs
//
// Run by web/tests/browser.rs against `scry serve` on a library of
// tests/fixtures/places (twenty cities, Belém 6 km and Setúbal 32 km from
// Lisbon, one photo with no position).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { launch, REPO, shot as shotOf, STEP_TIMEOUT } from './harness.mjs';

const base = (process.env.SCRY_URL || '').replace(/\/+$/, '');
const manifest = JSON.parse(fs.readFileSync(path.join(REPO, 'tests/fixtures/places/manifest.json'), 'utf8'));
const fileOf = (city) => manifest.find((m) => m.city === city).file;

let browser;
let page;
let problems = [];

before(async () => {
  assert.ok(base, 'SCRY_URL is needed');
  ({ browser, page, problems } = await launch());
});

after(async () => { if (browser) await browser.close(); });

const shot = (name) => shotOf(page, name);

const names = () => page.$$eval('#results .hit img', (imgs) => imgs.map((i) => i.alt).sort());
const settled = () => page.waitForFunction(() => !document.body.classList.contains('is-loading'), null, { timeout: STEP_TIMEOUT });

test('a place typed into the box is a chip and a filter; the lightbox offers the photo\'s place', async () => {
  await page.goto(`${base}/?q=${encodeURIComponent('in Lisbon')}`);
  const chip = page.locator('#understood .chip-understood[data-kind="place"]');
  await chip.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  await page.waitForFunction(() => document.querySelectorAll('#results .hit').length === 2, null, { timeout: STEP_TIMEOUT });
  assert.match(await chip.innerText(), /Place:\s*Lisbon, Portugal/);
  assert.deepEqual(await names(), [fileOf('Lisbon'), fileOf('Belém')].sort(), 'Lisbon and Belém, not Setúbal');
  assert.equal(await page.locator('#q').inputValue(), 'in Lisbon', 'the box keeps what was typed');
  await shot('place-chip.png');

  // Undone: the words are text again, every photo comes back.
  await chip.locator('button').click();
  await chip.waitFor({ state: 'detached', timeout: STEP_TIMEOUT });
  await page.waitForFunction(() => new URLSearchParams(location.search).get('keep') === 'in Lisbon');
  await page.waitForFunction(() => document.querySelectorAll('#results .hit').length > 2, null, { timeout: STEP_TIMEOUT });

  // The lightbox names the place of the Tokyo photo; "Photos from here" filters by it.
  await page.goto(`${base}/?q=${encodeURIComponent('a photo')}`);
  await settled();
  const tokyo = fileOf('Tokyo');
  await page.locator(`#results .hit img[alt="${tokyo}"]`).click();
  await page.locator('#lightbox[open]').waitFor({ timeout: STEP_TIMEOUT });
  await page.waitForFunction(() => /Japan/.test(document.querySelector('#lb-place').textContent), null, { timeout: STEP_TIMEOUT });
  assert.ok(await page.locator('#lb-here').isVisible());
  await shot('place-lightbox.png');
  await page.locator('#lb-here').click();
  const here = page.locator('#understood .chip-understood[data-kind="place"]');
  await here.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  assert.match(await page.locator('#q').inputValue(), /^a photo place:"[^"]+, JP"$/);
  await page.waitForFunction(() => document.querySelectorAll('#results .hit').length === 1, null, { timeout: STEP_TIMEOUT });
  assert.deepEqual(await names(), [tokyo]);

  // A photo with no position has no place and no button.
  const nowhere = manifest.find((m) => m.city === null).file;
  await here.locator('button').click();
  await here.waitFor({ state: 'detached', timeout: STEP_TIMEOUT });
  assert.equal(await page.locator('#q').inputValue(), 'a photo', 'the place: token is taken out of the query');
  await page.waitForFunction(() => document.querySelectorAll('#results .hit').length > 1, null, { timeout: STEP_TIMEOUT });
  await page.locator(`#results .hit img[alt="${nowhere}"]`).click();
  await page.waitForFunction(() => document.querySelector('#lb-place').textContent === '—', null, { timeout: STEP_TIMEOUT });
  assert.ok(await page.locator('#lb-here').isHidden());
  assert.deepEqual(problems, [], problems.join('\n'));
});
