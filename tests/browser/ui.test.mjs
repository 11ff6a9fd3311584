// End-to-end test of the scry web UI in headless Chromium.
//
//   SCRY_URL=http://127.0.0.1:8123 node --test tests/browser/ui.test.mjs
//
// SCRY_URL      base URL of a running server (the real one, or mock-server.mjs).
//               When unset, the test starts tests/browser/mock-server.mjs itself.
// CHROMIUM      browser binary (default /usr/bin/chromium; `apt-get install chromium`).
// SCRY_UPLOAD   image to upload (default sample_data/animals/chelsea.jpg, relative to the repo root).
// SCREENSHOT_DIR where the screenshots go (default target/screenshots under the repo root).
//
// Fails on any console error, page error, failed request, any non-API asset
// answering 4xx/5xx, and any API error response that the test didn't provoke.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const UPLOAD = path.resolve(REPO, process.env.SCRY_UPLOAD || 'sample_data/animals/chelsea.jpg');
const SHOTS = process.env.SCREENSHOT_DIR ? path.resolve(process.env.SCREENSHOT_DIR) : path.join(REPO, 'target', 'screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const STEP_TIMEOUT = Number(process.env.SCRY_TEST_TIMEOUT_MS || 20_000); // per wait; the real server embeds on CPU

let base = process.env.SCRY_URL ? process.env.SCRY_URL.replace(/\/+$/, '') : null;
let mock = null;
let browser;
let context;
let page;

// ---------------------------------------------------------------- problem collection

const problems = [];
let expectApiErrors = false; // true while the test provokes an API error on purpose

function isApi(url) {
  try { return new URL(url).pathname.startsWith('/api/'); } catch { return false; }
}

function watch(p) {
  p.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = msg.location() && msg.location().url;
    // Chromium logs every 4xx/5xx response and network failure as "Failed to
    // load resource"; the response and requestfailed handlers below judge those.
    if (/^Failed to load resource/.test(msg.text())) return;
    problems.push(`console error: ${msg.text()}${where ? ` (${where})` : ''}`);
  });
  p.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  p.on('requestfailed', (req) => {
    const err = (req.failure() && req.failure().errorText) || 'failed';
    // Superseded searches and images that scrolled away are cancelled on purpose.
    if (isApi(req.url()) && /ERR_ABORTED|NS_BINDING_ABORTED|cancelled/i.test(err)) return;
    problems.push(`request failed: ${req.method()} ${req.url()} — ${err}`);
  });
  p.on('response', (res) => {
    if (res.status() < 400) return;
    if (isApi(res.url()) && expectApiErrors) return;
    problems.push(`HTTP ${res.status()} for ${res.request().method()} ${res.url()}`);
  });
}

function assertClean(step) {
  const found = problems.splice(0).map((m) => (m.length > 400 ? `${m.slice(0, 400)}…` : m));
  assert.deepEqual(found, [], `${step}: the page reported problems`);
}

// ---------------------------------------------------------------- helpers

async function startMock() {
  const child = spawn(process.execPath, [path.join(HERE, 'mock-server.mjs'), '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('mock server did not start')), 10_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/http:\/\/127\.0\.0\.1:\d+/);
      if (m) { clearTimeout(timer); resolve(m[0]); }
    });
    child.on('exit', (code) => reject(new Error(`mock server exited with ${code}`)));
  });
  return { child, url };
}

const hits = () => page.locator('#results .hit');

async function waitForHits(min = 1) {
  await page.waitForFunction((n) => {
    const grid = document.querySelector('#results');
    return grid && !grid.hidden && grid.querySelectorAll('.hit').length >= n &&
      !document.body.classList.contains('is-loading');
  }, min, { timeout: STEP_TIMEOUT });
  return hits().count();
}

async function waitForVisibleImages() {
  await page.waitForFunction(() => {
    const imgs = [...document.querySelectorAll('#results .hit img')]
      .filter((img) => { const r = img.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight; });
    return imgs.every((img) => img.complete);
  }, null, { timeout: STEP_TIMEOUT });
  await page.waitForTimeout(400); // let the fade-in finish
}

