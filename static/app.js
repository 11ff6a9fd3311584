// scry web UI. Plain ES2020 module: no build step, no framework, no inline
// anything (the server's CSP forbids it). All query state lives in the URL.

const $ = (sel, root = document) => root.querySelector(sel);

const DEFAULT_K = 30;
const MAX_K = 200;
const TYPE_DEBOUNCE_MS = 250;
const FOLDER_DEBOUNCE_MS = 350;
const STATUS_POLL_MS = 5000;
const STATUS_RETRY_MS = 15000;
const SUGGESTIONS = ['a cat', 'the night sky', 'a cup of coffee', 'people smiling', 'snow in the mountains', 'a page of text'];

const el = {
  form: $('#search-form'),
  q: $('#q'),
  clearQ: $('#clear-q'),
  chips: $('#chips'),
  pick: $('#pick-image'),
  file: $('#file-input'),
  filtersToggle: $('#filters-toggle'),
  filtersCount: $('#filters-count'),
  filters: $('#filters'),
  fIn: $('#f-in'),
  fAfter: $('#f-after'),
  fBefore: $('#f-before'),
  fMinSize: $('#f-min-size'),
  fAlbum: $('#f-album'),
  filtersClear: $('#filters-clear'),
  folderList: $('#folder-list'),
  summary: $('#summary'),
  status: $('#status'),
  error: $('#error'),
  errorMessage: $('#error-message'),
  errorRetry: $('#error-retry'),
  empty: $('#empty'),
  emptyTitle: $('#empty-title'),
  emptyText: $('#empty-text'),
  suggestions: $('#suggestions'),
  emptyActions: $('#empty-actions'),
  results: $('#results'),
  loadMore: $('#load-more'),
  dropOverlay: $('#drop-overlay'),
  toast: $('#toast'),
  lb: $('#lightbox'),
  lbStage: $('#lb-stage'),
  lbImg: $('#lb-img'),
  lbThumb: $('#lb-thumb'),
  lbPrev: $('#lb-prev'),
  lbNext: $('#lb-next'),
  lbCounter: $('#lb-counter'),
  lbTitle: $('#lb-title'),
  lbClose: $('#lb-close'),
  lbScore: $('#lb-score'),
  lbPath: $('#lb-path'),
  lbCopy: $('#lb-copy'),
  lbDims: $('#lb-dims'),
  lbDate: $('#lb-date'),
  lbCamera: $('#lb-camera'),
  lbFormat: $('#lb-format'),
  lbSize: $('#lb-size'),
  moreLike: $('#more-like-this'),
  lbOriginal: $('#lb-original'),
  lbFolder: $('#lb-folder'),
};

// ------------------------------------------------------------------ state

const state = {
  q: '',
  like: null,          // image id (number) for "more like this"
  likeInfo: null,      // {id, name} once known
  image: null,         // File for search-by-image
  imageUrl: null,      // blob: URL of that file for the chip
  imageKey: null,      // key into `images` so Back/Forward can restore it
  filters: { in: '', after: '', before: '', min_size: '', album: '' },
  k: DEFAULT_K,

  hits: [],
  hasMore: false,
  tookMs: null,
  searched: false,     // a search has completed for the current query
  library: null,       // /api/status payload
  focusIndex: 0,       // roving tabindex position in the grid
  lbIndex: -1,         // index into hits shown in the lightbox
  view: '',            // '' (search), 'albums' or 'dupes'
};

// Uploaded images by history key (the File itself can't live in the URL).
const images = new Map();
let imageCounter = 0;

let searchSeq = 0;           // increments on every search; stale responses compare against it
let searchController = null; // AbortController of the request in flight
let typeTimer = 0;
let folderTimer = 0;
let staleTimer = 0;
let detailsController = null;
const knownFolders = new Set();

// ------------------------------------------------------------------ helpers

const nf = new Intl.NumberFormat();
const dateFmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function parseDate(s) {
  if (!s) return null;
  // Dates without a zone are local wall-clock times (EXIF has no zone);
  // a bare date would otherwise be parsed as UTC midnight.
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00` : s);
  return Number.isNaN(d.getTime()) ? null : d;
}
function formatDate(s, withTime = false) {
  const d = parseDate(s);
  if (!d) return s || '';
  const hasTime = withTime && /T\d{2}:\d{2}/.test(s) && !/T00:00:00(\.0+)?Z?$/.test(s);
  return (hasTime ? dateTimeFmt : dateFmt).format(d);
}
function formatBytes(n) {
  if (n == null || !Number.isFinite(n)) return null;
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
function formatScore(s) {
  return typeof s === 'number' && Number.isFinite(s) ? s.toFixed(3) : '–';
}
function plural(n, one, many = `${one}s`) {
  return `${nf.format(n)} ${n === 1 ? one : many}`;
}
function make(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v == null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k in node && typeof v !== 'string') node[k] = v;
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c != null) node.append(c);
  return node;
}
function icon(name, cls = 'icon') {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('class', cls);
  svg.setAttribute('aria-hidden', 'true');
  const use = document.createElementNS('http://www.w3.org/2000/svg', 'use');
  use.setAttribute('href', `#i-${name}`);
  svg.append(use);
  return svg;
}
function isTyping(target) {
  return target instanceof HTMLElement &&
    (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
}
function isImageFile(file) {
  return file && (/^image\//.test(file.type) ||
    (!file.type && /\.(jpe?g|png|webp|gif|bmp|tiff?|heic|heif|avif)$/i.test(file.name || '')));
}

let toastTimer = 0;
function toast(message) {
  el.toast.textContent = message;
  el.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.toast.hidden = true; }, 3500);
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// fetch + JSON, turning the server's {"code","message"} errors into ApiError.
async function api(url, options = {}) {
  let res;
  try {
    res = await fetch(url, { headers: { Accept: 'application/json' }, ...options });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'Could not reach the scry server. Is it still running?');
  }
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!res.ok) {
    const message = (body && typeof body.message === 'string' && body.message) ||
      (text && text.length < 300 && !/^\s*</.test(text) ? text.trim() : '') ||
      `${res.status} ${res.statusText || 'error'}`;
    throw new ApiError(res.status, (body && body.code) || 'http_error', message);
  }
  if (body == null) throw new ApiError(res.status, 'bad_response', 'The server sent a response the page could not read.');
  return body;
}

// ------------------------------------------------------------------ URL <-> state

function hasQuery() {
  return Boolean(state.q.trim() || state.like != null || state.image || state.filters.album);
}

function stateToParams() {
  const p = new URLSearchParams();
  if (state.q.trim()) p.set('q', state.q.trim());
  if (state.like != null) p.set('like', String(state.like));
  if (state.filters.in) p.set('in', state.filters.in);
  if (state.filters.after) p.set('after', state.filters.after);
  if (state.filters.before) p.set('before', state.filters.before);
  if (state.filters.min_size) p.set('min_size', state.filters.min_size);
  if (state.filters.album) p.set('album', state.filters.album);
  if (state.view) p.set('view', state.view);
  if (state.k !== DEFAULT_K) p.set('k', String(state.k));
  return p;
}

