// Videos in headless Chromium: a picture of a video's frame finds the video,
// its cell says where ("▶ 0:24"), the lightbox plays it from that moment (the
// original served in byte ranges), "More like this" searches like that moment;
// a Live Photo's clip plays from the lightbox.
//
//   SCRY_URL=http://127.0.0.1:PORT node --test tests/browser/video.test.mjs
//
// Run by web/tests/browser.rs against `scry serve` on a library of
// tests/fixtures/video/scenes.webm (as trip/beach.webm: three shots of 12 s)
// and a Live Photo (IMG_0001.JPG with its clip IMG_0001.webm).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { launch, REPO, shot as shotOf, STEP_TIMEOUT } from './harness.mjs';

const base = (process.env.SCRY_URL || '').replace(/\/+$/, '');
const FRAME = path.join(REPO, 'tests/fixtures/video/frame-24.png');

let browser;
let page;
let problems = [];

before(async () => {
  assert.ok(base, 'SCRY_URL is needed');
  ({ browser, page, problems } = await launch());
});

after(async () => { if (browser) await browser.close(); });

test('a video is found at its frame and plays from there; a Live Photo plays its clip', async () => {
  await page.goto(`${base}/`);
  await page.waitForFunction(() => !/Connecting/.test(document.querySelector('#status').textContent), null, { timeout: STEP_TIMEOUT });
  const posted = page.waitForResponse((r) => r.url().endsWith('/api/search') && r.request().method() === 'POST');
  await page.locator('#file-input').setInputFiles(FRAME);
  const body = await (await posted).json();
  assert.equal(body.hits[0].name, 'beach.webm', JSON.stringify(body.hits));
  assert.equal(body.hits[0].time, 24);
  await page.waitForFunction(() => document.querySelectorAll('#results .hit').length === 2, null, { timeout: STEP_TIMEOUT });
  const badge = page.locator('#results .hit').first().locator('.hit-video');
  assert.equal(await badge.innerText(), '▶ 0:24');

  // The lightbox plays the video from 24 s, fetched in ranges.
  const ranged = page.waitForResponse((r) => /\/api\/images\/\d+\/original/.test(r.url()) && r.status() === 206, { timeout: STEP_TIMEOUT });
  await page.locator('#results .hit').first().click();
  await page.locator('#lightbox[open]').waitFor({ timeout: STEP_TIMEOUT });
  const res = await ranged;
  assert.match(res.headers()['content-range'] || '', /^bytes \d+-\d+\/\d+$/);
  assert.equal(res.headers()['content-type'], 'video/webm');
  const video = page.locator('#lb-video');
  await video.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  assert.ok(await page.locator('#lb-img').isHidden(), 'the picture gives way to the video');
  await page.waitForFunction(() => {
    const v = document.querySelector('#lb-video');
    return v.readyState >= 2 && v.currentTime >= 24 && v.currentTime < 30;
  }, null, { timeout: STEP_TIMEOUT });
  // It plays on (muted, so the browser lets it start by itself).
  const t0 = await video.evaluate((v) => v.currentTime);
  await page.waitForFunction((start) => document.querySelector('#lb-video').currentTime > start + 0.3, t0, { timeout: STEP_TIMEOUT });
  assert.match(await page.locator('#lb-format').innerText(), /WEBM · video 0:36/);
  await shotOf(page, 'video-lightbox.png');

  // More like this moment: the other item, the chip names the moment.
  const liked = page.waitForResponse((r) => /\/api\/search\?.*like=\d+.*&at=24/.test(r.url()));
  await page.locator('#more-like-this').click();
  assert.equal((await liked).status(), 200);
  await page.locator('#chips .chip').waitFor({ timeout: STEP_TIMEOUT });
  assert.match(await page.locator('#chips .chip').innerText(), /beach\.webm at 0:24/);
  await page.waitForFunction(() => document.querySelectorAll('#results .hit').length === 1, null, { timeout: STEP_TIMEOUT });
  assert.ok(await page.locator('#lb-video').isHidden(), 'closing the lightbox stops the video');

  // The Live Photo: its picture, with a Live button that plays the clip.
  await page.locator('#results .hit img[alt="IMG_0001.JPG"]').click();
  await page.locator('#lightbox[open]').waitFor({ timeout: STEP_TIMEOUT });
  const live = page.locator('#lb-motion');
  await live.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  assert.ok(await page.locator('#lb-video').isHidden());
  await live.click();
  await page.waitForFunction(() => {
    const v = document.querySelector('#lb-video');
    return !v.hidden && /\/api\/images\/\d+\/motion/.test(v.src) && v.readyState >= 2;
  }, null, { timeout: STEP_TIMEOUT });
  assert.equal(await live.getAttribute('aria-pressed'), 'true');
  await live.click();
  assert.ok(await page.locator('#lb-video').isHidden());
  assert.ok(await page.locator('#lb-img').isVisible());
  assert.deepEqual(problems, [], problems.join('\n'));
});