async function horizontalOverflow() {
  return page.evaluate(() => {
    const vw = document.documentElement.clientWidth;
    const offenders = [...document.querySelectorAll('body *')]
      .filter((n) => {
        const r = n.getBoundingClientRect();
        return r.width > 0 && r.right > vw + 1 && getComputedStyle(n).position !== 'fixed' && !n.closest('dialog:not([open])');
      })
      .slice(0, 5)
      .map((n) => `${n.tagName.toLowerCase()}${n.id ? `#${n.id}` : ''}.${[...n.classList].join('.')}`);
    return { scrollWidth: document.documentElement.scrollWidth, bodyScroll: document.body.scrollWidth, vw, offenders };
  });
}

async function shot(name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, name) });
}

function params() {
  return new URL(page.url()).searchParams;
}

// ---------------------------------------------------------------- setup

before(async () => {
  if (!base) {
    mock = await startMock();
    base = mock.url;
  }
  assert.ok(fs.existsSync(CHROMIUM), `no browser at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM)`);
  assert.ok(fs.existsSync(UPLOAD), `no upload image at ${UPLOAD} (set SCRY_UPLOAD)`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  context = await browser.newContext({ viewport: DESKTOP, colorScheme: 'light', locale: 'en-US', timezoneId: 'UTC' });
  page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  watch(page);
});

after(async () => {
  if (browser) await browser.close();
  if (mock) mock.child.kill();
});

// ---------------------------------------------------------------- tests (run in order, sharing one page)

test('start page: empty state, status line, no errors', async () => {
  const status = await (await fetch(`${base}/api/status`)).json();
  const res = await page.goto(`${base}/`);
  assert.equal(res.status(), 200);
  await page.locator('#q').waitFor({ state: 'visible' });
  await page.locator('#empty').waitFor({ state: 'visible' });
  assert.equal(await hits().count(), 0);
  // The empty state and the status line both report the library size.
  await page.waitForFunction(() => !/Connecting/.test(document.querySelector('#status').textContent));
  const count = new Intl.NumberFormat('en-US').format(status.images);
  if (status.images > 0 && !status.indexing) {
    await page.waitForFunction((c) => document.querySelector('#empty').textContent.includes(c), count);
    assert.match(await page.locator('#empty').innerText(), /Type to search your/);
  }
  assert.match(await page.locator('#status').innerText(), status.indexing ? /Indexing|photo/ : new RegExp(`${count} photo`));
  // Accessibility basics.
  assert.equal(await page.locator('label[for="q"]').count(), 1);
  assert.equal(await page.locator('#summary').getAttribute('aria-live'), 'polite');
  const ov = await horizontalOverflow();
  assert.ok(ov.scrollWidth <= ov.vw, `desktop start page overflows horizontally: ${JSON.stringify(ov)}`);
  assertClean('start page');
});

test('the library\'s auto-tags on the start page list a tag\'s photos', async () => {
  if (mock) return; // the mock server has no model, so no tags
  await page.goto(`${base}/`);
  const facet = page.locator('#tag-facets .tag-facet').first();
  await facet.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  const tag = await facet.getAttribute('data-tag');
  const count = Number((await facet.locator('.tag-facet-count').innerText()).trim());
  assert.ok(count >= 1, `a facet counts its photos: ${count}`);
  const counts = await page.locator('#tag-facets .tag-facet-count').allInnerTexts();
  assert.deepEqual(counts.map(Number), [...counts.map(Number)].sort((a, b) => b - a), 'most first');
  await shot('tag-facets.png');
  await facet.click();
  await page.waitForFunction((t) => new URLSearchParams(location.search).get('q') === `tag:${t}`, tag);
  await page.waitForFunction((n) => {
    const grid = document.querySelector('#results');
    return grid && !grid.hidden && grid.querySelectorAll('.hit').length === n &&
      !document.body.classList.contains('is-loading');
  }, Math.min(count, 30), { timeout: STEP_TIMEOUT });
  assert.ok(await page.locator('#tag-facets').isHidden(), 'the facets leave with the start page');
  // Each of them carries the tag: the photo viewer lists it among the
  // photo's tags, and a click on one of them lists that tag's photos.
  await hits().first().click();
  await page.locator('#lb-tags-row').waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  const shown = await page.locator('#lb-tags .tag-facet').evaluateAll((bs) => bs.map((b) => b.dataset.tag));
  assert.ok(shown.includes(tag), `${tag} among the photo's tags: ${shown}`);
  await shot('lightbox-tags.png');
  const other = shown[shown.length - 1];
  await page.locator(`#lb-tags .tag-facet[data-tag="${other}"]`).click();
  await page.waitForFunction((t) => new URLSearchParams(location.search).get('q') === `tag:${t}`, other);
  await page.locator('#lightbox').waitFor({ state: 'hidden' });
  await waitForHits(1);
  assertClean('tag facets');
  // Back on the start page as the next test expects it: settled, with the
  // search box focused (it focuses itself after loading).
  await page.goto(`${base}/`);
  await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'q', null, { timeout: STEP_TIMEOUT });
  await page.waitForFunction(() => !/Connecting/.test(document.querySelector('#status').textContent), null, { timeout: STEP_TIMEOUT });
});

