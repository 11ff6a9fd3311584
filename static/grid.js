// The results: the summary line, the grid of hits, the empty and error
// states, and moving through the grid with the keyboard.

import { api } from './api.js';
import { $, el, formatClock, formatDate, formatScore, icon, make, plural, toast } from './dom.js';
import { openLightbox } from './lightbox.js';
import { removeImage, removeLike, runSearch, searchController } from './search.js';
import { clearFilters, countFilters, syncClearButton } from './searchbox.js';
import { MAX_TAG_FACETS, SUGGESTIONS, images, knownFolders, state } from './state.js';
import { hasQuery, writeUrl } from './url.js';

// ------------------------------------------------------------------ rendering

export function render({ append = false, added = 0 } = {}) {
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

export function renderHit(hit, index) {
  const img = make('img', {
    src: hit.thumbnail || `/api/images/${hit.id}/thumbnail`,
    alt: hit.name || '',
    loading: 'lazy',
    decoding: 'async',
  });
  img.addEventListener('load', () => { img.parentElement && img.parentElement.classList.add('is-loaded'); }, { once: true });
  img.addEventListener('error', () => { img.parentElement && img.parentElement.classList.add('is-broken'); }, { once: true });
  const dateText = hit.date ? formatDate(hit.date) : '';
  const video = typeof hit.duration === 'number' ? `video at ${formatClock(hit.time ?? 0)}` : '';
  const label = [hit.name, video, dateText, `score ${formatScore(hit.score)}`].filter(Boolean).join(', ');
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
  // A video: where in it the match is.
  typeof hit.duration === 'number'
    ? make('span', { class: 'hit-video', 'aria-hidden': 'true', text: `▶ ${formatClock(hit.time ?? 0)}` })
    : null,
  make('span', { class: 'hit-meta', 'aria-hidden': 'true' },
    make('span', { class: 'hit-name', text: hit.name || '' }),
    dateText ? make('span', { class: 'hit-date', text: dateText }) : null));
  return make('li', {}, a);
}

export function renderSummary() {
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

export function renderEmpty() {
  const activeFilters = countFilters();
  el.suggestions.replaceChildren();
  el.emptyActions.replaceChildren();
  el.tagFacets.hidden = true;
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
  renderTagFacets();
}

// The library's auto-tags with their counts (the facets): one click lists a
// tag's photos. Loaded once a page; a server without them shows none.
let tagFacetsLoading = false;

function searchFor(q) {
  state.q = q;
  state.keep = [];
  el.q.value = q;
  syncClearButton();
  writeUrl('push');
  runSearch();
  el.q.focus();
}

function renderTagFacets() {
  const tags = state.tagFacets;
  if (tags == null) {
    el.tagFacets.hidden = true;
    if (!tagFacetsLoading) {
      tagFacetsLoading = true;
      api('/api/tags').then((data) => {
        state.tagFacets = Array.isArray(data.tags) ? data.tags.slice(0, MAX_TAG_FACETS) : [];
        state.ownCategories = Array.isArray(data.categories) ? data.categories : [];
      }).catch(() => {
        state.tagFacets = [];
      }).finally(() => {
        tagFacetsLoading = false;
        if (!hasQuery()) renderTagFacets();
      });
    }
    return;
  }
  el.tagFacetList.replaceChildren(...tags.map((t) => {
    const b = make('button', {
      type: 'button',
      class: 'tag-facet',
      'data-tag': t.tag,
      'aria-label': `${t.category}: ${plural(t.count, 'photo')}`,
    }, make('span', { class: 'tag-facet-name', text: t.category }),
    make('span', { class: 'tag-facet-count', text: String(t.count) }));
    b.addEventListener('click', () => searchFor(`tag:${t.tag}`));
    return b;
  }));
  // The library's own categories, each removable by an admin.
  el.categoryForm.hidden = !state.admin;
  el.ownCategories.replaceChildren(...(state.admin ? state.ownCategories : []).map((name) => {
    const remove = make('button', { type: 'button', class: 'own-category-remove', 'aria-label': `Remove the category ${name}`, text: '×' });
    remove.addEventListener('click', () => changeCategory('DELETE', name));
    return make('span', { class: 'tag-facet own-category', 'data-name': name }, make('span', { text: name }), remove);
  }));
  el.tagFacets.hidden = tags.length === 0 || hasQuery();
}

// Adds or removes one of the library's own categories (admins), then shows
// the facets again: every photo is re-tagged from its stored vector.
async function changeCategory(method, name) {
  try {
    await api(`/api/tags/categories/${encodeURIComponent(name)}`, { method });
    state.tagFacets = null;
    renderTagFacets();
    toast(method === 'PUT' ? `Added the category “${name}”` : `Removed the category “${name}”`);
  } catch (e) {
    toast(e.message || 'The category could not be changed');
  }
}

el.categoryForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const name = el.categoryName.value.trim();
  if (!name) return;
  el.categoryName.value = '';
  changeCategory('PUT', name);
});

