// Running searches: debounced, cancelled when superseded, paged; and the
// actions that change the query (more like this, search by image, clear).

import { api } from './api.js';
import { $, el, isImageFile, make, toast } from './dom.js';
import { render, renderChips, renderUnderstood, updateFolderList } from './grid.js';
import { syncClearButton } from './searchbox.js';
import { TYPE_DEBOUNCE_MS, images, knownFolders, state } from './state.js';
import { hasQuery, writeUrl } from './url.js';

export let imageCounter = 0;
export let searchSeq = 0;           // increments on every search; stale responses compare against it
export let searchController = null; // AbortController of the request in flight
export let typeTimer = 0;
export let staleTimer = 0;

// ------------------------------------------------------------------ search

export function buildRequest(offset) {
  const f = state.filters;
  const fields = {
    q: state.q.trim(), in: f.in, after: f.after, before: f.before,
    min_size: f.min_size, album: f.album, k: String(state.k), offset: String(offset),
    keep: state.keep.join('|'),
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
  if (state.like != null && state.likeAt != null) p.set('at', String(state.likeAt));
  for (const key of ['in', 'after', 'before', 'min_size', 'album', 'k', 'offset', 'keep']) if (fields[key]) p.set(key, fields[key]);
  return [`/api/search?${p}`, { method: 'GET' }];
}

export function cancelSearch() {
  clearTimeout(typeTimer);
  searchSeq++;
  if (searchController) searchController.abort();
  searchController = null;
  setLoading(false);
}

export async function runSearch({ append = false } = {}) {
  clearTimeout(typeTimer);
  if (!hasQuery()) {
    cancelSearch();
    state.understood = [];
    renderUnderstood();
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
  if (!append) state.autoLoads = 0;
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
    if (!append) {
      state.understood = Array.isArray(data.understood) ? data.understood : [];
      renderUnderstood();
    }
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

export function scheduleSearch(delay = TYPE_DEBOUNCE_MS) {
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

export function setLoading(on, append = false) {
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

export function showSkeleton() {
  if (el.results.querySelector('.hit')) return;
  const n = Math.min(state.k, 12);
  el.results.replaceChildren(...Array.from({ length: n }, () => make('li', { class: 'skeleton', 'aria-hidden': 'true' })));
  el.results.hidden = false;
  el.empty.hidden = true;
}

export function showError(err) {
  el.errorMessage.textContent = err.message || String(err);
  el.error.dataset.code = err.code || '';
  el.error.hidden = false;
}
export function hideError() {
  el.error.hidden = true;
}

// ------------------------------------------------------------------ query actions

export function setImageState(file, key) {
  if (state.imageUrl) URL.revokeObjectURL(state.imageUrl);
  state.image = file;
  state.imageUrl = URL.createObjectURL(file);
  state.imageKey = key;
}
export function clearImageState() {
  if (state.imageUrl) URL.revokeObjectURL(state.imageUrl);
  state.image = null;
  state.imageUrl = null;
  state.imageKey = null;
}

export function searchByImage(file) {
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
  state.likeAt = null;
  renderChips();
  writeUrl('push');
  runSearch();
}

export function removeImage() {
  clearImageState();
  renderChips();
  writeUrl('push');
  runSearch();
}

export function removeLike() {
  state.like = null;
  state.likeInfo = null;
  state.likeAt = null;
  renderChips();
  writeUrl('push');
  runSearch();
}

export function searchLike(hit) {
  state.like = hit.id;
  state.likeInfo = { id: hit.id, name: hit.name };
  // A video: more like the moment that matched.
  state.likeAt = typeof hit.time === 'number' ? hit.time : null;
  state.q = '';
  el.q.value = '';
  syncClearButton();
  clearImageState();
  renderChips();
  writeUrl('push');
  runSearch();
  window.scrollTo({ top: 0 });
}
