// The API client: fetch + JSON, errors as ApiError; a 401 asks to sign in.

import { $ } from './dom.js';
import { showSignIn } from './signin.js';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// fetch + JSON, turning the server's {"code","message"} errors into ApiError.
export async function api(url, options = {}) {
  let res;
  try {
    res = await fetch(url, { headers: { Accept: 'application/json' }, ...options });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'Could not reach the scry server. Is it still running?');
  }
  // Signed out (or the user was removed): ask for a token.
  if (res.status === 401 && !url.startsWith('/api/session')) showSignIn();
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!res.ok) {
    const message = (body && typeof body.message === 'string' && body.message) ||
      (text && text.length < 300 && !/^\s*</.test(text) ? text.trim() : '') ||
      `${res.status} ${res.statusText || 'error'}`;
    throw new ApiError(res.status, (body && body.code) || 'http_error', message);
  }
  if (body == null) throw new ApiError(res.status, 'bad_response', 'The server sent a response the page could not read.');
  return body;
}