test('an admin adds a category of the library\'s own and removes it', async () => {
  if (mock) return; // the mock server has no model, so no tags
  await page.goto(`${base}/`);
  const form = page.locator('#category-form');
  await form.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  await page.locator('#category-name').fill('sailboat at sea');
  const added = page.waitForResponse((r) => /\/api\/tags\/categories\/sailboat%20at%20sea$/.test(r.url()) && r.request().method() === 'PUT');
  await page.locator('#category-form button[type="submit"]').click();
  assert.equal((await added).status(), 200);
  const own = page.locator('#own-categories .own-category[data-name="sailboat at sea"]');
  await own.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  await shot('own-category.png');
  const removed = page.waitForResponse((r) => /\/api\/tags\/categories\//.test(r.url()) && r.request().method() === 'DELETE');
  await own.locator('button').click();
  assert.equal((await removed).status(), 200);
  await own.waitFor({ state: 'detached', timeout: STEP_TIMEOUT });
  assertClean('own categories');
  await page.goto(`${base}/`);
  await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'q', null, { timeout: STEP_TIMEOUT });
  await page.waitForFunction(() => !/Connecting/.test(document.querySelector('#status').textContent), null, { timeout: STEP_TIMEOUT });
});

test('typing searches as you type (debounced) and fills the grid', async () => {
  const searches = [];
  const onReq = (r) => { if (r.url().includes('/api/search')) searches.push(r.url()); };
  page.on('request', onReq);
  // The start page focuses the search box; leave it so that "/" is a shortcut, not a character.
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.id), 'q', '"/" focuses the search box');
  await page.keyboard.type('cat', { delay: 40 });
  const n = await waitForHits(1);
  page.off('request', onReq);
  assert.ok(n >= 1, 'at least one result');
  assert.ok(searches.length <= 2, `typing 3 quick keys should be debounced, saw ${searches.length} searches: ${searches.join(' ')}`);
  assert.equal(params().get('q'), 'cat', 'the query is in the URL');

  const first = hits().first();
  assert.match(await first.getAttribute('data-id'), /^\d+$/);
  assert.match((await first.locator('.hit-score').innerText()).trim(), /^-?\d\.\d{3}$/, 'score with 3 decimals');
  const img = first.locator('img');
  assert.equal(await img.getAttribute('loading'), 'lazy');
  assert.ok((await img.getAttribute('alt')).length > 0, 'thumbnails have alt text');
  assert.match(await page.locator('#summary').innerText(), /\d+ results?/);
  await waitForVisibleImages();
  await first.hover();
  await page.waitForTimeout(250);
  await shot('desktop-results.png');
  assertClean('search');
});

test('a slow, superseded search never replaces newer results', async () => {
  const want = await (await fetch(`${base}/api/search?q=${encodeURIComponent('a cat')}&k=30`)).json();
  assert.ok(want.hits.length > 0);
  // Hold every "dog" search for 1.5 s so that it would arrive after the "a cat" one.
  const slow = async (route) => {
    await new Promise((r) => setTimeout(r, 1500));
    try { await route.continue(); } catch { /* the page cancelled it: fine */ }
  };
  await page.route((url) => url.pathname === '/api/search' && url.searchParams.get('q') === 'dog', slow);
  await page.locator('#q').fill('dog');
  await page.waitForTimeout(450); // the debounced "dog" search is now in flight
  await page.locator('#q').fill('a cat');
  await page.waitForTimeout(2200); // long enough for the held "dog" answer to come back
  await waitForHits(1);
  await page.unroute((url) => url.pathname === '/api/search' && url.searchParams.get('q') === 'dog', slow);
  assert.equal(params().get('q'), 'a cat');
  assert.equal(await hits().first().getAttribute('data-id'), String(want.hits[0].id), 'the grid shows the newest query\'s results');
  await page.locator('#q').fill('cat');
  await waitForHits(1);
  assertClean('out-of-order');
});