function writeUrl(mode = 'replace') {
  if (mode === 'none') return;
  const qs = stateToParams().toString();
  const url = `${location.pathname}${qs ? `?${qs}` : ''}`;
  const histState = { img: state.imageKey };
  const same = url === `${location.pathname}${location.search}` &&
    ((history.state && history.state.img) || null) === state.imageKey;
  if (same) return;
  if (mode === 'push') history.pushState(histState, '', url);
  else history.replaceState(histState, '', url);
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

function readUrl() {
  const p = new URLSearchParams(location.search);
  state.q = p.get('q') || '';
  const like = p.get('like');
  state.like = like && /^\d+$/.test(like) ? Number(like) : null;
  if (!state.likeInfo || state.likeInfo.id !== state.like) state.likeInfo = null;
  state.filters.in = p.get('in') || '';
  state.filters.after = DATE_RE.test(p.get('after') || '') ? p.get('after') : '';
  state.filters.before = DATE_RE.test(p.get('before') || '') ? p.get('before') : '';
  const minSize = p.get('min_size') || '';
  state.filters.min_size = /^\d+$/.test(minSize) && Number(minSize) > 0 ? minSize : '';
  const album = p.get('album') || '';
  state.filters.album = /^[a-z0-9_-]{1,40}$/.test(album) ? album : '';
  state.view = ['albums', 'dupes'].includes(p.get('view')) ? p.get('view') : '';
  const k = Number(p.get('k'));
  state.k = Number.isInteger(k) && k > 0 ? Math.min(k, MAX_K) : DEFAULT_K;

  const key = history.state && history.state.img;
  const file = key ? images.get(key) : null;
  if (file) setImageState(file, key);
  else clearImageState();
}

function stateToControls() {
  if (el.q.value !== state.q) el.q.value = state.q;
  el.clearQ.hidden = !el.q.value;
  el.fIn.value = state.filters.in;
  el.fAfter.value = state.filters.after;
  el.fBefore.value = state.filters.before;
  ensureMinSizeOption(state.filters.min_size);
  el.fMinSize.value = state.filters.min_size;
  ensureAlbumOption(state.filters.album);
  el.fAlbum.value = state.filters.album;
  renderFilterState();
  renderChips();
}

function ensureAlbumOption(value) {
  if (!value || [...el.fAlbum.options].some((o) => o.value === value)) return;
  el.fAlbum.append(make('option', { value, text: value }));
}

function ensureMinSizeOption(value) {
  if (!value || [...el.fMinSize.options].some((o) => o.value === value)) return;
  el.fMinSize.append(make('option', { value, text: `≥ ${nf.format(Number(value))} px` }));
}

// ------------------------------------------------------------------ search

function buildRequest(offset) {
  const f = state.filters;
  const fields = {
    q: state.q.trim(), in: f.in, after: f.after, before: f.before,
    min_size: f.min_size, album: f.album, k: String(state.k), offset: String(offset),
  };
  if (state.image) {
    const form = new FormData();
    form.append('image', state.image, state.image.name || 'image');
    for (const [key, v] of Object.entries(fields)) if (v) form.append(key, v);
    return ['/api/search', { method: 'POST', body: form }];
  }
  const p = new URLSearchParams();
  if (fields.q) p.set('q', fields.q);
  if (state.like != null) p.set('like', String(state.like));
  for (const key of ['in', 'after', 'before', 'min_size', 'album', 'k', 'offset']) if (fields[key]) p.set(key, fields[key]);
  return [`/api/search?${p}`, { method: 'GET' }];
}

function cancelSearch() {
  clearTimeout(typeTimer);
  searchSeq++;
  if (searchController) searchController.abort();
  searchController = null;
  setLoading(false);
}

async function runSearch({ append = false } = {}) {
  clearTimeout(typeTimer);
  if (!hasQuery()) {
    cancelSearch();
    state.hits = [];
    state.hasMore = false;
    state.searched = false;
    hideError();
    render();
    return;
  }
  const seq = ++searchSeq;
  if (searchController) searchController.abort();
  const controller = new AbortController();
  searchController = controller;
  const offset = append ? state.hits.length : 0;
  if (!append) autoLoads = 0;
  const [url, opts] = buildRequest(offset);
  setLoading(true, append);
  try {
    const data = await api(url, { ...opts, signal: controller.signal });
    if (seq !== searchSeq) return; // a newer search has started: drop this one
    const hits = Array.isArray(data.hits) ? data.hits : [];
    for (const h of hits) if (h.folder) knownFolders.add(h.folder);
    if (append) {
      const seen = new Set(state.hits.map((h) => h.id));
      state.hits = state.hits.concat(hits.filter((h) => !seen.has(h.id)));
    } else {
      state.hits = hits;
      state.focusIndex = 0;
    }
    state.hasMore = Boolean(data.has_more) && hits.length > 0;
    state.tookMs = typeof data.took_ms === 'number' ? data.took_ms : null;
    state.searched = true;
    hideError();
    render({ append, added: hits.length });
    updateFolderList();
  } catch (e) {
    if (e.name === 'AbortError' || seq !== searchSeq) return;
    showError(e);
    if (!append) {
      state.hits = [];
      state.hasMore = false;
      state.searched = false;
      render();
    }
  } finally {
    if (seq === searchSeq) {
      searchController = null;
      setLoading(false);
    }
  }
}

function scheduleSearch(delay = TYPE_DEBOUNCE_MS) {
  clearTimeout(typeTimer);
  if (!hasQuery()) { runSearch(); return; }
  // Whatever is in flight answers a query the box no longer shows: drop it now,
  // not when the debounced search starts, so it can't land in between.
  searchSeq++;
  if (searchController) searchController.abort();
  searchController = null;
  setLoading(true);
  typeTimer = setTimeout(() => runSearch(), delay);
}

function setLoading(on, append = false) {
  document.body.classList.toggle('is-loading', on);
  el.results.setAttribute('aria-busy', on ? 'true' : 'false');
  clearTimeout(staleTimer);
  if (on && !append) {
    // Dim the old results only if the answer takes a noticeable while.
    staleTimer = setTimeout(() => document.body.classList.add('is-stale'), 180);
  } else {
    document.body.classList.remove('is-stale');
  }
  if (on && !append && state.hits.length === 0) showSkeleton();
  el.loadMore.disabled = on && append;
  el.loadMore.textContent = on && append ? 'Loading…' : 'Load more';
}

function showSkeleton() {
  if (el.results.querySelector('.hit')) return;
  const n = Math.min(state.k, 12);
  el.results.replaceChildren(...Array.from({ length: n }, () => make('li', { class: 'skeleton', 'aria-hidden': 'true' })));
  el.results.hidden = false;
  el.empty.hidden = true;
}

function showError(err) {
  el.errorMessage.textContent = err.message || String(err);
  el.error.dataset.code = err.code || '';
  el.error.hidden = false;
}
function hideError() {
  el.error.hidden = true;
}

// ------------------------------------------------------------------ rendering

function render({ append = false, added = 0 } = {}) {
  renderSummary();
  renderEmpty();
  if (!append) {
    el.results.replaceChildren(...state.hits.map((hit, i) => renderHit(hit, i)));
  } else if (added) {
    const start = el.results.querySelectorAll('.hit').length;
    el.results.append(...state.hits.slice(start).map((hit, i) => renderHit(hit, start + i)));
  }
  el.results.hidden = state.hits.length === 0;
  updateRovingTabindex();
  el.loadMore.hidden = !state.hasMore || state.hits.length === 0;
}

function renderHit(hit, index) {
  const img = make('img', {
    src: hit.thumbnail || `/api/images/${hit.id}/thumbnail`,
    alt: hit.name || '',
    loading: 'lazy',
    decoding: 'async',
  });
  img.addEventListener('load', () => { img.parentElement && img.parentElement.classList.add('is-loaded'); }, { once: true });
  img.addEventListener('error', () => { img.parentElement && img.parentElement.classList.add('is-broken'); }, { once: true });
  const dateText = hit.date ? formatDate(hit.date) : '';
  const label = [hit.name, dateText, `score ${formatScore(hit.score)}`].filter(Boolean).join(', ');
  const a = make('a', {
    class: 'hit',
    href: hit.original || `/api/images/${hit.id}/original`,
    'data-id': String(hit.id),
    'data-index': String(index),
    'aria-label': label,
    title: hit.path || hit.name || '',
    tabindex: '-1',
  },
  img,
  make('span', { class: 'hit-score', 'aria-hidden': 'true', text: formatScore(hit.score) }),
  make('span', { class: 'hit-meta', 'aria-hidden': 'true' },
    make('span', { class: 'hit-name', text: hit.name || '' }),
    dateText ? make('span', { class: 'hit-date', text: dateText }) : null));
  return make('li', {}, a);
}

function renderSummary() {
  el.summary.replaceChildren();
  if (!state.searched || !hasQuery()) return;
  const n = state.hits.length;
  if (n === 0) {
    el.summary.textContent = 'No matches';
    return;
  }
  const parts = [make('strong', { text: plural(n, 'result') })];
  if (state.hasMore) parts.push(' (more available)');
  if (state.tookMs != null) parts.push(` · ${state.tookMs < 10 ? state.tookMs.toFixed(1) : Math.round(state.tookMs)} ms`);
  el.summary.append(...parts);
}

function renderEmpty() {
  const activeFilters = countFilters();
  el.suggestions.replaceChildren();
  el.emptyActions.replaceChildren();
  if (hasQuery()) {
    // A query is active: the empty state only shows once a search came back with nothing.
    const none = state.searched && state.hits.length === 0;
    el.empty.hidden = !none;
    if (!none) return;
    el.empty.dataset.kind = 'none';
    el.emptyTitle.textContent = 'No matches';
    el.emptyText.textContent = activeFilters
      ? 'Nothing in your library matches these filters. Try widening the dates or folder.'
      : 'Nothing in your library matches that search.';
    if (activeFilters) {
      const btn = make('button', { type: 'button', class: 'btn', text: 'Clear filters' });
      btn.addEventListener('click', clearFilters);
      el.emptyActions.append(btn);
    }
    return;
  }
  el.empty.hidden = false;
  el.empty.dataset.kind = 'start';
  const lib = state.library;
  const count = lib && typeof lib.images === 'number' ? lib.images : null;
  if (lib && count === 0) {
    el.emptyTitle.textContent = lib.indexing ? 'Indexing your photos…' : 'No photos indexed yet';
    el.emptyText.textContent = lib.indexing
      ? 'scry is reading your library for the first time. Photos become searchable as they are indexed.'
      : `scry hasn’t indexed any photos${lib.roots && lib.roots.length ? ` in ${lib.roots.join(', ')}` : ''} yet.`;
    return;
  }
  el.emptyTitle.textContent = count != null ? `Type to search your ${plural(count, 'photo')}` : 'Type to search your photos';
  el.emptyText.textContent = 'Describe what you’re looking for in plain words — or drop an image anywhere on this page to find ones like it.';
  for (const s of SUGGESTIONS) {
    const b = make('button', { type: 'button', class: 'suggestion', text: s });
    b.addEventListener('click', () => {
      state.q = s;
      el.q.value = s;
      syncClearButton();
      writeUrl('push');
      runSearch();
      el.q.focus();
    });
    el.suggestions.append(b);
  }
  const pick = make('button', { type: 'button', class: 'btn btn-ghost' }, icon('upload'), 'Search with an image');
  pick.addEventListener('click', () => el.file.click());
  el.emptyActions.append(pick);
}

function renderChips() {
  el.chips.replaceChildren();
  if (state.image) {
    el.chips.append(chip(state.imageUrl, 'Image', state.image.name || 'pasted image', 'Remove the query image', removeImage));
  } else if (state.like != null) {
    const name = state.likeInfo && state.likeInfo.id === state.like ? state.likeInfo.name : `#${state.like}`;
    el.chips.append(chip(`/api/images/${state.like}/thumbnail`, 'Like', name, 'Stop searching for similar photos', removeLike));
  }
}

function chip(src, kind, label, removeLabel, onRemove) {
  const img = make('img', { src, alt: '' });
  img.addEventListener('error', () => { img.hidden = true; }, { once: true });
  const remove = make('button', { type: 'button', class: 'icon-btn', 'aria-label': removeLabel, title: removeLabel }, icon('x'));
  remove.addEventListener('click', (e) => { e.preventDefault(); onRemove(); el.q.focus(); });
  return make('span', { class: 'chip', title: label },
    img,
    make('span', { class: 'chip-label' }, make('span', { class: 'chip-kind', text: `${kind}: ` }), label),
    remove);
}

async function loadLikeInfo() {
  const id = state.like;
  if (id == null || (state.likeInfo && state.likeInfo.id === id)) return;
  const fromHits = state.hits.find((h) => h.id === id);
  if (fromHits) {
    state.likeInfo = { id, name: fromHits.name };
    renderChips();
    return;
  }
  try {
    const info = await api(`/api/images/${id}`);
    if (state.like === id) {
      state.likeInfo = { id, name: info.name || `#${id}` };
      renderChips();
    }
  } catch { /* the search itself reports a missing id */ }
}

function updateFolderList() {
  const roots = state.library && Array.isArray(state.library.roots) ? state.library.roots : [];
  for (const r of roots) knownFolders.add(r);
  if (roots.length) el.fIn.placeholder = roots[0];
  const sorted = [...knownFolders].sort().slice(0, 300);
  if (sorted.length === el.folderList.children.length) return;
  el.folderList.replaceChildren(...sorted.map((f) => make('option', { value: f })));
}

// ------------------------------------------------------------------ query actions

function setImageState(file, key) {
  if (state.imageUrl) URL.revokeObjectURL(state.imageUrl);
  state.image = file;
  state.imageUrl = URL.createObjectURL(file);
  state.imageKey = key;
}
function clearImageState() {
  if (state.imageUrl) URL.revokeObjectURL(state.imageUrl);
  state.image = null;
  state.imageUrl = null;
  state.imageKey = null;
}

function searchByImage(file) {
  if (!isImageFile(file)) {
    toast(file && file.name ? `“${file.name}” isn’t an image` : 'That isn’t an image');
    return;
  }
  const key = `img${Date.now().toString(36)}${(imageCounter++).toString(36)}`;
  images.set(key, file);
  if (images.size > 20) images.delete(images.keys().next().value); // Back can restore the last 20
  setImageState(file, key);
  state.like = null;
  state.likeInfo = null;
  renderChips();
  writeUrl('push');
  runSearch();
}

function removeImage() {
  clearImageState();
  renderChips();
  writeUrl('push');
  runSearch();
}

function removeLike() {
  state.like = null;
  state.likeInfo = null;
  renderChips();
  writeUrl('push');
  runSearch();
}

function searchLike(hit) {
  state.like = hit.id;
  state.likeInfo = { id: hit.id, name: hit.name };
  state.q = '';
  el.q.value = '';
  syncClearButton();
  clearImageState();
  renderChips();
  writeUrl('push');
  runSearch();
  window.scrollTo({ top: 0 });
}

// ------------------------------------------------------------------ filters

function countFilters() {
  const f = state.filters;
  return [f.in, f.after, f.before, f.min_size, f.album].filter(Boolean).length;
}

function renderFilterState() {
  const n = countFilters();
  el.filtersCount.hidden = n === 0;
  el.filtersCount.textContent = String(n);
  el.filtersToggle.setAttribute('aria-label', n ? `Filters (${n} active)` : 'Filters');
  el.filtersClear.hidden = n === 0;
  for (const [input, v] of [[el.fIn, state.filters.in], [el.fAfter, state.filters.after], [el.fBefore, state.filters.before], [el.fMinSize, state.filters.min_size], [el.fAlbum, state.filters.album]]) {
    input.closest('.field').classList.toggle('is-set', Boolean(v));
  }
  el.fBefore.min = state.filters.after || '';
  el.fAfter.max = state.filters.before || '';
}

function filtersChanged() {
  renderFilterState();
  writeUrl('replace');
  if (hasQuery()) runSearch();
  else renderEmpty();
}

function clearFilters() {
  state.filters = { in: '', after: '', before: '', min_size: '', album: '' };
  stateToControls();
  writeUrl('push');
  if (hasQuery()) runSearch();
  else renderEmpty();
}

// ------------------------------------------------------------------ grid keyboard navigation

function hitElements() {
  return el.results.querySelectorAll('.hit');
}

function updateRovingTabindex() {
  const hits = hitElements();
  if (!hits.length) return;
  state.focusIndex = Math.max(0, Math.min(state.focusIndex, hits.length - 1));
  hits.forEach((h, i) => { h.tabIndex = i === state.focusIndex ? 0 : -1; });
}

function focusHit(i) {
  const hits = hitElements();
  if (!hits.length) return;
  state.focusIndex = Math.max(0, Math.min(i, hits.length - 1));
  updateRovingTabindex();
  const target = hits[state.focusIndex];
  target.focus({ preventScroll: true });
  target.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
}

function gridColumns() {
  const hits = hitElements();
  if (hits.length < 2) return 1;
  const top = hits[0].getBoundingClientRect().top;
  let cols = 0;
  for (const h of hits) {
    if (Math.abs(h.getBoundingClientRect().top - top) > 2) break;
    cols++;
  }
  return Math.max(1, cols);
}

el.results.addEventListener('keydown', (e) => {
  const target = e.target.closest('.hit');
  if (!target || e.altKey || e.ctrlKey || e.metaKey) return;
  const i = Number(target.dataset.index);
  const cols = gridColumns();
  const n = hitElements().length;
  let next = null;
  switch (e.key) {
    case 'ArrowRight': next = i + 1; break;
    case 'ArrowLeft': next = i - 1; break;
    case 'ArrowDown': next = i + cols; break;
    case 'ArrowUp':
      if (i - cols < 0) { e.preventDefault(); el.q.focus(); return; }
      next = i - cols;
      break;
    case 'Home': next = 0; break;
    case 'End': next = n - 1; break;
    case 'PageDown': next = i + cols * 4; break;
    case 'PageUp': next = i - cols * 4; break;
    case ' ': e.preventDefault(); openLightbox(i); return;
    default: return;
  }
  e.preventDefault();
  if (next >= n && state.hasMore && !searchController) {
    runSearch({ append: true }).then(() => focusHit(Math.min(next, hitElements().length - 1)));
    return;
  }
  if (next >= 0 && next < n) focusHit(next);
});

el.results.addEventListener('click', (e) => {
  const target = e.target.closest('.hit');
  if (!target) return;
  if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return; // let the browser open the original
  e.preventDefault();
  openLightbox(Number(target.dataset.index));
});

el.results.addEventListener('focusin', (e) => {
  const target = e.target.closest('.hit');
  if (!target) return;
  state.focusIndex = Number(target.dataset.index);
  updateRovingTabindex();
});

// ------------------------------------------------------------------ lightbox

function setMeta(node, value) {
  const missing = value == null || value === '';
  node.textContent = missing ? '—' : value;
  node.classList.toggle('is-missing', missing);
}

function openLightbox(index) {
  const hit = state.hits[index];
  if (!hit) return;
  state.lbIndex = index;
  state.focusIndex = index;

  el.lbStage.classList.remove('is-loaded');
  el.lbImg.classList.remove('is-loaded');
  el.lbThumb.src = hit.thumbnail || `/api/images/${hit.id}/thumbnail`;
  el.lbImg.alt = hit.name || '';
  // Replacing src on the same element: drop the old picture first so it doesn't flash.
  el.lbImg.removeAttribute('src');
  el.lbImg.src = hit.display || hit.original || `/api/images/${hit.id}/original`;

  el.lbTitle.textContent = hit.name || `Image ${hit.id}`;
  el.lbScore.replaceChildren();
  if (typeof hit.score === 'number') {
    const meter = make('span', { class: 'score-meter', 'aria-hidden': 'true' }, make('span'));
    meter.firstChild.style.width = `${Math.max(2, Math.min(100, hit.score * 100)).toFixed(1)}%`;
    el.lbScore.append('Score', meter, make('span', { class: 'score-value', text: formatScore(hit.score) }));
  }
  setPath(hit.path || '');
  el.lbCopy.hidden = !(navigator.clipboard && window.isSecureContext);
  renderDims(hit.width, hit.height);
  setMeta(el.lbDate, hit.date ? formatDate(hit.date, true) : null);
  setMeta(el.lbFormat, hit.format ? hit.format.toUpperCase() : null);
  setMeta(el.lbCamera, '…');
  setMeta(el.lbSize, '…');
  el.lbOriginal.href = hit.original || `/api/images/${hit.id}/original`;
  el.lbFolder.hidden = !hit.folder || state.filters.in === hit.folder;
  el.lbCounter.textContent = `${index + 1} / ${state.hits.length}${state.hasMore ? '+' : ''}`;
  el.lbPrev.disabled = index <= 0;
  el.lbNext.disabled = index >= state.hits.length - 1 && !state.hasMore;

  if (!el.lb.open) {
    el.lb.showModal();
    el.lb.querySelector('.lb-panel').scrollTop = 0;
    el.moreLike.focus({ preventScroll: true });
  }
  loadDetails(hit);
  preload(state.hits[index + 1]);
}

// Long paths wrap after a slash rather than in the middle of a name.
function setPath(p) {
  el.lbPath.replaceChildren();
  p.split(/(?<=[/\\])/).forEach((part, i) => {
    if (i) el.lbPath.append(make('wbr'));
    el.lbPath.append(part);
  });
}

function renderDims(w, h) {
  if (w && h) {
    const mp = (w * h) / 1e6;
    setMeta(el.lbDims, `${nf.format(w)} × ${nf.format(h)} px${mp >= 0.1 ? ` · ${mp.toFixed(1)} MP` : ''}`);
  } else {
    setMeta(el.lbDims, null);
  }
}

function preload(hit) {
  if (!hit) return;
  const img = new Image();
  img.decoding = 'async';
  img.src = hit.display || hit.original || `/api/images/${hit.id}/original`;
}

async function loadDetails(hit) {
  if (detailsController) detailsController.abort();
  const controller = new AbortController();
  detailsController = controller;
  try {
    const info = await api(`/api/images/${hit.id}`, { signal: controller.signal });
    if (controller !== detailsController) return;
    setMeta(el.lbCamera, info.camera || null);
    setMeta(el.lbSize, formatBytes(info.size_bytes));
    if (info.path) setPath(info.path);
    if (info.width && info.height) renderDims(info.width, info.height);
    if (info.date) setMeta(el.lbDate, formatDate(info.date, true));
    if (info.format) setMeta(el.lbFormat, String(info.format).toUpperCase());
  } catch (e) {
    if (e.name === 'AbortError' || controller !== detailsController) return;
    setMeta(el.lbCamera, null);
    setMeta(el.lbSize, null);
  }
}

async function lightboxStep(delta) {
  if (!el.lb.open) return;
  const next = state.lbIndex + delta;
  if (next < 0) return;
  if (next >= state.hits.length) {
    if (!state.hasMore || searchController) return;
    await runSearch({ append: true });
    if (next >= state.hits.length) return;
  }
  openLightbox(next);
}

function closeLightbox() {
  if (el.lb.open) el.lb.close();
}

el.lbImg.addEventListener('load', () => {
  el.lbImg.classList.add('is-loaded');
  el.lbStage.classList.add('is-loaded');
});
el.lbImg.addEventListener('error', () => {
  if (!el.lbImg.getAttribute('src')) return;
  el.lbStage.classList.add('is-loaded');
  toast('Could not load the original image');
});

el.lb.addEventListener('close', () => {
  if (detailsController) detailsController.abort();
  el.lbImg.removeAttribute('src');
  const idx = state.lbIndex;
  state.lbIndex = -1;
  if (idx >= 0 && hitElements()[idx]) focusHit(idx);
});

el.lb.addEventListener('keydown', (e) => {
  if (e.key === 'ArrowLeft') { e.preventDefault(); lightboxStep(-1); }
  else if (e.key === 'ArrowRight') { e.preventDefault(); lightboxStep(1); }
});

// Click on the dark area around the picture (or the backdrop) closes.
el.lb.addEventListener('click', (e) => {
  if (e.target === el.lb || e.target === el.lbStage || e.target === el.lbThumb) closeLightbox();
});

el.lbPrev.addEventListener('click', () => lightboxStep(-1));
el.lbNext.addEventListener('click', () => lightboxStep(1));
el.lbClose.addEventListener('click', closeLightbox);

el.moreLike.addEventListener('click', () => {
  const hit = state.hits[state.lbIndex];
  if (!hit) return;
  state.lbIndex = -1; // don't restore focus to a cell that is about to be replaced
  closeLightbox();
  searchLike(hit);
});

el.lbFolder.addEventListener('click', () => {
  const hit = state.hits[state.lbIndex];
  if (!hit || !hit.folder) return;
  state.filters.in = hit.folder;
  state.lbIndex = -1;
  closeLightbox();
  stateToControls();
  writeUrl('push');
  runSearch();
});

el.lbCopy.addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText(el.lbPath.textContent);
    toast('Path copied');
  } catch {
    toast('Could not copy the path');
  }
});

