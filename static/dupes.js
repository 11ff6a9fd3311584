// Duplicates: the three tiers side by side, keepers first.

import { api } from './api.js';
import { $, formatBytes, formatDate, make, nf, views } from './dom.js';
import { hideError, showError } from './search.js';

export let dupesData = null;   // last /api/dupes answer
export let dupesTier = 'exact';

export async function loadDupes() {
  views.dupesHint.textContent = 'Looking for duplicates…';
  try {
    dupesData = await api('/api/dupes');
    hideError();
    renderDupes();
  } catch (e) {
    views.dupesHint.textContent = '';
    showError(e);
  }
}

export const TIER_HINT = {
  exact: 'Byte-for-byte copies of the same file.',
  near: 'The same picture saved again: re-encoded, resized, lightly cropped or with other metadata.',
  similar: 'Different shots of one moment (bursts, retakes): pick the best, keep the rest if you like.',
};

export function renderDupes() {
  if (!dupesData) return;
  for (const tab of views.tabs) {
    const t = tab.dataset.tier;
    tab.setAttribute('aria-selected', String(t === dupesTier));
    tab.tabIndex = t === dupesTier ? 0 : -1;
    tab.querySelector('.count-badge').textContent = nf.format(dupesData.counts[t] || 0);
  }
  const groups = dupesData.groups.filter((g) => g.tier === dupesTier);
  views.dupesHint.textContent = groups.length ? TIER_HINT[dupesTier] : `None found. ${TIER_HINT[dupesTier]}`;
  views.dupesList.replaceChildren(...groups.map((g) => {
    const li = make('li', { class: 'dupe-group', dataset: { tier: g.tier } });
    const row = make('ul', { class: 'dupe-row' });
    for (const m of g.members) {
      const facts = [`${m.width}×${m.height}`, formatBytes(m.size_bytes), m.date ? formatDate(m.date) : '']
        .filter(Boolean).join(' · ');
      const card = make('li', { class: m.keeper ? 'dupe is-keeper' : 'dupe' },
        make('a', { href: m.original, target: '_blank', rel: 'noopener', class: 'dupe-img', title: m.path },
          make('img', { src: m.thumbnail, alt: m.name, loading: 'lazy', decoding: 'async' })),
        make('span', { class: 'dupe-badge', text: m.keeper ? 'Keep' : (g.tier === 'exact' ? 'Copy' : `${Math.round(m.cosine * 100)}% alike`) }),
        make('span', { class: 'dupe-name', text: m.name, title: m.path }),
        make('span', { class: 'dupe-facts', text: facts }));
      row.append(card);
    }
    li.append(row);
    return li;
  }));
}

for (const tab of views.tabs) {
  tab.addEventListener('click', () => { dupesTier = tab.dataset.tier; renderDupes(); });
  tab.addEventListener('keydown', (e) => {
    const i = views.tabs.indexOf(tab);
    const next = e.key === 'ArrowRight' ? views.tabs[(i + 1) % 3] : e.key === 'ArrowLeft' ? views.tabs[(i + 2) % 3] : null;
    if (!next) return;
    e.preventDefault();
    dupesTier = next.dataset.tier;
    renderDupes();
    next.focus();
  });
}