test('keyboard: arrows move through the grid, Enter opens, Esc closes', async () => {
  await page.locator('#q').focus();
  await page.keyboard.press('ArrowDown');
  const focused = () => page.evaluate(() => document.activeElement && document.activeElement.classList.contains('hit') ? Number(document.activeElement.dataset.index) : null);
  assert.equal(await focused(), 0, 'ArrowDown from the search box focuses the first result');
  if (await hits().count() > 1) {
    await page.keyboard.press('ArrowRight');
    assert.equal(await focused(), 1, 'ArrowRight moves to the next result');
    await page.keyboard.press('ArrowLeft');
    assert.equal(await focused(), 0);
  }
  await page.keyboard.press('Enter');
  await page.locator('#lightbox').waitFor({ state: 'visible' });
  await page.keyboard.press('Escape');
  await page.locator('#lightbox').waitFor({ state: 'hidden' });
  assert.equal(await focused(), 0, 'focus returns to the result after closing');
  assertClean('keyboard');
});

test('lightbox shows the original and its details; More like this', async () => {
  const first = hits().first();
  const id = await first.getAttribute('data-id');
  const name = (await first.locator('img').getAttribute('alt')).trim();
  await first.click();
  const lb = page.locator('#lightbox');
  await lb.waitFor({ state: 'visible' });
  assert.equal((await page.locator('#lb-title').innerText()).trim(), name);
  await page.waitForFunction(() => { const i = document.querySelector('#lb-img'); return i.complete && i.naturalWidth > 0; });
  await page.waitForFunction(() => !/…/.test(document.querySelector('#lb-size').textContent)); // details arrived
  assert.match(await page.locator('#lb-dims').innerText(), /\d+ × \d+/);
  assert.ok((await page.locator('#lb-path').innerText()).length > 0, 'path shown');
  assert.match(await page.locator('#lb-original').getAttribute('href'), new RegExp(`/api/images/${id}/original$`));
  await page.waitForTimeout(300);
  await shot('lightbox.png');

  if (await hits().count() > 1) {
    const second = await hits().nth(1).locator('img').getAttribute('alt');
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction((n) => document.querySelector('#lb-title').textContent.trim() === n, second.trim());
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction((n) => document.querySelector('#lb-title').textContent.trim() === n, name);
  }

  await page.locator('#more-like-this').click();
  await page.waitForFunction((want) => new URLSearchParams(location.search).get('like') === want, id);
  assert.equal(params().get('like'), id);
  if (await lb.isVisible()) await page.keyboard.press('Escape');
  await lb.waitFor({ state: 'hidden' });
  await waitForHits(1);
  assert.equal(await page.locator('#chips .chip').count(), 1, '"like" shows as a removable chip');

  await page.goBack();
  await page.waitForFunction(() => new URLSearchParams(location.search).get('q') === 'cat' && !new URLSearchParams(location.search).has('like'));
  await waitForHits(1);
  assert.equal(await page.locator('#q').inputValue(), 'cat', 'Back restores the text query');
  assertClean('lightbox');
});

test('search by uploaded image', async () => {
  const posted = page.waitForResponse((r) => r.url().endsWith('/api/search') && r.request().method() === 'POST');
  await page.locator('#file-input').setInputFiles(UPLOAD);
  const res = await posted;
  assert.equal(res.status(), 200, 'POST /api/search succeeds');
  assert.match(res.request().headers()['content-type'] || '', /^multipart\/form-data/);
  await waitForHits(1);
  await page.locator('#chips .chip img').waitFor({ state: 'visible' });
  // Text and image combine: the text query stays.
  assert.equal(await page.locator('#q').inputValue(), 'cat');
  const body = await res.json();
  assert.ok(Array.isArray(body.hits) && body.hits.length > 0);
  if (body.query && 'q' in body.query) assert.equal(body.query.q, 'cat', 'the text query was sent along with the image');
  // Pasting an image (Ctrl+V) searches by it too.
  const pasted = page.waitForResponse((r) => r.url().endsWith('/api/search') && r.request().method() === 'POST');
  const bytes = fs.readFileSync(UPLOAD).toString('base64');
  await page.evaluate(async (b64) => {
    const bin = atob(b64);
    const buf = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) buf[i] = bin.charCodeAt(i);
    const dt = new DataTransfer();
    dt.items.add(new File([buf], 'pasted.jpg', { type: 'image/jpeg' }));
    document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  }, bytes);
  assert.equal((await pasted).status(), 200);
  await waitForHits(1);
  assert.match(await page.locator('#chips .chip').innerText(), /pasted\.jpg/);
  // Remove the image again.
  await page.locator('#chips .chip button').click();
  await page.locator('#chips .chip').waitFor({ state: 'detached' });
  await waitForHits(1);
  assertClean('upload');
});

