// The search box and the filters: chips, typing, the filter fields, the
// folder list, loading more as the page scrolls.

import { api } from './api.js';
import { $, el, toast } from './dom.js';
import { focusHit, hitElements, renderEmpty } from './grid.js';
import { hideError, removeImage, removeLike, runSearch, scheduleSearch, searchByImage, searchController } from './search.js';
import { FOLDER_DEBOUNCE_MS, state } from './state.js';
import { refreshStatus } from './status.js';
import { DATE_RE, hasQuery, stateToControls, writeUrl } from './url.js';

export let folderTimer = 0;

// ------------------------------------------------------------------ filters

export function countFilters() {
  const f = state.filters;
  return [f.in, f.after, f.before, f.min_size, f.album].filter(Boolean).length;
}

export function renderFilterState() {
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

export function filtersChanged() {
  renderFilterState();
  writeUrl('replace');
  if (hasQuery()) runSearch();
  else renderEmpty();
}

export function clearFilters() {
  state.filters = { in: '', after: '', before: '', min_size: '', album: '' };
  stateToControls();
  writeUrl('push');
  if (hasQuery()) runSearch();
  else renderEmpty();
}

// ------------------------------------------------------------------ search box & filters wiring

el.form.addEventListener('submit', (e) => {
  e.preventDefault();
  state.q = el.q.value;
  writeUrl('replace');
  runSearch();
  if (matchMedia('(hover: none)').matches) el.q.blur(); // hide the phone keyboard
});

export function syncClearButton() {
  el.clearQ.hidden = !el.q.value;
}

el.clearQ.addEventListener('click', () => {
  el.q.value = '';
  state.q = '';
  state.keep = [];
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
export const AUTOLOAD_MARGIN = 600;
el.loadMore.addEventListener('click', () => runSearch({ append: true }));
export function maybeAutoLoad() {
  if (!state.hasMore || searchController || el.loadMore.hidden || !el.error.hidden || el.lb.open) return;
  if (el.loadMore.getBoundingClientRect().top > innerHeight + AUTOLOAD_MARGIN) return;
  if (state.autoLoads >= 3) return;
  state.autoLoads++;
  runSearch({ append: true }).then(() => requestAnimationFrame(maybeAutoLoad));
}
window.addEventListener('scroll', () => { state.autoLoads = 0; }, { passive: true });
if ('IntersectionObserver' in window) {
  new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) maybeAutoLoad();
  }, { rootMargin: `${AUTOLOAD_MARGIN}px 0px` }).observe(el.loadMore);
}
