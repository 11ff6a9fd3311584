// The lightbox: one photo large, its details, previous and next, swipes.

import { api } from './api.js';
import { $, el, formatBytes, formatClock, formatDate, formatScore, make, nf, toast } from './dom.js';
import { focusHit, hitElements } from './grid.js';
import { runSearch, searchController, searchLike } from './search.js';
import { images, state } from './state.js';
import { stateToControls, writeUrl } from './url.js';

export let detailsController = null;

// ------------------------------------------------------------------ lightbox

export function setMeta(node, value) {
  const missing = value == null || value === '';
  node.textContent = missing ? '—' : value;
  node.classList.toggle('is-missing', missing);
}

export function openLightbox(index) {
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
  stopVideo();
  el.lbMotion.hidden = true;
  if (typeof hit.duration === 'number') {
    // A video: played from the moment that matched (the server answers byte
    // ranges, so it starts there without downloading the rest).
    playVideo(hit.original || `/api/images/${hit.id}/original`, hit.time || 0, hit.thumbnail);
  } else {
    el.lbImg.hidden = false;
    el.lbImg.src = hit.display || hit.original || `/api/images/${hit.id}/original`;
  }

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
  setMeta(el.lbPlace, hit.place ? hit.place.label : null);
  el.lbHere.hidden = !hit.place;
  setMeta(el.lbFormat, hit.format ? hit.format.toUpperCase() + (typeof hit.duration === 'number' ? ` · video ${formatClock(hit.duration)}` : '') : null);
  setMeta(el.lbCamera, '…');
  setMeta(el.lbSize, '…');
  el.lbTextRow.hidden = true;
  el.lbText.textContent = '';
  el.lbTagsRow.hidden = true;
  el.lbTags.replaceChildren();
  el.lbOriginal.href = hit.original || `/api/images/${hit.id}/original`;
  el.lbFolder.hidden = !hit.folder || state.filters.in === hit.folder;
  renderTeach(hit);
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
export function setPath(p) {
  el.lbPath.replaceChildren();
  p.split(/(?<=[/\\])/).forEach((part, i) => {
    if (i) el.lbPath.append(make('wbr'));
    el.lbPath.append(part);
  });
}

export function renderDims(w, h) {
  if (w && h) {
    const mp = (w * h) / 1e6;
    setMeta(el.lbDims, `${nf.format(w)} × ${nf.format(h)} px${mp >= 0.1 ? ` · ${mp.toFixed(1)} MP` : ''}`);
  } else {
    setMeta(el.lbDims, null);
  }
}

export function preload(hit) {
  if (!hit) return;
  const img = new Image();
  img.decoding = 'async';
  img.src = hit.display || hit.original || `/api/images/${hit.id}/original`;
}

export async function loadDetails(hit) {
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
    if (info.format) setMeta(el.lbFormat, String(info.format).toUpperCase() + (typeof info.duration === 'number' ? ` · video ${formatClock(info.duration)}` : ''));
    // A Live Photo: its clip plays on demand.
    el.lbMotion.hidden = !info.motion;
    el.lbMotion.dataset.src = info.motion || '';
    el.lbMotion.setAttribute('aria-pressed', 'false');
    // Text read in the picture (scry index --ocr), as lines.
    el.lbText.textContent = info.text || '';
    el.lbTextRow.hidden = !info.text;
    // Its auto-tags: one click lists the photos carrying one.
    const tags = Array.isArray(info.tags) ? info.tags : [];
    el.lbTags.replaceChildren(...tags.map((t) => {
      const b = make('button', { type: 'button', class: 'tag-facet', 'data-tag': t, text: t.replace(/-/g, ' '), title: `Photos tagged ${t}` });
      b.addEventListener('click', () => {
        state.q = `tag:${t}`;
        state.keep = [];
        state.lbIndex = -1;
        closeLightbox();
        stateToControls();
        writeUrl('push');
        runSearch();
      });
      return b;
    }));
    el.lbTagsRow.hidden = tags.length === 0;
  } catch (e) {
    if (e.name === 'AbortError' || controller !== detailsController) return;
    setMeta(el.lbCamera, null);
    setMeta(el.lbSize, null);
  }
}

