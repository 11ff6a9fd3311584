// Smart albums: the list, making one, tuning a threshold with a live preview.

import { api } from './api.js';
import { $, el, formatScore, make, nf, plural, toast, views } from './dom.js';
import { closeLightbox } from './lightbox.js';
import { clearImageState, hideError, runSearch, showError } from './search.js';
import { state } from './state.js';
import { ensureAlbumOption, stateToControls, writeUrl } from './url.js';
import { clearAlbumExample, showView, thumbItem } from './views.js';

export let tuning = null;      // {name, threshold} of the album being tuned
export let tuneTimer = 0;
export let tuneSeq = 0;

export async function loadAlbums() {
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

export function renderAlbumFilter(albums) {
  const keep = state.filters.album;
  el.fAlbum.replaceChildren(make('option', { value: '', text: 'Any album' }),
    ...albums.map((a) => make('option', { value: a.name, text: `${a.name} (${nf.format(a.count)})` })));
  ensureAlbumOption(keep);
  el.fAlbum.value = keep;
}

export function renderAlbum(a) {
  const li = make('li', { class: 'album', dataset: { name: a.name } });
  const open = make('button', { type: 'button', class: 'album-open', title: `Show album:${a.name}` },
    make('span', { class: 'album-name', text: a.name }),
    make('span', { class: 'album-count', text: plural(a.count, 'photo') }));
  open.addEventListener('click', () => {
    state.filters.album = a.name;
    state.q = '';
    state.like = null;
    state.likeInfo = null;
    state.likeAt = null;
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

export async function createAlbum(body) {
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

export function openTune(a) {
  tuning = { name: a.name, threshold: a.threshold };
  views.tune.hidden = false;
  views.tuneTitle.textContent = `Tune “${a.name}”`;
  views.tuneRange.value = String(a.threshold);
  previewTune();
  views.tune.scrollIntoView({ block: 'nearest' });
}

export function closeTune() {
  tuning = null;
  views.tune.hidden = true;
}

export async function previewTune() {
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
