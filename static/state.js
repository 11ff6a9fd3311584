// What the page is showing: the query, its results, the library's status.
// All query state also lives in the URL (see url.js).

export const DEFAULT_K = 30;
export const MAX_K = 200;
export const TYPE_DEBOUNCE_MS = 250;
export const FOLDER_DEBOUNCE_MS = 350;
export const STATUS_POLL_MS = 5000;
export const STATUS_RETRY_MS = 15000;
export const SUGGESTIONS = ['a cat', 'the night sky', 'a cup of coffee', 'people smiling', 'snow in the mountains', 'a page of text'];

// ------------------------------------------------------------------ state

export const state = {
  q: '',
  like: null,          // image id (number) for "more like this"
  likeInfo: null,      // {id, name} once known
  likeAt: null,        // with like of a video: the moment (seconds) to search like
  image: null,         // File for search-by-image
  imageUrl: null,      // blob: URL of that file for the chip
  imageKey: null,      // key into `images` so Back/Forward can restore it
  filters: { in: '', after: '', before: '', min_size: '', album: '' },
  keep: [],            // phrases of q to keep as text though they read as dates
  understood: [],      // the dates the server read out of q (chips)
  k: DEFAULT_K,

  hits: [],
  hasMore: false,
  tookMs: null,
  searched: false,     // a search has completed for the current query
  library: null,       // /api/status payload
  focusIndex: 0,       // roving tabindex position in the grid
  lbIndex: -1,         // index into hits shown in the lightbox
  view: '',            // '' (search), 'albums' or 'dupes'
  tagFacets: null,     // the library's auto-tags with counts (/api/tags), once loaded
  ownCategories: [],   // the library's own tag categories (/api/tags)
  admin: false,        // whether the viewer may change the library (/api/me)
};

// Tags shown on the start page.
export const MAX_TAG_FACETS = 24;

// Uploaded images by history key (the File itself can't live in the URL).
export const images = new Map();

export const knownFolders = new Set();

// Loads in a row without the user scrolling (bounded): see searchbox.js.
state.autoLoads = 0;