export async function lightboxStep(delta) {
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

// Shows the video element in place of the picture, playing `src` from `at`
// seconds (muted, so browsers let it start by itself).
function playVideo(src, at, poster) {
  el.lbImg.hidden = true;
  const v = el.lbVideo;
  v.hidden = false;
  if (poster) v.poster = poster;
  v.dataset.at = String(at);
  v.src = `${src}#t=${at}`;
  v.addEventListener('loadedmetadata', () => {
    if (Math.abs(v.currentTime - at) > 0.5) v.currentTime = at;
    el.lbStage.classList.add('is-loaded');
    v.classList.add('is-loaded');
    const playing = v.play();
    if (playing) playing.catch(() => {});
  }, { once: true });
}

function stopVideo() {
  const v = el.lbVideo;
  v.pause();
  v.removeAttribute('src');
  v.removeAttribute('poster');
  v.classList.remove('is-loaded');
  v.hidden = true;
  v.load();
}

el.lbMotion.addEventListener('click', () => {
  const src = el.lbMotion.dataset.src;
  if (!src) return;
  if (el.lbMotion.getAttribute('aria-pressed') === 'true') {
    stopVideo();
    el.lbImg.hidden = false;
    el.lbMotion.setAttribute('aria-pressed', 'false');
    return;
  }
  el.lbMotion.setAttribute('aria-pressed', 'true');
  playVideo(src, 0, el.lbImg.currentSrc || null);
});

el.lbVideo.addEventListener('error', () => {
  if (!el.lbVideo.getAttribute('src')) return;
  el.lbStage.classList.add('is-loaded');
  toast('This browser cannot play the video; Download opens the file');
});

export function closeLightbox() {
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
  stopVideo();
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

// The place a photo was taken becomes part of the query (`place:"City, CC"`,
// shown as a chip that can be undone), replacing any place typed before.
el.lbHere.addEventListener('click', () => {
  const hit = state.hits[state.lbIndex];
  if (!hit || !hit.place) return;
  const rest = state.q.replace(/(^|\s)place:("[^"]*"|\S+)/g, ' ').trim();
  state.q = `${rest} ${hit.place.query}`.trim();
  state.lbIndex = -1;
  closeLightbox();
  stateToControls();
  writeUrl('push');
  runSearch();
});

// Inside an album, each photo can be marked as belonging or not; the album
// learns from the marks at once and the grid shows its new members.
let albumMarks = { name: '', marks: [] };

function renderTeach(hit) {
  const name = state.filters.album;
  el.lbTeach.hidden = !name;
  if (!name) return;
  el.lbTeachName.textContent = name;
  const m = albumMarks.name === name ? albumMarks.marks.find((x) => x.id === hit.id) : null;
  el.lbYes.setAttribute('aria-pressed', String(!!m && m.yes));
  el.lbNo.setAttribute('aria-pressed', String(!!m && !m.yes));
  if (albumMarks.name !== name) {
    albumMarks = { name, marks: [] };
    api(`/api/albums/${encodeURIComponent(name)}?k=1`).then((page) => {
      albumMarks = { name, marks: page.album.marks || [] };
      const now = state.hits[state.lbIndex];
      if (now) renderTeach(now);
    }).catch(() => {});
  }
}

async function teach(belongs) {
  const hit = state.hits[state.lbIndex];
  const name = state.filters.album;
  if (!hit || !name) return;
  const pressed = (belongs ? el.lbYes : el.lbNo).getAttribute('aria-pressed') === 'true';
  try {
    const view = await api(`/api/albums/${encodeURIComponent(name)}/marks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: hit.id, belongs: pressed ? null : belongs }),
    });
    albumMarks = { name, marks: view.marks || [] };
    toast(`${name}: ${nf.format(view.count)} photo${view.count === 1 ? '' : 's'} now`);
    // The grid shows the album as it is now (the lightbox's place in it is gone).
    state.lbIndex = -1;
    closeLightbox();
    runSearch();
  } catch (err) {
    toast(err.message || 'Could not mark the photo');
  }
}

el.lbYes.addEventListener('click', () => teach(true));
el.lbNo.addEventListener('click', () => teach(false));

el.lbCopy.addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText(el.lbPath.textContent);
    toast('Path copied');
  } catch {
    toast('Could not copy the path');
  }
});

// Swipe left/right on touch screens.
export let touchStart = null;
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
