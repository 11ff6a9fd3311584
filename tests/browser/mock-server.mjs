// A dependency-free stand-in for the scry HTTP server, for developing and
// testing the web UI without building the Rust side.
//
//   node tests/browser/mock-server.mjs [PORT]        (or PORT=8123 node ...)
//
// It serves static/ (with the same Content-Security-Policy as the real server)
// and implements the JSON API from the UI contract with canned data built
// from the images under sample_data/. Scores are made up but deterministic:
// words in the query that match a photo's tags (see TAGS) rank it higher.
//
// Development knobs (environment):
//   MOCK_DELAY=MS      random extra latency 0..MS per API call (exercises the
//                      UI's stale-response handling)
//   MOCK_SCALE=N       repeat the library N times (exercises pagination)
//   MOCK_INDEXING=SEC  report "indexing" for the first SEC seconds
//   MOCK_EMPTY=1       pretend the library is empty
//
// Only ever listens on 127.0.0.1.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const STATIC_DIR = path.join(REPO, 'static');
const SAMPLE_DIR = path.join(REPO, 'sample_data');

const PORT = Number(process.argv[2] || process.env.PORT || 8123);
const DELAY = Number(process.env.MOCK_DELAY || 0);
const SCALE = Math.max(1, Number(process.env.MOCK_SCALE || 1));
const INDEXING_S = Number(process.env.MOCK_INDEXING || 0);
const EMPTY = process.env.MOCK_EMPTY === '1';
const STARTED = Date.now();

const CSP = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'";

// Hand-written "semantics" so that typing 'cat' finds the cat.
const TAGS = {
  'chelsea.jpg': 'cat kitten pet animal tabby fur whiskers',
  'chelsea-sideways.jpg': 'cat kitten pet animal tabby fur rotated',
  'horse.png': 'horse animal silhouette black white',
  'coffee.png': 'coffee cup drink food mug table espresso',
  'really-a-jpeg.png': 'coffee cup drink food mug table',
  'COINS.PNG': 'coins money metal old grey',
  'clock_motion.png': 'clock time blur motion',
  'text.png': 'text letters document writing',
  'camera.png': 'man person photographer camera tripod people portrait black white',
  'cell.png': 'cell microscope science biology',
  'ihc.png': 'microscope tissue stain science pink',
  'microaneurysms.png': 'eye retina medical science',
  'retina.jpg': 'eye retina medical science red',
  'astronaut.webp': 'astronaut woman person space nasa portrait flag',
  'hubble_deep_field.jpg': 'space galaxy galaxies stars night sky universe',
  'rocket.jpg': 'rocket launch space sky smoke',
  'brick.png': 'brick wall texture red',
  'grass.jpg': 'grass green texture nature lawn',
  'gravel.png': 'gravel stones rocks texture ground',
};
const CAMERAS = [null, 'Canon EOS 5D Mark III', 'Apple iPhone 12', null, 'FUJIFILM X-T3', 'NIKON D750'];

// ---------------------------------------------------------------- library

function sniff(buf) {
  if (buf[0] === 0xff && buf[1] === 0xd8) return 'jpeg';
  if (buf.slice(0, 4).toString('hex') === '89504e47') return 'png';
  if (buf.slice(0, 4).toString() === 'RIFF' && buf.slice(8, 12).toString() === 'WEBP') return 'webp';
  if (buf.slice(0, 3).toString() === 'GIF') return 'gif';
  if (buf.slice(0, 2).toString() === 'BM') return 'bmp';
  return null;
}

function dimensions(buf, format) {
  try {
    if (format === 'png') return [buf.readUInt32BE(16), buf.readUInt32BE(20)];
    if (format === 'gif') return [buf.readUInt16LE(6), buf.readUInt16LE(8)];
    if (format === 'bmp') return [buf.readInt32LE(18), Math.abs(buf.readInt32LE(22))];
    if (format === 'webp') {
      const chunk = buf.slice(12, 16).toString();
      if (chunk === 'VP8 ') return [buf.readUInt16LE(26) & 0x3fff, buf.readUInt16LE(28) & 0x3fff];
      if (chunk === 'VP8L') {
        const b = buf.slice(21, 25);
        return [1 + (b[0] | ((b[1] & 0x3f) << 8)), 1 + ((b[1] >> 6) | (b[2] << 2) | ((b[3] & 0x0f) << 10))];
      }
      if (chunk === 'VP8X') return [1 + buf.readUIntLE(24, 3), 1 + buf.readUIntLE(27, 3)];
    }
    if (format === 'jpeg') {
      let i = 2;
      while (i < buf.length) {
        if (buf[i] !== 0xff) { i++; continue; }
        const m = buf[i + 1];
        if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
          return [buf.readUInt16BE(i + 7), buf.readUInt16BE(i + 5)];
        }
        i += 2 + buf.readUInt16BE(i + 2);
      }
    }
  } catch { /* fall through */ }
  return [0, 0];
}