export function renderChips() {
  el.chips.replaceChildren();
  if (state.image) {
    el.chips.append(chip(state.imageUrl, 'Image', state.image.name || 'pasted image', 'Remove the query image', removeImage));
  } else if (state.like != null) {
    const base = state.likeInfo && state.likeInfo.id === state.like ? state.likeInfo.name : `#${state.like}`;
    const name = state.likeAt != null ? `${base} at ${formatClock(state.likeAt)}` : base;
    el.chips.append(chip(`/api/images/${state.like}/thumbnail`, 'Like', name, 'Stop searching for similar photos', removeLike));
  }
}

// What the server read out of the query (dates, a place), each undoable:
// undoing one keeps its words as text and searches again. An explicit
// `place:` is removed from the query instead.
export function renderUnderstood() {
  const chips = state.understood.map((u) => {
    const place = u.kind === 'place';
    const what = place ? 'a place' : 'a date';
    const explicit = place && /^place:/i.test(u.text);
    const title = explicit ? `Stop searching in ${u.label}` : `Search “${u.text}” as words, not as ${what}`;
    const undo = make('button', { type: 'button', class: 'icon-btn', 'aria-label': title, title }, icon('x'));
    undo.addEventListener('click', (e) => {
      e.preventDefault();
      if (explicit) {
        state.q = state.q.replace(u.text, ' ').replace(/\s+/g, ' ').trim();
        el.q.value = state.q;
      } else if (!state.keep.includes(u.text)) {
        state.keep.push(u.text);
      }
      writeUrl('push');
      runSearch();
      el.q.focus();
    });
    return make('span', { class: 'chip chip-understood', title: `“${u.text}” read as ${u.label}`, dataset: { text: u.text, kind: u.kind } },
      icon(place ? 'pin' : 'calendar'),
      make('span', { class: 'chip-label' }, make('span', { class: 'chip-kind', text: place ? 'Place: ' : 'Date: ' }), u.label),
      undo);
  });
  el.understood.replaceChildren(...chips);
  el.understood.hidden = chips.length === 0;
}

export function chip(src, kind, label, removeLabel, onRemove) {
  const img = make('img', { src, alt: '' });
  img.addEventListener('error', () => { img.hidden = true; }, { once: true });
  const remove = make('button', { type: 'button', class: 'icon-btn', 'aria-label': removeLabel, title: removeLabel }, icon('x'));
  remove.addEventListener('click', (e) => { e.preventDefault(); onRemove(); el.q.focus(); });
  return make('span', { class: 'chip', title: label },
    img,
    make('span', { class: 'chip-label' }, make('span', { class: 'chip-kind', text: `${kind}: ` }), label),
    remove);
}

export async function loadLikeInfo() {
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

export function updateFolderList() {
  const roots = state.library && Array.isArray(state.library.roots) ? state.library.roots : [];
  for (const r of roots) knownFolders.add(r);
  if (roots.length) el.fIn.placeholder = roots[0];
  const sorted = [...knownFolders].sort().slice(0, 300);
  if (sorted.length === el.folderList.children.length) return;
  el.folderList.replaceChildren(...sorted.map((f) => make('option', { value: f })));
}

// ------------------------------------------------------------------ grid keyboard navigation

export function hitElements() {
  return el.results.querySelectorAll('.hit');
}

export function updateRovingTabindex() {
  const hits = hitElements();
  if (!hits.length) return;
  state.focusIndex = Math.max(0, Math.min(state.focusIndex, hits.length - 1));
  hits.forEach((h, i) => { h.tabIndex = i === state.focusIndex ? 0 : -1; });
}

export function focusHit(i) {
  const hits = hitElements();
  if (!hits.length) return;
  state.focusIndex = Math.max(0, Math.min(i, hits.length - 1));
  updateRovingTabindex();
  const target = hits[state.focusIndex];
  target.focus({ preventScroll: true });
  target.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
}

export function gridColumns() {
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
