// Queries in other languages in headless Chromium: `scry serve --text-model`
// pairs a multilingual text tower with the library's image model; a Cyrillic,
// a Chinese and an Arabic query typed into the box are ranked by that tower's
// vectors, and the status line names it.
//
//   SCRY_URL=http://127.0.0.1:PORT SCRY_EXPECT='{"query": ["first", ...]}' \
//     node --test tests/browser/multilingual.test.mjs
//
// Run by web/tests/browser.rs, which works out the expected order from the
// reference's text vectors (golden-multilingual.json) and the library's own
// image vectors.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, shot as shotOf, STEP_TIMEOUT } from './harness.mjs';

const base = (process.env.SCRY_URL || '').replace(/\/+$/, '');
const expect = JSON.parse(process.env.SCRY_EXPECT || '{}');

let browser;
let page;
let problems = [];

before(async () => {
  assert.ok(base, 'SCRY_URL is needed');
  assert.ok(Object.keys(expect).length, 'SCRY_EXPECT is needed');
  ({ browser, page, problems } = await launch());
});

after(async () => { if (browser) await browser.close(); });

test('queries in other languages are ranked by the text model', async () => {
  await page.goto(base);
  const status = page.locator('.status-text-model');
  await status.waitFor({ timeout: STEP_TIMEOUT });
  assert.match(await status.innerText(), /tiny-multilingual/);
  const box = page.locator('#q');
  for (const [query, order] of Object.entries(expect)) {
    await box.fill(query);
    await box.press('Enter');
    // The grid shows the previous query's hits until the new ones arrive.
    await page.waitForFunction(
      (want) => {
        const alts = [...document.querySelectorAll('#results .hit img')].slice(0, 3).map((i) => i.alt);
        return alts.join('\n') === want.join('\n');
      },
      order.slice(0, 3),
      { timeout: STEP_TIMEOUT },
    ).catch(() => {});
    const shown = await page.$$eval('#results .hit img', (imgs) => imgs.slice(0, 3).map((i) => i.alt));
    assert.deepEqual(shown, order.slice(0, 3), query);
  }
  await shotOf(page, 'multilingual.png');
  assert.deepEqual(problems, [], problems.join('\n'));
});