test('the query and filters survive a reload', async () => {
  await page.goto(`${base}/?q=cat`);
  await waitForHits(1);
  // On a wide screen the filters are always visible.
  await page.locator('#f-min-size').selectOption('256');
  await page.waitForFunction(() => new URLSearchParams(location.search).get('min_size') === '256');
  await page.waitForFunction(() => !document.body.classList.contains('is-loading'));
  await page.reload();
  await page.waitForFunction(() => !document.body.classList.contains('is-loading') &&
    (document.querySelectorAll('#results .hit').length > 0 || !document.querySelector('#empty').hidden));
  assert.equal(await page.locator('#q').inputValue(), 'cat');
  assert.equal(await page.locator('#f-min-size').inputValue(), '256');
  assert.equal(params().get('q'), 'cat');
  assert.ok(await page.locator('#error').isHidden(), 'no error');
  assertClean('reload');
});

test('a date typed into the box becomes a removable chip', async () => {
  // The sample photo with EXIF 2019-07-14 (the others are dated by their files).
  await page.goto(`${base}/?q=${encodeURIComponent('a cat 2019')}`);
  const chip = page.locator('#understood .chip-understood');
  await chip.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  await waitForHits(1);
  assert.match(await chip.innerText(), /2019/);
  assert.equal(await page.locator('#q').inputValue(), 'a cat 2019', 'the box keeps what was typed');
  const api = await (await fetch(`${base}/api/search?q=${encodeURIComponent('a cat 2019')}&k=100`)).json();
  assert.equal(api.understood.length, 1);
  assert.equal(api.understood[0].text, '2019');
  assert.ok(api.hits.length >= 1 && api.hits.every((h) => h.date && h.date.startsWith('2019')), 'only 2019');
  const dated = await hits().count();
  assert.equal(dated, Math.min(api.hits.length, 30));
  await shot('date-chip.png');
  // Undone: "2019" is words again, the chip goes, the photos of other years come back.
  await chip.locator('button').click();
  await chip.waitFor({ state: 'detached', timeout: STEP_TIMEOUT });
  await page.waitForFunction(() => new URLSearchParams(location.search).get('keep') === '2019');
  await page.waitForFunction((n) => !document.body.classList.contains('is-loading') &&
    document.querySelectorAll('#results .hit').length > n, dated, { timeout: STEP_TIMEOUT });
  assert.ok(await page.locator('#understood').isHidden());
  assertClean('date chip');
});

test('pagination: more results append in order and open correctly', async () => {
  await page.goto(`${base}/?q=cat&k=3`);
  await waitForHits(3);
  const first = await (await fetch(`${base}/api/search?q=cat&k=3`)).json();
  if (!first.has_more) return; // a library this small has nothing to page through
  // Infinite scroll may already have fetched the next page; otherwise use the button.
  if (await hits().count() <= 3) await page.locator('#load-more').click();
  await waitForHits(4);
  const cells = await page.$$eval('#results .hit', (els) => els.map((e) => ({ id: e.dataset.id, index: Number(e.dataset.index), name: e.querySelector('img').alt })));
  cells.forEach((c, i) => assert.equal(c.index, i, 'data-index follows the grid order'));
  assert.equal(new Set(cells.map((c) => c.id)).size, cells.length, 'no duplicate results');
  const second = await (await fetch(`${base}/api/search?q=cat&k=3&offset=3`)).json();
  assert.equal(cells[3].id, String(second.hits[0].id), 'page 2 starts where page 1 ended');
  await hits().nth(3).click();
  await page.locator('#lightbox').waitFor({ state: 'visible' });
  assert.equal((await page.locator('#lb-title').innerText()).trim(), cells[3].name);
  await page.keyboard.press('Escape');
  await page.locator('#lightbox').waitFor({ state: 'hidden' });
  assertClean('pagination');
});

