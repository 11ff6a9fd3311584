// The page's elements and small helpers: `$`, the element map, making
// elements, dates and sizes for people, the toast.

export const $ = (sel, root = document) => root.querySelector(sel);

export const el = {
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
  understood: $('#understood'),
  status: $('#status'),
  error: $('#error'),
  errorMessage: $('#error-message'),
  errorRetry: $('#error-retry'),
  empty: $('#empty'),
  emptyTitle: $('#empty-title'),
  emptyText: $('#empty-text'),
  suggestions: $('#suggestions'),
  tagFacets: $('#tag-facets'),
  categoryForm: $('#category-form'),
  categoryName: $('#category-name'),
  ownCategories: $('#own-categories'),
  tagFacetList: $('#tag-facet-list'),
  emptyActions: $('#empty-actions'),
  results: $('#results'),
  loadMore: $('#load-more'),
  dropOverlay: $('#drop-overlay'),
  toast: $('#toast'),
  lb: $('#lightbox'),
  lbStage: $('#lb-stage'),
  lbImg: $('#lb-img'),
  lbVideo: $('#lb-video'),
  lbMotion: $('#lb-motion'),
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
  lbPlace: $('#lb-place'),
  lbText: $('#lb-text'),
  lbTextRow: $('#lb-text-row'),
  lbTags: $('#lb-tags'),
  lbTagsRow: $('#lb-tags-row'),
  lbHere: $('#lb-here'),
  lbFormat: $('#lb-format'),
  lbSize: $('#lb-size'),
  moreLike: $('#more-like-this'),
  lbOriginal: $('#lb-original'),
  lbFolder: $('#lb-folder'),
  lbTeach: $('#lb-teach'),
  lbTeachName: $('#lb-teach-name'),
  lbYes: $('#lb-yes'),
  lbNo: $('#lb-no'),
  account: $('#account'),
  accountName: $('#account-name'),
  signOut: $('#sign-out'),
  signin: $('#signin'),
  signinForm: $('#signin-form'),
  signinToken: $('#signin-token'),
  signinError: $('#signin-error'),
};

// The elements of the library views (albums, duplicates).
export const views = {
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

// ------------------------------------------------------------------ helpers

export const nf = new Intl.NumberFormat();
export const dateFmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
export const dateTimeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function parseDate(s) {
  if (!s) return null;
  // Dates without a zone are local wall-clock times (EXIF has no zone);
  // a bare date would otherwise be parsed as UTC midnight.
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00` : s);
  return Number.isNaN(d.getTime()) ? null : d;
}
export function formatDate(s, withTime = false) {
  const d = parseDate(s);
  if (!d) return s || '';
  const hasTime = withTime && /T\d{2}:\d{2}/.test(s) && !/T00:00:00(\.0+)?Z?$/.test(s);
  return (hasTime ? dateTimeFmt : dateFmt).format(d);
}
export function formatBytes(n) {
  if (n == null || !Number.isFinite(n)) return null;
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
// Seconds as a video player shows them: 0:24, 1:02:05.
export function formatClock(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor(s / 60) % 60;
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
export function formatScore(s) {
  return typeof s === 'number' && Number.isFinite(s) ? s.toFixed(3) : '–';
}
export function plural(n, one, many = `${one}s`) {
  return `${nf.format(n)} ${n === 1 ? one : many}`;
}
export function make(tag, props = {}, ...children) {
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
export function icon(name, cls = 'icon') {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('class', cls);
  svg.setAttribute('aria-hidden', 'true');
  const use = document.createElementNS('http://www.w3.org/2000/svg', 'use');
  use.setAttribute('href', `#i-${name}`);
  svg.append(use);
  return svg;
}
export function isTyping(target) {
  return target instanceof HTMLElement &&
    (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
}
export function isImageFile(file) {
  return file && (/^image\//.test(file.type) ||
    (!file.type && /\.(jpe?g|png|webp|gif|bmp|tiff?|heic|heif|avif)$/i.test(file.name || '')));
}

export let toastTimer = 0;
export function toast(message) {
  el.toast.textContent = message;
  el.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.toast.hidden = true; }, 3500);
}