function hash01(...parts) {
  const h = crypto.createHash('sha1').update(parts.join('\u0000')).digest();
  return h.readUInt32BE(0) / 0xffffffff;
}

function walk(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    // phone/ (HEIC, RAW, video) is left out, as the Rust tests leave it out.
    if (e.isDirectory()) { if (e.name !== 'phone') out.push(...walk(p)); }
    else if (/\.(jpe?g|png|webp|gif|bmp)$/i.test(e.name)) out.push(p);
  }
  return out;
}

function buildLibrary() {
  if (EMPTY) return [];
  const files = walk(SAMPLE_DIR);
  const lib = [];
  for (let rep = 0; rep < SCALE; rep++) {
    for (const file of files) {
      const bytes = fs.readFileSync(file);
      const format = sniff(bytes);
      if (!format) continue;
      const [width, height] = dimensions(bytes, format);
      const base = path.basename(file);
      const name = rep === 0 ? base : base.replace(/(\.[^.]+)$/, ` (${rep + 1})$1`);
      const id = lib.length + 1;
      const h = hash01('date', name);
      let date = null;
      if (h < 0.8) {
        const t = Date.UTC(2012, 0, 1) + Math.floor(hash01('t', name) * 12 * 365.25 * 86400) * 1000;
        date = new Date(t).toISOString().slice(0, 19);
      }
      lib.push({
        id, file, bytes, name, format, width, height, date,
        path: path.join(path.dirname(file), name),
        folder: path.dirname(file),
        camera: CAMERAS[Math.floor(hash01('cam', name) * CAMERAS.length)],
        size_bytes: bytes.length,
        tags: new Set(((TAGS[base] || '') + ' ' + base.replace(/\.[^.]+$/, '') + ' ' + path.basename(path.dirname(file)))
          .toLowerCase().split(/[^a-z0-9]+/).filter(Boolean)),
      });
    }
  }
  return lib;
}

const LIBRARY = buildLibrary();
const BY_ID = new Map(LIBRARY.map((img) => [img.id, img]));

// ---------------------------------------------------------------- scoring

function textScore(q, img) {
  const words = q.toLowerCase().split(/[^a-z0-9]+/).filter((w) => w.length > 1 && !['a', 'an', 'the', 'of', 'on', 'in', 'with', 'photo', 'picture'].includes(w));
  let hits = 0;
  for (const w of words) {
    for (const t of img.tags) if (t === w || (w.length > 2 && t.startsWith(w)) || (t.length > 2 && w.startsWith(t))) { hits++; break; }
  }
  return 0.13 + 0.05 * hash01('q', q, img.name) + Math.min(0.2, 0.1 * hits);
}

function tagSimilarity(a, b) {
  if (a === b) return 1;
  let shared = 0;
  for (const t of a.tags) if (b.tags.has(t)) shared++;
  const jac = shared / (a.tags.size + b.tags.size - shared || 1);
  return Math.min(0.97, 0.45 + 0.5 * jac + 0.08 * hash01('like', a.name, b.name));
}

// ---------------------------------------------------------------- http

class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

function sendJson(res, status, body) {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': data.length, 'Cache-Control': 'no-store' });
  res.end(data);
}

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.json': 'application/json', '.ico': 'image/x-icon',
};
const IMAGE_TYPES = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif', bmp: 'image/bmp' };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function parseDate(value, field) {
  if (value == null || value === '') return null;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(value))) {
    throw new ApiError(400, 'invalid_date', `${field} must be a date like 2019-07-14, got "${value}"`);
  }
  return value;
}

function parseInt0(value, field, def, min, max) {
  if (value == null || value === '') return def;
  if (!/^\d+$/.test(value)) throw new ApiError(400, 'invalid_parameter', `${field} must be a whole number, got "${value}"`);
  const n = Number(value);
  if (n < min || n > max) throw new ApiError(400, 'invalid_parameter', `${field} must be between ${min} and ${max}`);
  return n;
}