test('server errors are shown with the server\'s message', async () => {
  const missing = '987654321';
  const direct = await fetch(`${base}/api/search?like=${missing}`);
  assert.ok(direct.status >= 400, `like=<unknown id> should be an error, got ${direct.status}`);
  const body = await direct.json();
  expectApiErrors = true;
  try {
    await page.goto(`${base}/?like=${missing}`);
    await page.locator('#error').waitFor({ state: 'visible' });
    assert.equal((await page.locator('#error-message').innerText()).trim(), body.message);
    await page.waitForTimeout(300);
  } finally {
    expectApiErrors = false;
  }
  assertClean('error');
});

test('rescan: the library\'s folders are looked at again on request', async () => {
  if (mock) return; // the mock server has no /api/rescan
  await page.goto(`${base}/`);
  await page.locator('#rescan').waitFor({ state: 'visible' });
  const posted = page.waitForResponse((r) => r.url().endsWith('/api/rescan') && r.request().method() === 'POST');
  await page.locator('#rescan').click();
  const res = await posted;
  assert.equal(res.status(), 202, 'the rescan starts');
  assert.equal((await res.json()).started, true);
  await page.locator('#toast').waitFor({ state: 'visible' });
  // It ends, and the library is unchanged (nothing moved on disk).
  await page.waitForFunction(async () => {
    const s = await (await fetch('/api/status')).json();
    return !s.indexing && s.images === 19;
  }, null, { timeout: STEP_TIMEOUT, polling: 250 });
  assertClean('rescan');
});

test('duplicates: the tiers side by side, the keeper first', async () => {
  if (mock) return; // the mock server has no /api/dupes
  await page.goto(`${base}/?view=dupes`);
  await page.locator('#dupes-view').waitFor({ state: 'visible' });
  assert.ok(await page.locator('#results').isHidden(), 'the search grid makes way');
  assert.equal(await page.locator('#nav-dupes').getAttribute('aria-pressed'), 'true');
  // sample_data: no byte copies; two pictures stored twice (near duplicates).
  await page.waitForFunction(() => /None found/.test(document.querySelector('#dupes-hint').textContent));
  assert.equal((await page.locator('#tab-exact .count-badge').innerText()).trim(), '0');
  await page.locator('#tab-near').click();
  await page.waitForFunction(() => document.querySelectorAll('#dupes-list .dupe-group').length === 2);
  const groups = await page.$$eval('#dupes-list .dupe-group', (gs) => gs.map((g) => ({
    names: [...g.querySelectorAll('.dupe-name')].map((n) => n.textContent).sort(),
    first: g.querySelector('.dupe').classList.contains('is-keeper'),
    badge: g.querySelector('.dupe-badge').textContent,
  })));
  const pairs = groups.map((g) => g.names.join(' + ')).sort();
  assert.deepEqual(pairs, ['chelsea-sideways.jpg + chelsea.jpg', 'coffee.png + really-a-jpeg.png']);
  assert.ok(groups.every((g) => g.first && g.badge === 'Keep'), 'keeper first, marked');
  await page.waitForFunction(() => [...document.querySelectorAll('#dupes-list img')].every((i) => i.complete && i.naturalWidth > 0));
  await shot('dupes.png');
  await page.locator('#tab-similar').click();
  await page.waitForFunction(() => document.querySelectorAll('#dupes-list .dupe-group').length === 0);
  // Typing a search leaves the view.
  await page.locator('#q').fill('cat');
  await waitForHits(1);
  assert.ok(await page.locator('#dupes-view').isHidden());
  assert.ok(!params().has('view'));
  assertClean('dupes');
});