// Swipe left/right on touch screens.
let touchStart = null;
el.lbStage.addEventListener('touchstart', (e) => {
  if (e.touches.length === 1) touchStart = { x: e.touches[0].clientX, y: e.touches[0].clientY };
}, { passive: true });
el.lbStage.addEventListener('touchend', (e) => {
  if (!touchStart || !e.changedTouches.length) return;
  const dx = e.changedTouches[0].clientX - touchStart.x;
  const dy = e.changedTouches[0].clientY - touchStart.y;
  touchStart = null;
  if (Math.abs(dx) > 50 && Math.abs(dx) > Math.abs(dy) * 1.5) lightboxStep(dx < 0 ? 1 : -1);
});

// ------------------------------------------------------------------ status

let statusTimer = 0;
async function refreshStatus() {
  clearTimeout(statusTimer);
  try {
    const s = await api('/api/status');
    const wasIndexing = state.library && state.library.indexing;
    state.library = s;
    renderStatus();
    if (!hasQuery()) renderEmpty();
    updateFolderList();
    if (s.indexing) statusTimer = setTimeout(refreshStatus, STATUS_POLL_MS);
    else if (wasIndexing && hasQuery() && !el.lb.open) toast('Indexing finished — new photos are searchable');
  } catch (e) {
    el.status.className = 'status is-down';
    el.status.replaceChildren(make('span', { class: 'dot', 'aria-hidden': 'true' }), make('span', { text: 'Server unreachable' }));
    el.status.title = e.message;
    statusTimer = setTimeout(refreshStatus, STATUS_RETRY_MS);
  }
}

