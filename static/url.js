// The URL and the state, both ways: reload, Back and Forward restore a search.

import { $, el, make, nf } from './dom.js';
import { renderChips } from './grid.js';
import { clearImageState, setImageState } from './search.js';
import { renderFilterState } from './searchbox.js';
import { DEFAULT_K, MAX_K, images, state } from './state.js';

// ------------------------------------------------------------------ URL <-> state

export function hasQuery() {
  return Boolean(state.q.trim() || state.like != null || state.image || state.filters.album);
}

export function stateToParams() {
  const p = new URLSearchParams();
  if (state.q.trim()) p.set('q', state.q.trim());
  if (state.like != null) p.set('like', String(state.like));
  if (state.like != null && state.likeAt != null) p.set('at', String(state.likeAt));
  if (state.filters.in) p.set('in', state.filters.in);
  if (state.filters.after) p.set('after', state.filters.after);
  if (state.filters.before) p.set('before', state.filters.before);
  if (state.filters.min_size) p.set('min_size', state.filters.min_size);
  if (state.filters.album) p.set('album', state.filters.album);
  if (state.keep.length) p.set('keep', state.keep.join('|'));
  if (state.view) p.set('view', state.view);
  if (state.k !== DEFAULT_K) p.set('k', String(state.k));
  return p;
}

export function writeUrl(mode = 'replace') {
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

export const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

export function readUrl() {
  const p = new URLSearchParams(location.search);
  state.q = p.get('q') || '';
  const like = p.get('like');
  state.like = like && /^\d+$/.test(like) ? Number(like) : null;
  if (!state.likeInfo || state.likeInfo.id !== state.like) state.likeInfo = null;
  const at = p.get('at');
  state.likeAt = state.like != null && at && /^\d+(\.\d+)?$/.test(at) ? Number(at) : null;
  state.filters.in = p.get('in') || '';
  state.filters.after = DATE_RE.test(p.get('after') || '') ? p.get('after') : '';
  state.filters.before = DATE_RE.test(p.get('before') || '') ? p.get('before') : '';
  const minSize = p.get('min_size') || '';
  state.filters.min_size = /^\d+$/.test(minSize) && Number(minSize) > 0 ? minSize : '';
  const album = p.get('album') || '';
  state.filters.album = /^[a-z0-9_-]{1,40}$/.test(album) ? album : '';
  state.keep = (p.get('keep') || '').split('|').map((s) => s.trim()).filter(Boolean);
  state.view = ['albums', 'dupes'].includes(p.get('view')) ? p.get('view') : '';
  const k = Number(p.get('k'));
  state.k = Number.isInteger(k) && k > 0 ? Math.min(k, MAX_K) : DEFAULT_K;

  const key = history.state && history.state.img;
  const file = key ? images.get(key) : null;
  if (file) setImageState(file, key);
  else clearImageState();
}

export function stateToControls() {
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

export function ensureAlbumOption(value) {
  if (!value || [...el.fAlbum.options].some((o) => o.value === value)) return;
  el.fAlbum.append(make('option', { value, text: value }));
}

export function ensureMinSizeOption(value) {
  if (!value || [...el.fMinSize.options].some((o) => o.value === value)) return;
  el.fMinSize.append(make('option', { value, text: `≥ ${nf.format(Number(value))} px` }));
}