function parseQuery(get) {
  const q = (get('q') || '').trim();
  const likeRaw = get('like');
  const like = likeRaw == null || likeRaw === '' ? null : parseInt0(likeRaw, 'like', null, 0, 2 ** 53);
  let folder = get('in') || null;
  const after = parseDate(get('after'), 'after');
  const before = parseDate(get('before'), 'before');
  const min_size = parseInt0(get('min_size'), 'min_size', 0, 0, 1e6);
  const k = parseInt0(get('k'), 'k', 30, 1, 500);
  const offset = parseInt0(get('offset'), 'offset', 0, 0, 1e9);
  if (after && before && after > before) throw new ApiError(400, 'invalid_date_range', `after (${after}) is later than before (${before})`);
  const keep = (get('keep') || '').split('|').map((s) => s.trim().toLowerCase()).filter(Boolean);
  return { q, like, in: folder, after, before, min_size, k, offset, keep };
}

// The real server reads many date phrases out of q (src/query/when.rs); the
// mock knows years alone, enough to exercise the UI's chips.
function understandYears(query) {
  const understood = [];
  const words = query.q.split(/\s+/).filter((w) => {
    if (!/^(19|20)\d\d$/.test(w) || query.keep.includes(w.toLowerCase())) return true;
    understood.push({ kind: 'date', text: w, label: w, after: `${w}-01-01`, before: `${Number(w) + 1}-01-01` });
    return false;
  });
  if (!understood.length) return { query, understood };
  const year = understood[understood.length - 1];
  const q = words.join(' ') || 'a photo';
  return { query: { ...query, q, after: year.after, before: year.before }, understood };
}

function search(asked, upload) {
  const { query, understood } = understandYears(asked);
  let likeImg = null;
  if (query.like != null) {
    likeImg = BY_ID.get(query.like);
    if (!likeImg) throw new ApiError(404, 'not_found', `No image with id ${query.like}`);
  }
  let uploadMatch = null;
  if (upload) uploadMatch = LIBRARY.find((img) => img.bytes.equals(upload)) || null;
  if (!query.q && !likeImg && !upload) throw new ApiError(400, 'empty_query', 'Give a text query (q), an image id (like) or an image');

  const t0 = process.hrtime.bigint();
  const folder = query.in ? query.in.replace(/\/+$/, '') : null;
  const hits = [];
  for (const img of LIBRARY) {
    if (likeImg && img.id === likeImg.id) continue;
    if (folder && !(img.path === folder || img.path.startsWith(folder + '/'))) continue;
    const day = img.date ? img.date.slice(0, 10) : null;
    if (query.after && (!day || day < query.after)) continue;
    if (query.before && (!day || day > query.before)) continue;
    if (understood.length && (!day || day >= query.before)) continue;
    if (query.min_size && Math.min(img.width, img.height) < query.min_size) continue;
    const parts = [];
    if (query.q) parts.push(textScore(query.q, img));
    if (likeImg) parts.push(tagSimilarity(likeImg, img));
    if (upload) parts.push(uploadMatch ? tagSimilarity(uploadMatch, img) : 0.4 + 0.3 * hash01('up', upload.length, img.name));
    const score = parts.reduce((a, b) => a + b, 0) / parts.length;
    hits.push({ img, score });
  }
  hits.sort((a, b) => b.score - a.score || a.img.id - b.img.id);
  const page = hits.slice(query.offset, query.offset + query.k).map(({ img, score }) => ({
    id: img.id, path: img.path, name: img.name, folder: img.folder, score: Math.round(score * 1e4) / 1e4,
    date: img.date, width: img.width, height: img.height, format: img.format,
    thumbnail: `/api/images/${img.id}/thumbnail`, original: `/api/images/${img.id}/original`,
  }));
  const took_ms = Number(process.hrtime.bigint() - t0) / 1e6 + 3 + 5 * Math.random();
  return {
    query: { ...asked, image: upload ? true : undefined },
    understood,
    hits: page, offset: query.offset, k: query.k,
    has_more: query.offset + query.k < hits.length,
    took_ms: Math.round(took_ms * 10) / 10,
  };
}