function renderStatus() {
  const s = state.library;
  if (!s) return;
  const parts = [make('span', { class: 'dot', 'aria-hidden': 'true' })];
  const images = typeof s.images === 'number' ? s.images : 0;
  const modelName = s.model ? String(s.model).split('/').pop() : '';
  if (s.indexing) {
    const done = typeof s.indexed === 'number' ? s.indexed : images;
    const total = done + (typeof s.queued === 'number' ? s.queued : 0);
    const bar = make('span', { class: 'status-bar', role: 'progressbar', 'aria-label': 'Indexing progress', 'aria-valuemin': '0', 'aria-valuemax': String(total || 1), 'aria-valuenow': String(done) }, make('span'));
    bar.firstChild.style.width = `${total ? Math.round((done / total) * 100) : 0}%`;
    parts.push(make('span', { text: `Indexing ${nf.format(done)}${total ? ` / ${nf.format(total)}` : ''}` }), bar);
  } else {
    parts.push(make('span', { text: plural(images, 'photo') }));
  }
  if (modelName) parts.push(make('span', { class: 'status-model', text: `· ${modelName}` }));
  el.status.className = `status${s.indexing ? ' is-indexing' : ''}`;
  el.status.replaceChildren(...parts);
  const roots = Array.isArray(s.roots) && s.roots.length ? `Folders: ${s.roots.join(', ')}` : '';
  const last = s.last_run ? `Last indexed: ${formatDate(s.last_run, true)}` : '';
  el.status.title = [roots, s.model ? `Model: ${s.model}` : '', last].filter(Boolean).join('\n');
}

