// Signing in to a shared server, who is signed in, signing out.

import { api } from './api.js';
import { $, el } from './dom.js';
import { state } from './state.js';

// ------------------------------------------------------------------ signing in

export function showSignIn(message) {
  el.account.hidden = true;
  el.signinError.hidden = !message;
  el.signinError.textContent = message || '';
  if (!el.signin.open) el.signin.showModal();
  el.signinToken.focus();
}

el.signin.addEventListener('cancel', (e) => e.preventDefault()); // nothing to see without signing in
el.signinForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const token = el.signinToken.value.trim();
  if (!token) return;
  try {
    await api('/api/session', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ token }),
    });
    el.signinToken.value = '';
    location.reload();
  } catch (err) {
    showSignIn(err.message);
    el.signinToken.select();
  }
});

el.signOut.addEventListener('click', async () => {
  try { await api('/api/session', { method: 'DELETE' }); } catch { /* reload shows the state */ }
  location.reload();
});

// Who is signed in: the name in the top bar; on a server with users and no
// cookie yet, the sign-in dialog and nothing else.
export async function whoAmI() {
  try {
    const me = await api('/api/me');
    if (me.via !== 'open') {
      el.accountName.textContent = me.user || 'admin';
      el.account.hidden = false;
      el.signOut.hidden = me.via === 'proxy'; // signed in by the proxy, signed out there
    }
    $('#rescan').hidden = !me.admin; // rescans are for admins
    state.admin = Boolean(me.admin); // and so are the library's own tag categories
    el.categoryForm.hidden = !state.admin;
    return true;
  } catch (e) {
    return e.status !== 401; // a server that is down: the status line says so
  }
}