test('albums: defined by a prompt, tuned with a live preview, used as a filter', async () => {
  if (mock) return; // the mock server has no /api/albums
  await page.goto(`${base}/?view=albums`);
  await page.locator('#albums-view').waitFor({ state: 'visible' });
  await page.locator('#album-suggested .chip-btn').first().waitFor({ state: 'visible' });
  await page.locator('#album-name').fill('everything');
  await page.locator('#album-prompts').fill('a photo\nan image');
  await page.locator('#album-threshold').fill('-1');
  const created = page.waitForResponse((r) => r.url().endsWith('/api/albums') && r.request().method() === 'POST');
  await page.locator('#album-form button[type="submit"]').click();
  assert.equal((await created).status(), 201);
  const card = page.locator('#album-list li[data-name="everything"]');
  await card.waitFor({ state: 'visible' });
  assert.match(await card.innerText(), /19 photos/);
  // The tuning panel opens on the new album: raise the threshold, see who leaves.
  await page.locator('#album-tune').waitFor({ state: 'visible' });
  await page.locator('#tune-range').evaluate((r) => { r.value = '1'; r.dispatchEvent(new Event('input', { bubbles: true })); });
  await page.waitForFunction(() => /19 would leave/.test(document.querySelector('#tune-summary').textContent));
  await page.waitForFunction(() => document.querySelectorAll('#tune-leave .mini').length === 19);
  assert.equal(await page.locator('#tune-enter .mini').count(), 0);
  await shot('album-tune.png');
  // Nothing changed until saved; saving applies the preview.
  assert.match(await card.innerText(), /19 photos/);
  const patched = page.waitForResponse((r) => /\/api\/albums\/everything$/.test(r.url()) && r.request().method() === 'PATCH');
  await page.locator('#tune-save').click();
  assert.equal((await patched).status(), 200);
  await page.waitForFunction(() => /0 photos/.test(document.querySelector('#album-list li[data-name="everything"]').textContent));
  await page.locator('#tune-range').evaluate((r) => { r.value = '-1'; r.dispatchEvent(new Event('input', { bubbles: true })); });
  await page.waitForFunction(() => /19 would enter/.test(document.querySelector('#tune-summary').textContent));
  await page.locator('#tune-save').click();
  await page.waitForFunction(() => /19 photos/.test(document.querySelector('#album-list li[data-name="everything"]').textContent));
  // Opening the album searches inside it.
  await card.locator('.album-open').click();
  await page.waitForFunction(() => new URLSearchParams(location.search).get('album') === 'everything');
  await waitForHits(19);
  assert.equal(await page.locator('#f-album').inputValue(), 'everything');
  assert.equal((await page.locator('#filters-count').innerText()).trim(), '1');
  // Teaching the album: a photo marked "doesn't belong" leaves it at once.
  const firstId = await hits().first().getAttribute('data-id');
  await hits().first().click();
  await page.locator('#lightbox').waitFor({ state: 'visible' });
  assert.ok(await page.locator('#lb-teach').isVisible(), 'inside an album, a photo can be marked');
  assert.equal((await page.locator('#lb-teach-name').innerText()).trim(), 'everything');
  const marked = page.waitForResponse((r) => /\/api\/albums\/everything\/marks$/.test(r.url()));
  await page.locator('#lb-no').click();
  const markResp = await marked;
  assert.equal(markResp.status(), 200);
  const taught = await markResp.json();
  assert.deepEqual(taught.marks, [{ id: Number(firstId), yes: false }]);
  assert.ok(taught.count < 19, `the album shrank: ${taught.count}`);
  await page.waitForFunction((id) => {
    const g = [...document.querySelectorAll('#results .hit')];
    return g.length > 0 && !g.some((h) => h.dataset.id === id);
  }, firstId);
  assert.equal(await hits().count(), taught.count, 'the grid is the album as it is now');
  // The mark shows when the photo is opened again elsewhere in the album (a yes this time).
  const secondId = await hits().first().getAttribute('data-id');
  await hits().first().click();
  await page.locator('#lb-yes').click();
  await page.waitForFunction((id) => [...document.querySelectorAll('#results .hit')].some((h) => h.dataset.id === id), secondId);
  await hits().first().waitFor({ state: 'visible' });
  const again = page.locator(`#results .hit[data-id="${secondId}"]`);
  await again.click();
  await page.waitForFunction(() => document.querySelector('#lb-yes').getAttribute('aria-pressed') === 'true');
  await page.keyboard.press('Escape');
  // Unmarking both gives the prompts' album back.
  for (const id of [firstId, secondId]) {
    const r = await fetch(`${base}/api/albums/everything/marks`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: Number(id), belongs: null }),
    });
    assert.equal(r.status, 200);
    if (id === secondId) assert.equal((await r.json()).count, 19);
  }
  // An album from an example photo, from the lightbox.
  await page.locator('#f-album').selectOption('');
  await page.locator('#q').fill('cat');
  await waitForHits(1);
  await hits().first().click();
  await page.locator('#lightbox').waitFor({ state: 'visible' });
  await page.locator('#lb-album').click();
  await page.locator('#albums-view').waitFor({ state: 'visible' });
  assert.ok(await page.locator('#album-example').isVisible(), 'the example is shown');
  await page.locator('#album-name').fill('like-this');
  const fromExample = page.waitForResponse((r) => r.url().endsWith('/api/albums') && r.request().method() === 'POST');
  await page.locator('#album-form button[type="submit"]').click();
  const res = await fromExample;
  assert.equal(res.status(), 201);
  assert.ok((await res.json()).count >= 1, 'the example itself belongs');
  await page.locator('#album-list li[data-name="like-this"]').waitFor({ state: 'visible' });
  // A bad name is refused with the server's message.
  expectApiErrors = true;
  try {
    await page.locator('#album-name').evaluate((i) => { i.removeAttribute('pattern'); });
    await page.locator('#album-name').fill('Bad Name');
    await page.locator('#album-prompts').fill('x');
    await page.locator('#album-form button[type="submit"]').click();
    await page.locator('#error').waitFor({ state: 'visible' });
    assert.match(await page.locator('#error-message').innerText(), /lower-case/);
  } finally {
    expectApiErrors = false;
  }
  // Phones: the view fits.
  await page.setViewportSize(PHONE);
  await page.goto(`${base}/?view=albums`);
  await page.locator('#album-list li').first().waitFor({ state: 'visible' });
  const ov = await horizontalOverflow();
  assert.ok(ov.scrollWidth <= PHONE.width && ov.offenders.length === 0, `albums overflow on a phone: ${JSON.stringify(ov)}`);
  await shot('phone-albums.png');
  await page.setViewportSize(DESKTOP);
  for (const name of ['everything', 'like-this']) {
    assert.equal((await fetch(`${base}/api/albums/${name}`, { method: 'DELETE' })).status, 200);
  }
  assertClean('albums');
});