// ------------------------------------------------------------------ search box & filters wiring

el.form.addEventListener('submit', (e) => {
  e.preventDefault();
  state.q = el.q.value;
  writeUrl('replace');
  runSearch();
  if (matchMedia('(hover: none)').matches) el.q.blur(); // hide the phone keyboard
});

function syncClearButton() {
  el.clearQ.hidden = !el.q.value;
}

el.clearQ.addEventListener('click', () => {
  el.q.value = '';
  state.q = '';
  syncClearButton();
  writeUrl('push');
  runSearch();
  el.q.focus();
});

el.q.addEventListener('input', () => {
  const hadQuery = hasQuery();
  state.q = el.q.value;
  syncClearButton();
  // The first keystroke from the start page gets its own history entry, so Back returns there.
  writeUrl(hadQuery ? 'replace' : 'push');
  scheduleSearch();
});

el.q.addEventListener('keydown', (e) => {
  if (e.key === 'ArrowDown' && hitElements().length) {
    e.preventDefault();
    focusHit(state.focusIndex || 0);
  } else if (e.key === 'Backspace' && el.q.selectionStart === 0 && el.q.selectionEnd === 0 && (state.image || state.like != null)) {
    e.preventDefault();
    if (state.image) removeImage(); else removeLike();
  }
});

