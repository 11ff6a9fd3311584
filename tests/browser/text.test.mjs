// Text in images in headless Chromium: `text:"…"` typed into the box finds the
// pictures holding that phrase, and the lightbox shows the text read in a
// picture (scry index --ocr).
//
//   SCRY_URL=http://127.0.0.1:PORT node --test tests/browser/text.test.mjs
//
// Run by web/tests/browser.rs against `scry serve` on a library of a few
// tests/fixtures/ocr images (two turned pages with "… is due on Monday", a
// settings screenshot) and a cat, indexed with --ocr.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, shot as shotOf, STEP_TIMEOUT } from './harness.mjs';

const base = (process.env.SCRY_URL || '').replace(/\/+$/, '');

let browser;
let page;
let problems = [];

before(async () => {
  assert.ok(base, 'SCRY_URL is needed');
  ({ browser, page, problems } = await launch());
});

after(async () => { if (browser) await browser.close(); });

const names = () => page.$$eval('#results .hit img', (imgs) => imgs.map((i) => i.alt).sort());

test('text: finds the pictures holding a phrase; the lightbox shows the text read', async () => {
  await page.goto(`${base}/?q=${encodeURIComponent('text:"due on Monday"')}`);
  await page.waitForFunction(() => document.querySelectorAll('#results .hit').length === 2, null, { timeout: STEP_TIMEOUT });
  assert.deepEqual(await names(), ['text_27.png', 'text_28.png']);

  await page.locator('#results .hit img[alt="text_27.png"]').click();
  await page.locator('#lightbox[open]').waitFor({ timeout: STEP_TIMEOUT });
  const text = page.locator('#lb-text');
  await text.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  const read = await text.innerText();
  assert.match(read, /prynibgri/);
  assert.ok(read.split('\n').length >= 4, `one line per line of the page: ${read}`);
  await shotOf(page, 'text-lightbox.png');

  // A picture with no text has no Text row.
  await page.keyboard.press('Escape');
  await page.goto(`${base}/?q=${encodeURIComponent('a cat')}`);
  await page.waitForFunction(() => document.querySelectorAll('#results .hit').length > 0, null, { timeout: STEP_TIMEOUT });
  await page.locator('#results .hit img[alt="chelsea.jpg"]').click();
  await page.locator('#lightbox[open]').waitFor({ timeout: STEP_TIMEOUT });
  await page.waitForFunction(() => document.querySelector('#lb-size').textContent !== '…', null, { timeout: STEP_TIMEOUT });
  assert.ok(await page.locator('#lb-text-row').isHidden());
  assert.deepEqual(problems, [], problems.join('\n'));
});
