// Signing in to a shared scry server in headless Chromium: the page asks for a
// token, refuses a wrong one with the server's message, signs in with the
// right one (an HttpOnly cookie the page's script cannot read), shows who is
// signed in, searches only that user's photos, and signs out.
//
//   SCRY_URL=http://127.0.0.1:PORT SCRY_TOKEN=scry_… SCRY_USER=ann SCRY_ROOT=/…/animals \
//     node --test tests/browser/signin.test.mjs
//
// Run by web/tests/browser.rs against a real `scry serve` with users.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, shot as shotOf, STEP_TIMEOUT } from './harness.mjs';

const base = (process.env.SCRY_URL || '').replace(/\/+$/, '');
const TOKEN = process.env.SCRY_TOKEN || '';
const USER = process.env.SCRY_USER || '';
const ROOT = process.env.SCRY_ROOT || '';

let browser;
let page;
let problems = [];

before(async () => {
  assert.ok(base && TOKEN && USER && ROOT, 'SCRY_URL, SCRY_TOKEN, SCRY_USER and SCRY_ROOT are needed');
  ({ browser, page, problems } = await launch());
});

after(async () => { if (browser) await browser.close(); });

const shot = (name) => shotOf(page, name);

test('a shared server asks for a token, signs in, searches only what the user may see, signs out', async () => {
  await page.goto(`${base}/`);
  const dialog = page.locator('#signin');
  await dialog.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  assert.equal(await page.locator('#account').isVisible(), false);
  await shot('signin-dialog.png');

  // A wrong token: the server's message, still signed out.
  await page.fill('#signin-token', 'scry_00000000_wrong');
  await page.click('#signin-submit');
  await page.locator('#signin-error').waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  assert.match(await page.locator('#signin-error').textContent(), /not valid/);

  // The right one: the page reloads signed in.
  await page.fill('#signin-token', TOKEN);
  await Promise.all([page.waitForNavigation({ timeout: STEP_TIMEOUT }), page.click('#signin-submit')]);
  await page.locator('#account').waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  assert.equal(await page.locator('#account-name').textContent(), USER);
  assert.equal(await dialog.isVisible(), false);
  // The cookie is HttpOnly: the page's script never sees the token.
  assert.equal(await page.evaluate(() => document.cookie.includes('scry_token')), false);
  assert.equal(await page.locator('#rescan').isVisible(), false, 'rescan is for admins');

  // A search shows this user's photos only.
  await page.fill('#q', 'a photo');
  await page.waitForFunction(() => document.querySelectorAll('#results .hit').length > 0, null, { timeout: STEP_TIMEOUT });
  const folders = await page.evaluate(async () => {
    const r = await fetch('/api/search?q=a%20photo&k=100');
    return (await r.json()).hits.map((h) => h.folder);
  });
  assert.ok(folders.length > 0);
  for (const f of folders) assert.ok(f.startsWith(ROOT), `${f} is not under ${ROOT}`);
  const shown = await page.locator('#results .hit').count();
  assert.equal(shown, folders.length, 'the grid shows exactly the visible photos');
  await shot('signin-signed-in.png');

  // Signing out: the dialog again, and the API answers 401.
  await Promise.all([page.waitForNavigation({ timeout: STEP_TIMEOUT }), page.click('#sign-out')]);
  await dialog.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  const status = await page.evaluate(async () => (await fetch('/api/status')).status);
  assert.equal(status, 401);
  assert.deepEqual(problems, []);
});