el.pick.addEventListener('click', () => el.file.click());
el.file.addEventListener('change', () => {
  const file = el.file.files && el.file.files[0];
  if (file) searchByImage(file);
  el.file.value = '';
});

el.fIn.addEventListener('input', () => {
  clearTimeout(folderTimer);
  folderTimer = setTimeout(() => {
    state.filters.in = el.fIn.value.trim();
    filtersChanged();
  }, FOLDER_DEBOUNCE_MS);
});
el.fIn.addEventListener('change', () => {
  clearTimeout(folderTimer);
  if (state.filters.in === el.fIn.value.trim()) return;
  state.filters.in = el.fIn.value.trim();
  filtersChanged();
});
for (const [input, key] of [[el.fAfter, 'after'], [el.fBefore, 'before']]) {
  input.addEventListener('change', () => {
    const v = DATE_RE.test(input.value) ? input.value : '';
    if (state.filters[key] === v) return;
    state.filters[key] = v;
    filtersChanged();
  });
}
el.fMinSize.addEventListener('change', () => {
  state.filters.min_size = el.fMinSize.value;
  filtersChanged();
});
el.fAlbum.addEventListener('change', () => {
  state.filters.album = el.fAlbum.value;
  filtersChanged();
});
el.filtersClear.addEventListener('click', clearFilters);

el.filtersToggle.addEventListener('click', () => {
  const open = !el.filters.classList.contains('is-open');
  el.filters.classList.toggle('is-open', open);
  el.filtersToggle.setAttribute('aria-expanded', String(open));
  if (open) el.fIn.focus();
});

// Re-index the library's folders now (new, changed, removed photos).
$('#rescan').addEventListener('click', async () => {
  try {
    await api('/api/rescan', {
      method: 'POST',
      headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: '{}',
    });
    toast('Looking for new and changed photos…');
    if (state.library) state.library.indexing = true;
    refreshStatus();
  } catch (e) {
    toast(e.message);
  }
});

el.errorRetry.addEventListener('click', () => {
  hideError();
  runSearch();
  refreshStatus();
});

// Infinite scroll: the "Load more" button doubles as the sentinel. It stays
// a real button for keyboard users and for when the observer is missing.
const AUTOLOAD_MARGIN = 600;
let autoLoads = 0; // consecutive loads without the user scrolling; bounded
el.loadMore.addEventListener('click', () => runSearch({ append: true }));
function maybeAutoLoad() {
  if (!state.hasMore || searchController || el.loadMore.hidden || !el.error.hidden || el.lb.open) return;
  if (el.loadMore.getBoundingClientRect().top > innerHeight + AUTOLOAD_MARGIN) return;
  if (autoLoads >= 3) return;
  autoLoads++;
  runSearch({ append: true }).then(() => requestAnimationFrame(maybeAutoLoad));
}
window.addEventListener('scroll', () => { autoLoads = 0; }, { passive: true });
if ('IntersectionObserver' in window) {
  new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) maybeAutoLoad();
  }, { rootMargin: `${AUTOLOAD_MARGIN}px 0px` }).observe(el.loadMore);
}

// ------------------------------------------------------------------ global keys, paste, drag & drop

document.addEventListener('keydown', (e) => {
  if (e.defaultPrevented || el.lb.open) return;
  if (e.key === '/' && !isTyping(e.target) && !e.ctrlKey && !e.metaKey && !e.altKey) {
    e.preventDefault();
    el.q.focus();
    el.q.select();
  } else if (e.key === 'Escape' && e.target === el.q && !el.q.value && (state.image || state.like != null)) {
    if (state.image) removeImage(); else removeLike();
  }
});

