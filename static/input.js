// Keys that work anywhere, pasting an image, dropping a file or a result.

import { $, el, isImageFile, isTyping, toast } from './dom.js';
import { removeImage, removeLike, searchByImage, searchLike } from './search.js';
import { state } from './state.js';

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

export let dragDepth = 0;
export let draggedHit = null; // a result thumbnail being dragged: dropping it means "more like this"
export const hasFiles = (e) => draggedHit != null || (e.dataTransfer && [...e.dataTransfer.types].includes('Files'));
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
