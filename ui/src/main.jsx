import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, can, onAuthLost, prefetch, setCsrf, setRole } from './api.js';
import { onLiveStatus, startLive, stopLive } from './live.js';
import { parseHash, useRoute } from './router.js';
import { Icon } from './components.jsx';
import { CallsView } from './views/calls.jsx';
import { CallView, callPaths } from './views/call.jsx';
import { QaView, FlaggedView } from './views/qa.jsx';
import { AgentView } from './views/agent.jsx';
import { OpsView } from './views/ops.jsx';
import { LiveView } from './views/livecalls.jsx';
import { RoutesView, RouteView } from './views/routes.jsx';

const THEME_KEY = 'callqa.theme';
const EXPIRES_KEY = 'callqa.session_expires';

// The browser drops a session cookie at its Max-Age, so the service then sees none: the page
// remembers when its session was to end, to say "expired" rather than ask as if never signed in.
function sessionEnded() {
  const e = +localStorage.getItem(EXPIRES_KEY);
  return e > 0 && e <= Date.now() / 1000;
}
function rememberSession(s) {
  if (s && s.expires) localStorage.setItem(EXPIRES_KEY, String(s.expires));
  else localStorage.removeItem(EXPIRES_KEY);
}

function applyTheme(t) {
  if (t === 'light' || t === 'dark') document.documentElement.dataset.theme = t;
  else delete document.documentElement.dataset.theme;
}
applyTheme(localStorage.getItem(THEME_KEY));

function ThemeToggle() {
  const [t, setT] = useState(localStorage.getItem(THEME_KEY) || 'auto');
  const next = { auto: 'light', light: 'dark', dark: 'auto' };
  return (
    <button type="button" class="ghost" onClick={() => {
      const n = next[t];
      localStorage.setItem(THEME_KEY, n);
      applyTheme(n);
      setT(n);
    }} title="Colour theme: automatic, light or dark">Theme: {t}</button>
  );
}

function LiveStatus() {
  const [s, setS] = useState('connecting');
  useEffect(() => onLiveStatus(setS), []);
  const text = { live: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting…' }[s];
  return <span class={`live live-${s}`} role="status" aria-live="polite" data-live={s}>
    <Icon name={s === 'live' ? 'dot' : 'ring'} /> {text}</span>;
}

function Login({ reason, onDone }) {
  const [token, setToken] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const asUser = username !== '';
  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = asUser ? { username, password } : { token };
      const s = await api('api/session', { method: 'POST', body });
      setCsrf(s.csrf);
      setRole(s.role);
      rememberSession(s);
      onDone(s);
    } catch (err) {
      setError(err.status === 401 ? (asUser ? 'That user name or password is wrong.' : 'That token is not the service\'s.')
        : err.message);
    } finally {
      setBusy(false);
    }
  }
  return (
    <main id="main" class="login">
      <h1>callqa</h1>
      <form onSubmit={submit} aria-describedby="login-help">
        {reason === 'expired' && <p class="notice" role="alert">Your session expired. Sign in again.</p>}
        <p id="login-help">Sign in with the service's API token (the file named by <code>token_file</code>),
          or with your user name and password. The browser keeps a session cookie, not the token.</p>
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="current-password"
          disabled={asUser} value={token} onInput={(e) => setToken(e.currentTarget.value)} />
        <fieldset class="user-login">
          <legend>Or as a user</legend>
          <label for="username">User name</label>
          <input id="username" name="username" autocomplete="username"
            value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
          <label for="password">Password</label>
          <input id="password" name="password" type="password" autocomplete="current-password"
            value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </fieldset>
        <button type="submit" disabled={busy || (asUser ? !password : !token)}>Sign in</button>
        {error && <p class="error" role="alert">{error}</p>}
      </form>
    </main>
  );
}

// Each view with the least role its routes need (docs/privacy.md): the others are not shown.
const NAV = [
  ['calls', 'Calls', 'agent'],
  ['qa', 'QA summary', 'analyst'],
  ['flagged', 'Flagged queue', 'agent'],
  ['routes', 'Routes', 'analyst'],
  ['ops', 'Operations', 'analyst'],
  ['live', 'Live', 'supervisor'],
];