document.addEventListener('paste', (e) => {
  const dt = e.clipboardData;
  if (!dt) return;
  const file = [...dt.files].find(isImageFile) ||
    [...dt.items].filter((it) => it.kind === 'file' && /^image\//.test(it.type)).map((it) => it.getAsFile()).find(Boolean);
  if (!file) return; // plain text: let it paste normally
  e.preventDefault();
  searchByImage(file.name ? file : new File([file], `pasted.${(file.type.split('/')[1] || 'png')}`, { type: file.type }));
});

let dragDepth = 0;
let draggedHit = null; // a result thumbnail being dragged: dropping it means "more like this"
const hasFiles = (e) => draggedHit != null || (e.dataTransfer && [...e.dataTransfer.types].includes('Files'));
el.results.addEventListener('dragstart', (e) => {
  const target = e.target.closest('.hit');
  draggedHit = target ? state.hits[Number(target.dataset.index)] || null : null;
});
el.results.addEventListener('dragend', () => {
  draggedHit = null;
  dragDepth = 0;
  el.dropOverlay.hidden = true;
});
window.addEventListener('dragenter', (e) => {
  if (!hasFiles(e)) return;
  e.preventDefault();
  dragDepth++;
  el.dropOverlay.hidden = false;
});
window.addEventListener('dragover', (e) => {
  if (!hasFiles(e)) return;
  e.preventDefault();
  e.dataTransfer.dropEffect = 'copy';
});
window.addEventListener('dragleave', (e) => {
  if (!hasFiles(e)) return;
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) el.dropOverlay.hidden = true;
});
window.addEventListener('drop', (e) => {
  if (!hasFiles(e)) return;
  e.preventDefault();
  dragDepth = 0;
  el.dropOverlay.hidden = true;
  if (draggedHit) {
    const hit = draggedHit;
    draggedHit = null;
    searchLike(hit);
    return;
  }
  const files = [...e.dataTransfer.files];
  const file = files.find(isImageFile);
  if (file) searchByImage(file);
  else toast(files.length ? `“${files[0].name}” isn’t an image` : 'Drop an image file');
});


// ------------------------------------------------------------------ albums and duplicates views

const views = {
  main: $('#main'),
  navAlbums: $('#nav-albums'),
  navDupes: $('#nav-dupes'),
  albums: $('#albums-view'),
  dupes: $('#dupes-view'),
  albumForm: $('#album-form'),
  albumName: $('#album-name'),
  albumPrompts: $('#album-prompts'),
  albumThreshold: $('#album-threshold'),
  albumLike: $('#album-like'),
  albumExample: $('#album-example'),
  albumSuggested: $('#album-suggested'),
  albumList: $('#album-list'),
  tune: $('#album-tune'),
  tuneTitle: $('#tune-title'),
  tuneRange: $('#tune-range'),
  tuneValue: $('#tune-value'),
  tuneSave: $('#tune-save'),
  tuneClose: $('#tune-close'),
  tuneSummary: $('#tune-summary'),
  tuneEnter: $('#tune-enter'),
  tuneLeave: $('#tune-leave'),
  dupesList: $('#dupes-list'),
  dupesHint: $('#dupes-hint'),
  tabs: [...document.querySelectorAll('#dupes-view .tab')],
  lbAlbum: $('#lb-album'),
};
let tuning = null;      // {name, threshold} of the album being tuned
let tuneTimer = 0;
let tuneSeq = 0;
let dupesData = null;   // last /api/dupes answer
let dupesTier = 'exact';

function showView(view, mode = 'push') {
  if (view !== 'albums') clearAlbumExample();
  state.view = view;
  views.main.classList.toggle('showing-view', Boolean(view));
  views.albums.hidden = view !== 'albums';
  views.dupes.hidden = view !== 'dupes';
  views.navAlbums.setAttribute('aria-pressed', String(view === 'albums'));
  views.navDupes.setAttribute('aria-pressed', String(view === 'dupes'));
  writeUrl(mode);
  if (view === 'albums') loadAlbums();
  if (view === 'dupes') loadDupes();
}

function clearAlbumExample() {
  views.albumLike.value = '';
  views.albumExample.hidden = true;
  views.albumExample.replaceChildren();
}

function thumbItem(img, extra) {
  const a = make('a', { class: 'mini', href: img.original, target: '_blank', rel: 'noopener', title: img.path });
  a.append(make('img', { src: img.thumbnail, alt: img.name, loading: 'lazy', decoding: 'async' }));
  if (extra) a.append(extra);
  return make('li', {}, a);
}

async function loadAlbums() {
  try {
    const data = await api('/api/albums');
    renderAlbumFilter(data.albums);
    views.albumSuggested.replaceChildren();
    if (data.suggested.length) {
      views.albumSuggested.append(make('span', { class: 'muted', text: 'Suggested: ' }));
      for (const s of data.suggested) {
        const b = make('button', { type: 'button', class: 'chip-btn', text: `+ ${s.name}`, title: s.prompts.join(' · ') });
        b.addEventListener('click', () => createAlbum({ name: s.name }));
        views.albumSuggested.append(b);
      }
    }
    views.albumList.replaceChildren(...data.albums.map(renderAlbum));
    if (!data.albums.length) views.albumList.append(make('li', { class: 'muted', text: 'No albums yet.' }));
  } catch (e) {
    showError(e);
  }
}

function renderAlbumFilter(albums) {
  const keep = state.filters.album;
  el.fAlbum.replaceChildren(make('option', { value: '', text: 'Any album' }),
    ...albums.map((a) => make('option', { value: a.name, text: `${a.name} (${nf.format(a.count)})` })));
  ensureAlbumOption(keep);
  el.fAlbum.value = keep;
}

function renderAlbum(a) {
  const li = make('li', { class: 'album', dataset: { name: a.name } });
  const open = make('button', { type: 'button', class: 'album-open', title: `Show album:${a.name}` },
    make('span', { class: 'album-name', text: a.name }),
    make('span', { class: 'album-count', text: plural(a.count, 'photo') }));
  open.addEventListener('click', () => {
    state.filters.album = a.name;
    state.q = '';
    state.like = null;
    state.likeInfo = null;
    clearImageState();
    showView('', 'push');
    stateToControls();
    runSearch();
  });
  const desc = [a.prompts.join(' · '), a.example ? `like ${a.example}` : ''].filter(Boolean).join(' + ');
  const tune = make('button', { type: 'button', class: 'btn btn-small', text: 'Tune' });
  tune.addEventListener('click', () => openTune(a));
  const del = make('button', { type: 'button', class: 'btn btn-ghost btn-small', text: 'Delete', 'aria-label': `Delete album ${a.name}` });
  del.addEventListener('click', async () => {
    try {
      await api(`/api/albums/${encodeURIComponent(a.name)}`, { method: 'DELETE' });
      if (state.filters.album === a.name) {
        state.filters.album = '';
        stateToControls();
        writeUrl('replace');
      }
      if (tuning && tuning.name === a.name) closeTune();
      toast(`Album “${a.name}” deleted — its photos are untouched`);
      loadAlbums();
    } catch (e) { showError(e); }
  });
  li.append(open, make('p', { class: 'album-desc', text: `${desc} · threshold ${a.threshold.toFixed(3)}` }),
    make('div', { class: 'album-actions' }, tune, del));
  return li;
}

async function createAlbum(body) {
  try {
    const a = await api('/api/albums', {
      method: 'POST',
      headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    toast(`Album “${a.name}”: ${plural(a.count, 'photo')}`);
    views.albumForm.reset();
    clearAlbumExample();
    hideError();
    await loadAlbums();
    openTune(a);
  } catch (e) {
    showError(e);
  }
}

views.albumForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const prompts = views.albumPrompts.value.split('\n').map((p) => p.trim()).filter(Boolean);
  const body = { name: views.albumName.value.trim(), prompts };
  const t = Number(views.albumThreshold.value);
  if (views.albumThreshold.value !== '' && Number.isFinite(t)) body.threshold = t;
  if (views.albumLike.value) body.like = Number(views.albumLike.value);
  createAlbum(body);
});