function status() {
  const elapsed = (Date.now() - STARTED) / 1000;
  const indexing = INDEXING_S > 0 && elapsed < INDEXING_S;
  const total = LIBRARY.length;
  const indexed = indexing ? Math.floor(total * (elapsed / INDEXING_S)) : total;
  return {
    images: indexed, roots: [SAMPLE_DIR], model: 'openai/clip-vit-base-patch32', indexing,
    indexed, queued: total - indexed,
    last_run: indexing ? null : new Date(STARTED + INDEXING_S * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
  };
}

async function readBody(req, limit) {
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size > limit) throw new ApiError(413, 'payload_too_large', `Uploads are limited to ${limit / 1048576} MiB`);
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

async function handleApi(req, res, url) {
  if (DELAY) await sleep(Math.random() * DELAY);
  const p = url.pathname;
  let m;
  if (p === '/api/health') return sendJson(res, 200, { ok: true });
  if (p === '/api/me') return sendJson(res, 200, { user: null, admin: true, roots: null, via: 'open' });
  if (p === '/api/status') return sendJson(res, 200, status());
  // No model here: no auto-tags (the page then shows none).
  if (p === '/api/tags') return sendJson(res, 200, { images: LIBRARY.length, vocabulary: 0, categories: [], tags: [] });
  // No albums here (the albums test runs against the real server only).
  if (p === '/api/albums' && req.method === 'GET') return sendJson(res, 200, { albums: [], suggested: [] });
  if (p === '/api/search' && req.method === 'GET') {
    return sendJson(res, 200, search(parseQuery((k) => url.searchParams.get(k)), null));
  }
  if (p === '/api/search' && req.method === 'POST') {
    const ct = req.headers['content-type'] || '';
    if (!ct.startsWith('multipart/form-data')) throw new ApiError(415, 'unsupported_media_type', 'POST /api/search takes multipart/form-data');
    const body = await readBody(req, 32 * 1048576);
    let form;
    try {
      form = await new Response(body, { headers: { 'content-type': ct } }).formData();
    } catch (e) {
      throw new ApiError(400, 'bad_multipart', `Could not read the form: ${e.message}`);
    }
    const file = form.get('image');
    let upload = null;
    if (file && typeof file === 'object') {
      upload = Buffer.from(await file.arrayBuffer());
      if (!sniff(upload)) throw new ApiError(415, 'unsupported_image', `${file.name || 'The upload'} is not an image scry can read`);
    }
    const get = (k) => { const v = form.get(k); return typeof v === 'string' ? v : null; };
    if (get('like')) throw new ApiError(400, 'invalid_parameter', 'like is not accepted together with an uploaded image');
    return sendJson(res, 200, search(parseQuery(get), upload));
  }
  if ((m = p.match(/^\/api\/images\/(\d+)(?:\/(thumbnail|original|similar))?$/)) && req.method === 'GET') {
    const img = BY_ID.get(Number(m[1]));
    if (!img) throw new ApiError(404, 'not_found', `No image with id ${m[1]}`);
    if (m[2] === 'similar') {
      const q = parseQuery((k) => url.searchParams.get(k));
      return sendJson(res, 200, search({ ...q, q: '', like: img.id }, null));
    }
    if (m[2]) {
      res.writeHead(200, { 'Content-Type': IMAGE_TYPES[img.format], 'Content-Length': img.bytes.length, 'Cache-Control': 'private, max-age=3600' });
      return res.end(img.bytes);
    }
    const { id, path: ipath, name, folder, width, height, format, date, camera, size_bytes } = img;
    return sendJson(res, 200, { id, path: ipath, name, folder, width, height, format, date, camera, size_bytes });
  }
  throw new ApiError(404, 'not_found', `No API route ${req.method} ${p}`);
}

function serveStatic(req, res, url) {
  let rel = decodeURIComponent(url.pathname);
  if (rel === '/') rel = '/index.html';
  const file = path.join(STATIC_DIR, path.normalize(rel));
  if (!file.startsWith(STATIC_DIR + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    return res.end('not found\n');
  }
  const data = fs.readFileSync(file);
  res.writeHead(200, {
    'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream',
    'Content-Length': data.length,
    'Content-Security-Policy': CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-cache',
  });
  res.end(req.method === 'HEAD' ? undefined : data);
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  try {
    if (url.pathname.startsWith('/api/')) await handleApi(req, res, url);
    else if (req.method === 'GET' || req.method === 'HEAD') serveStatic(req, res, url);
    else sendJson(res, 405, { code: 'method_not_allowed', message: `${req.method} is not allowed here` });
  } catch (e) {
    if (e instanceof ApiError) sendJson(res, e.status, { code: e.code, message: e.message });
    else {
      console.error(e);
      sendJson(res, 500, { code: 'internal', message: String(e && e.message || e) });
    }
  }
  if (process.env.MOCK_LOG) console.log(res.statusCode, req.method, req.url);
});

server.listen(PORT, '127.0.0.1', () => {
  const { port } = server.address();
  console.log(`mock scry listening on http://127.0.0.1:${port}/ (${LIBRARY.length} images)`);
});