function Shell({ session, onLogout }) {
  const { parts, query } = useRoute();
  const view = parts[0] || 'calls';
  // the event stream: every call's, or an agent's own; a caller limited to campaigns has none
  const live = !session.scoped || session.role === 'agent';
  useEffect(() => {
    if (!live) return undefined;
    startLive();
    return stopLive;
  }, [live]);
  // the calls in progress: their lines name no agent or campaign, so only unlimited callers
  const liveCalls = can('supervisor') && !session.scoped;
  let body;
  if (view === 'live' && liveCalls) body = <LiveView query={query} feed={session.live_feed !== false} />;
  else if (view === 'call' && parts[1]) body = <CallView key={parts[1]} id={parts[1]} query={query} />;
  else if (view === 'agent' && parts[1]) body = <AgentView key={parts[1]} agent={parts[1]} query={query} />;
  else if (view === 'qa' && can('analyst')) body = <QaView query={query} />;
  else if (view === 'flagged') body = <FlaggedView query={query} />;
  else if (view === 'ops' && can('analyst')) body = <OpsView />;
  // shown to every role: one that may not see routes is told so in words (the service's 403)
  else if (view === 'routes') body = <RoutesView query={query} />;
  else if (view === 'route' && parts[1]) body = <RouteView key={parts[1]} id={parts[1]} query={query} />;
  else body = <CallsView query={query} />;
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
      <header class="top">
        <a class="brand" href="#/calls">callqa</a>
        <nav aria-label="Views">
          {NAV.filter(([k, , least]) => can(least) && (k !== 'live' || liveCalls) && (k !== 'routes' || !session.scoped)).map(([k, label]) => (
            <a href={`#/${k}`} aria-current={view === k || (k === 'calls' && view === 'call') || (k === 'routes' && view === 'route') ? 'page' : undefined}>{label}</a>
          ))}
        </nav>
        <span class="spacer" />
        {live && <LiveStatus />}
        {session.user && session.user !== 'token' && session.user !== '-' &&
          <span class="who" data-role={session.role}>{session.user} ({session.role})</span>}
        <ThemeToggle />
        {session.auth_required && <button type="button" class="ghost" onClick={onLogout}>Sign out</button>}
      </header>
      <main id="main" tabIndex={-1}>{body}</main>
    </>
  );
}

function App() {
  const [session, setSession] = useState(null);
  const [lost, setLost] = useState(null);
  useEffect(() => {
    onAuthLost((e) => {
      stopLive();
      setLost(e.code === 'session_expired' || sessionEnded() ? 'expired' : 'invalid');
      setSession((s) => (s ? { ...s, authenticated: false } : s));
    });
    api('api/session').then(
      (s) => {
        setCsrf(s.csrf);
        setRole(s.role);
        if (s.auth_required && !s.authenticated && sessionEnded()) s = { ...s, reason: 'expired' };
        setSession(s);
      },
      // a service without sessions (built before them): the API's own auth applies
      () => setSession({ auth_required: false, authenticated: true, csrf: null }));
  }, []);
  if (!session) return <p class="loading" role="status">Loading…</p>;
  if (session.auth_required && !session.authenticated)
    return <Login reason={lost || session.reason} onDone={(s) => { setLost(null); setSession(s); }} />;
  return <Shell session={session} onLogout={async () => {
    try { await api('api/session', { method: 'DELETE' }); } catch { /* signed out anyway */ }
    rememberSession(null);
    stopLive();
    setSession({ ...session, authenticated: false });
    setLost(null);
  }} />;
}

// a call's URL opened in a new tab: its data is asked for beside the session, not after it
prefetch('api/session');
{
  const { parts } = parseHash();
  if (parts[0] === 'call' && parts[1]) Object.values(callPaths(parts[1])).forEach(prefetch);
}
render(<App />, document.getElementById('app'));
