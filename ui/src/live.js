// The pipeline's event feed (GET /api/qa/events, server-sent events). The browser's EventSource
// reconnects by itself after a dropped stream, sending Last-Event-ID; when the service refuses
// the stream (a restart in progress, a 503), EventSource gives up, and this reconnects after a
// back-off from the last event seen, so no event the store still holds is missed.

const listeners = new Set();
const statusListeners = new Set();
let source = null;
let lastId = null;
let status = 'connecting';
let retry = 1000;
let timer = null;

function setStatus(s) {
  if (s === status) return;
  status = s;
  for (const fn of statusListeners) fn(s);
}

function connect() {
  clearTimeout(timer);
  const url = lastId === null ? 'api/qa/events' : `api/qa/events?after=${lastId}`;
  source = new EventSource(url);
  source.onopen = () => {
    retry = 1000;
    setStatus('live');
  };
  source.addEventListener('job', (e) => {
    if (e.lastEventId) lastId = e.lastEventId;
    let ev;
    try {
      ev = JSON.parse(e.data);
    } catch {
      return;
    }
    for (const fn of listeners) fn(ev);
  });
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) {
      source.close();
      setStatus('reconnecting');
      timer = setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    } else {
      setStatus('reconnecting');
    }
  };
}

export function startLive() {
  if (!source) connect();
}

export function stopLive() {
  clearTimeout(timer);
  if (source) source.close();
  source = null;
  setStatus('connecting');
}

export function onJob(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function onLiveStatus(fn) {
  statusListeners.add(fn);
  fn(status);
  return () => statusListeners.delete(fn);
}
