// The view and its filters live in the URL's fragment (#/calls?agent=ann&flagged=1), so every
// view is a link that can be bookmarked and shared.
import { useEffect, useState } from 'preact/hooks';

// A segment as it was meant: percent-decoded, or, where its encoding is broken (a hand-edited
// or cut link: #/call/50%), as it stands, rather than an uncaught URIError and a blank page.
function decodePart(p) {
  try {
    return decodeURIComponent(p);
  } catch (e) {
    return p;
  }
}

export function parseHash(hash = location.hash) {
  const h = hash.replace(/^#/, '') || '/calls';
  const [path, query = ''] = h.split('?');
  const parts = path.split('/').filter(Boolean).map(decodePart);
  return { parts, query: Object.fromEntries(new URLSearchParams(query)) };
}

export function hrefOf(parts, query) {
  const p = '#/' + parts.map(encodeURIComponent).join('/');
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${p}?${s}` : p;
}

export function go(parts, query, replace = false) {
  const h = hrefOf(parts, query);
  if (replace) history.replaceState(null, '', h);
  else location.hash = h;
  if (replace) window.dispatchEvent(new HashChangeEvent('hashchange'));
}

export function useRoute() {
  const [route, setRoute] = useState(parseHash());
  useEffect(() => {
    const on = () => setRoute(parseHash());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
