// The status line: images, model, indexing progress; polled while indexing.

import { api } from './api.js';
import { $, el, formatDate, make, nf, plural, toast } from './dom.js';
import { renderEmpty, updateFolderList } from './grid.js';
import { STATUS_POLL_MS, STATUS_RETRY_MS, images, state } from './state.js';
import { hasQuery } from './url.js';

// ------------------------------------------------------------------ status

export let statusTimer = 0;
export async function refreshStatus() {
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

export function renderStatus() {
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
  // Queries through a text model of their own (scry serve --text-model).
  const textName = s.text_model ? String(s.text_model).split('/').pop() : '';
  if (textName) parts.push(make('span', { class: 'status-text-model', text: `· queries: ${textName}` }));
  el.status.className = `status${s.indexing ? ' is-indexing' : ''}`;
  el.status.replaceChildren(...parts);
  const roots = Array.isArray(s.roots) && s.roots.length ? `Folders: ${s.roots.join(', ')}` : '';
  const last = s.last_run ? `Last indexed: ${formatDate(s.last_run, true)}` : '';
  el.status.title = [roots, s.model ? `Model: ${s.model}` : '', s.text_model ? `Text model: ${s.text_model}` : '', last].filter(Boolean).join('\n');
}
