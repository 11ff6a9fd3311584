// scry web UI: the entry module. Plain ES2020 modules: no build step, no
// framework, no inline anything (the server's CSP forbids it). All query
// state lives in the URL. Each module has one job (see its first line).

import { renderAlbumFilter } from './albums.js';
import { api } from './api.js';
import { el } from './dom.js';
import { loadLikeInfo, render } from './grid.js';
import { closeLightbox } from './lightbox.js';
import { runSearch } from './search.js';
import { whoAmI } from './signin.js';
import { state } from './state.js';
import { refreshStatus } from './status.js';
import { hasQuery, readUrl, stateToControls } from './url.js';
import { showView } from './views.js';

// The UI's parts; each wires its own events when it is imported.
import './dupes.js';
import './input.js';
import './searchbox.js';

// ------------------------------------------------------------------ history

window.addEventListener('popstate', () => {
  if (el.lb.open) { state.lbIndex = -1; closeLightbox(); }
  readUrl();
  stateToControls();
  showView(state.view, 'none');
  runSearch();
  loadLikeInfo();
});

// ------------------------------------------------------------------ start

function boot() {
  readUrl();
  stateToControls();
  history.replaceState({ img: state.imageKey }, '', location.href);
  render();
  refreshStatus();
  if (state.view) showView(state.view, 'none');
  api('/api/albums').then((d) => renderAlbumFilter(d.albums)).catch(() => { /* the status line reports a dead server */ });
  if (hasQuery()) runSearch().then(loadLikeInfo);
  if (!hasQuery() && !matchMedia('(hover: none)').matches) el.q.focus();
}

whoAmI().then((signedIn) => { if (signedIn) boot(); });