function openTune(a) {
  tuning = { name: a.name, threshold: a.threshold };
  views.tune.hidden = false;
  views.tuneTitle.textContent = `Tune “${a.name}”`;
  views.tuneRange.value = String(a.threshold);
  previewTune();
  views.tune.scrollIntoView({ block: 'nearest' });
}

function closeTune() {
  tuning = null;
  views.tune.hidden = true;
}

async function previewTune() {
  if (!tuning) return;
  const t = Number(views.tuneRange.value);
  views.tuneValue.textContent = t.toFixed(3);
  const seq = ++tuneSeq;
  try {
    const url = `/api/albums/${encodeURIComponent(tuning.name)}?threshold=${t}&k=24`;
    const p = await api(url);
    if (seq !== tuneSeq) return;
    views.tuneSummary.textContent = `${plural(p.count, 'photo')} at ${t.toFixed(3)}: ` +
      `${nf.format(p.entering.count)} would enter, ${nf.format(p.leaving.count)} would leave`;
    views.tuneEnter.replaceChildren(...p.entering.images.map((img) => thumbItem(img, make('span', { class: 'mini-score', text: formatScore(img.score) }))));
    views.tuneLeave.replaceChildren(...p.leaving.images.map((img) => thumbItem(img, make('span', { class: 'mini-score', text: formatScore(img.score) }))));
    views.tuneSave.disabled = t === tuning.threshold;
  } catch (e) {
    if (seq === tuneSeq) showError(e);
  }
}

views.tuneRange.addEventListener('input', () => {
  clearTimeout(tuneTimer);
  views.tuneValue.textContent = Number(views.tuneRange.value).toFixed(3);
  tuneTimer = setTimeout(previewTune, 120);
});
views.tuneSave.addEventListener('click', async () => {
  if (!tuning) return;
  const threshold = Number(views.tuneRange.value);
  try {
    const a = await api(`/api/albums/${encodeURIComponent(tuning.name)}`, {
      method: 'PATCH',
      headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: JSON.stringify({ threshold }),
    });
    tuning.threshold = a.threshold;
    toast(`Album “${a.name}”: ${plural(a.count, 'photo')}`);
    await loadAlbums();
    previewTune();
  } catch (e) { showError(e); }
});
views.tuneClose.addEventListener('click', closeTune);

views.lbAlbum.addEventListener('click', () => {
  const hit = state.hits[state.lbIndex];
  if (!hit) return;
  state.lbIndex = -1;
  closeLightbox();
  views.albumLike.value = String(hit.id);
  views.albumExample.hidden = false;
  views.albumExample.replaceChildren(make('img', { src: hit.thumbnail, alt: '' }),
    make('span', { text: `Example: ${hit.name}` }));
  views.albumThreshold.value = '0.8';
  showView('albums');
  views.albumName.focus();
});

async function loadDupes() {
  views.dupesHint.textContent = 'Looking for duplicates…';
  try {
    dupesData = await api('/api/dupes');
    hideError();
    renderDupes();
  } catch (e) {
    views.dupesHint.textContent = '';
    showError(e);
  }
}

const TIER_HINT = {
  exact: 'Byte-for-byte copies of the same file.',
  near: 'The same picture saved again: re-encoded, resized, lightly cropped or with other metadata.',
  similar: 'Different shots of one moment (bursts, retakes): pick the best, keep the rest if you like.',
};

function renderDupes() {
  if (!dupesData) return;
  for (const tab of views.tabs) {
    const t = tab.dataset.tier;
    tab.setAttribute('aria-selected', String(t === dupesTier));
    tab.tabIndex = t === dupesTier ? 0 : -1;
    tab.querySelector('.count-badge').textContent = nf.format(dupesData.counts[t] || 0);
  }
  const groups = dupesData.groups.filter((g) => g.tier === dupesTier);
  views.dupesHint.textContent = groups.length ? TIER_HINT[dupesTier] : `None found. ${TIER_HINT[dupesTier]}`;
  views.dupesList.replaceChildren(...groups.map((g) => {
    const li = make('li', { class: 'dupe-group', dataset: { tier: g.tier } });
    const row = make('ul', { class: 'dupe-row' });
    for (const m of g.members) {
      const facts = [`${m.width}×${m.height}`, formatBytes(m.size_bytes), m.date ? formatDate(m.date) : '']
        .filter(Boolean).join(' · ');
      const card = make('li', { class: m.keeper ? 'dupe is-keeper' : 'dupe' },
        make('a', { href: m.original, target: '_blank', rel: 'noopener', class: 'dupe-img', title: m.path },
          make('img', { src: m.thumbnail, alt: m.name, loading: 'lazy', decoding: 'async' })),
        make('span', { class: 'dupe-badge', text: m.keeper ? 'Keep' : (g.tier === 'exact' ? 'Copy' : `${Math.round(m.cosine * 100)}% alike`) }),
        make('span', { class: 'dupe-name', text: m.name, title: m.path }),
        make('span', { class: 'dupe-facts', text: facts }));
      row.append(card);
    }
    li.append(row);
    return li;
  }));
}

for (const tab of views.tabs) {
  tab.addEventListener('click', () => { dupesTier = tab.dataset.tier; renderDupes(); });
  tab.addEventListener('keydown', (e) => {
    const i = views.tabs.indexOf(tab);
    const next = e.key === 'ArrowRight' ? views.tabs[(i + 1) % 3] : e.key === 'ArrowLeft' ? views.tabs[(i + 2) % 3] : null;
    if (!next) return;
    e.preventDefault();
    dupesTier = next.dataset.tier;
    renderDupes();
    next.focus();
  });
}
views.navAlbums.addEventListener('click', () => showView(state.view === 'albums' ? '' : 'albums'));
views.navDupes.addEventListener('click', () => showView(state.view === 'dupes' ? '' : 'dupes'));
// Searching leaves the views.
el.q.addEventListener('input', () => { if (state.view) showView('', 'replace'); });

// ------------------------------------------------------------------ history

window.addEventListener('popstate', () => {
  if (el.lb.open) { state.lbIndex = -1; closeLightbox(); }
  readUrl();
  stateToControls();
  showView(state.view, 'none');
  runSearch();
  loadLikeInfo();
});

// ------------------------------------------------------------------ start

readUrl();
stateToControls();
history.replaceState({ img: state.imageKey }, '', location.href);
render();
refreshStatus();
if (state.view) showView(state.view, 'none');
api('/api/albums').then((d) => renderAlbumFilter(d.albums)).catch(() => { /* the status line reports a dead server */ });
if (hasQuery()) runSearch().then(loadLikeInfo);
if (!hasQuery() && !matchMedia('(hover: none)').matches) el.q.focus();
