// The library views beside search: switching between search, albums and
// duplicates.

import { loadAlbums } from './albums.js';
import { el, make, views } from './dom.js';
import { loadDupes } from './dupes.js';
import { state } from './state.js';
import { writeUrl } from './url.js';

export function showView(view, mode = 'push') {
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

export function clearAlbumExample() {
  views.albumLike.value = '';
  views.albumExample.hidden = true;
  views.albumExample.replaceChildren();
}

export function thumbItem(img, extra) {
  const a = make('a', { class: 'mini', href: img.original, target: '_blank', rel: 'noopener', title: img.path });
  a.append(make('img', { src: img.thumbnail, alt: img.name, loading: 'lazy', decoding: 'async' }));
  if (extra) a.append(extra);
  return make('li', {}, a);
}

views.navAlbums.addEventListener('click', () => showView(state.view === 'albums' ? '' : 'albums'));
views.navDupes.addEventListener('click', () => showView(state.view === 'dupes' ? '' : 'dupes'));
// Searching leaves the views.
el.q.addEventListener('input', () => { if (state.view) showView('', 'replace'); });