test('phone layout: grid visible, nothing overflows', async () => {
  await page.setViewportSize(PHONE);
  await page.goto(`${base}/?q=cat`);
  await waitForHits(1);
  assert.ok(await page.locator('#results').isVisible());
  const box = await hits().first().boundingBox();
  assert.ok(box && box.width > 60 && box.x >= 0, 'cells have a sensible size');
  let ov = await horizontalOverflow();
  assert.ok(ov.scrollWidth <= PHONE.width && ov.offenders.length === 0, `phone layout overflows: ${JSON.stringify(ov)}`);
  // Filters collapse behind a toggle on phones.
  assert.ok(await page.locator('#f-in').isHidden(), 'filters are collapsed on a phone');
  await page.locator('#filters-toggle').click();
  await page.locator('#f-in').waitFor({ state: 'visible' });
  ov = await horizontalOverflow();
  assert.ok(ov.scrollWidth <= PHONE.width && ov.offenders.length === 0, `phone filters overflow: ${JSON.stringify(ov)}`);
  await page.locator('#filters-toggle').click();
  await waitForVisibleImages();
  await shot('phone.png');
  // The lightbox fits too.
  await hits().first().click();
  await page.locator('#lightbox').waitFor({ state: 'visible' });
  await page.waitForFunction(() => { const i = document.querySelector('#lb-img'); return i.complete && i.naturalWidth > 0; });
  const lb = await page.locator('#lightbox').boundingBox();
  assert.ok(lb.width <= PHONE.width + 1, `lightbox fits the phone (${lb.width})`);
  await page.waitForTimeout(300);
  await shot('phone-lightbox.png');
  await page.keyboard.press('Escape');
  assertClean('phone');
});

test('dark mode renders', async () => {
  await page.setViewportSize(DESKTOP);
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto(`${base}/?q=cat`);
  await waitForHits(1);
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const [r, g, b] = bg.match(/\d+/g).map(Number);
  assert.ok(r + g + b < 150, `dark background expected, got ${bg}`);
  await waitForVisibleImages();
  await shot('desktop-dark.png');
  assertClean('dark');
});
