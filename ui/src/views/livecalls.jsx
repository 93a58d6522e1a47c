// The calls in progress (docs/live.md, "In the QA service"): GET /api/live/calls for the calls
// and the recent events, then an EventSource on /api/live/events from the last event it named;
// each event is appended (the list is bounded) and the calls are read again, at most once a
// second, and every 5 s for the lag. ?call= in the URL shows one call. Every value is text.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, withQuery } from '../api.js';
import { go } from '../router.js';
import { Empty, Failure, Loading } from '../components.jsx';

const MAX_EVENTS = 200;

function shortTime(wall) {
  if (typeof wall !== 'string') return '—';
  const m = /T(\d\d:\d\d:\d\d)/.exec(wall);
  return m ? m[1] : wall;
}

function text(v) {
  if (v === null || v === undefined || v === '') return '—';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

// what an event says beyond its call, type and state
function detail(e) {
  const parts = [];
  for (const k of ['digit', 'digits', 'rule', 'reason', 'error', 'source']) {
    if (e[k] !== undefined && e[k] !== null && e[k] !== '') parts.push(`${k} ${text(e[k])}`);
  }
  // hold mode's probe (docs/live/hold-slayer.md, "Asking the line"): which one, and the reply it drew
  if (e.type === 'probe' && typeof e.probe === 'number') parts.push(`probe ${e.probe} of 2`);
  if (typeof e.reply_sec === 'number') parts.push(`replied ${e.reply_sec.toFixed(2)} s after probe ${text(e.probe)}`);
  if (typeof e.start === 'number') parts.push(`at ${e.start.toFixed(2)} s`);
  return parts.join(', ');
}

function CallRow({ c, ended, onPick }) {
  return (
    <tr data-call={c.call}>
      <th scope="row"><a href={`#/live?call=${encodeURIComponent(c.call)}`}
        onClick={(ev) => { ev.preventDefault(); onPick(c.call); }}>{c.call}</a></th>
      <td>{text(c.source)}</td>
      <td>{shortTime(c.started)}</td>
      <td class="live-last">{text(c.last_type)}{c.last_state ? ` (${c.last_state})` : ''}</td>
      <td>{text(c.decision)}{c.decision_rule ? ` (${c.decision_rule})` : ''}{c.beep ? ', beep' : ''}
        {typeof c.reply_sec === 'number' ? `, replied ${c.reply_sec.toFixed(2)} s after a probe` : ''}</td>
      <td class="num">{text(c.probes)}</td>
      <td class="num">{c.dtmf}</td>
      <td class="num">{c.events}</td>
      {ended ? <td>{text(c.reason)} {shortTime(c.ended)}</td> : <td>{shortTime(c.last_wall)}</td>}
    </tr>
  );
}

function CallsTable({ calls, ended, onPick, label }) {
  return (
    <table class={ended ? 'live-ended' : 'live-calls'} aria-label={label}>
      <thead><tr><th scope="col">Call</th><th scope="col">Source</th><th scope="col">Started</th>
        <th scope="col">Last event</th><th scope="col">Decision</th><th scope="col">Probes</th><th scope="col">DTMF</th>
        <th scope="col">Events</th><th scope="col">{ended ? 'Ended' : 'Last line'}</th></tr></thead>
      <tbody>{calls.map((c) => <CallRow c={c} ended={ended} onPick={onPick} />)}</tbody>
    </table>
  );
}

// feed: whether the service follows a live event file (GET /api/session's live_feed): without
// one the view says so and asks for nothing (the live routes would answer 404).
export function LiveView({ query, feed = true }) {
  const call = query.call || '';
  const [doc, setDoc] = useState(null);
  const [error, setError] = useState(null);
  const [events, setEvents] = useState([]);
  const [stream, setStream] = useState('connecting');
  const [filter, setFilter] = useState(call);
  const refresh = useRef(null);

  useEffect(() => {
    setFilter(call);
    if (!feed) return undefined;
    let closed = false;
    let source = null;
    let pending = null;
    const path = withQuery('api/live/calls', { call });
    const load = () => api(path).then((d) => { if (!closed) { setDoc(d); setError(null); } return d; },
      (e) => { if (!closed) setError(e); return null; });
    refresh.current = () => {
      if (!pending) pending = setTimeout(() => { pending = null; load(); }, 1000);
    };
    setDoc(null);
    setEvents([]);
    setStream('connecting');
    load().then((d) => {
      if (!d || closed) return;
      setEvents(d.recent || []);
      source = new EventSource(withQuery('api/live/events', { call, after: d.last_event_id }));
      source.onopen = () => setStream('live');
      source.addEventListener('live', (m) => {
        let e;
        try {
          e = JSON.parse(m.data);
        } catch {
          return;
        }
        e.event_id = Number(m.lastEventId);
        setEvents((list) => [...list, e].slice(-MAX_EVENTS));
        refresh.current();
      });
      source.onerror = () => setStream(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
    });
    const every = setInterval(load, 5000);
    return () => {
      closed = true;
      clearInterval(every);
      clearTimeout(pending);
      if (source) source.close();
    };
  }, [call, feed]);

  const pick = (id) => go(['live'], { call: id });
  const off = !feed || (error && error.status === 404 && error.code === 'live_off');
  return (
    <section aria-labelledby="live-h" data-ready={doc || error || off ? 'yes' : 'no'} class="live-view">
      <h1 id="live-h">Live calls{call ? `: ${call}` : ''}</h1>
      <form class="filters" onSubmit={(ev) => { ev.preventDefault(); go(['live'], { call: filter.trim() }); }}>
        <label for="live-call">Call</label>
        <input id="live-call" name="call" value={filter} maxLength={128} placeholder="every call"
          onInput={(ev) => setFilter(ev.currentTarget.value)} />
        <button type="submit">Show</button>
        {call && <button type="button" class="ghost" onClick={() => go(['live'], {})}>Every call</button>}
      </form>
      {off ? <p class="note">The live feed is off: the service follows no event file (the
        <code> live_events</code> setting, docs/live.md).</p> : <Failure error={error} what="the live calls" />}
      {!doc && !error && !off && <Loading what="the live calls" />}
      {doc && (
        <>
          <p class="live-meta" role="status" data-stream={stream}>
            {doc.following ? `Following ${doc.file}` : `Waiting for ${doc.file}`}
            {' · '}{doc.counts.active} active, {doc.counts.ended} recently ended
            {doc.lag && doc.lag.bytes > 0 ? ` · ${doc.lag.bytes} bytes behind` : ''}
            {doc.counts.bad_lines + doc.counts.long_lines > 0 ? ` · ${doc.counts.bad_lines + doc.counts.long_lines} lines skipped` : ''}
            {' · '}{stream === 'live' ? 'stream live' : stream === 'closed' ? 'stream closed' : 'stream connecting'}
            {doc.mask_digits ? ' · keyed digits masked' : ''}
          </p>
          <h2>Active</h2>
          {doc.active.length ? <CallsTable calls={doc.active} onPick={pick} label="Active calls" />
            : <Empty>No call in progress.</Empty>}
          <h2>Recently ended</h2>
          {doc.ended.length ? <CallsTable calls={doc.ended} ended onPick={pick} label="Recently ended calls" />
            : <Empty>No call has ended since the service started.</Empty>}
          <h2>Recent events</h2>
          {!events.length ? <Empty>No event yet.</Empty> : (
            <ol class="live-events" aria-live="polite">
              {events.slice().reverse().map((e) => (
                <li data-event-id={e.event_id} data-call={text(e.call)}>
                  <span class="t">{shortTime(e.wall)}</span>{' '}
                  <span class="c">{text(e.call)}</span>{' '}
                  <strong class="ty">{text(e.type)}</strong>{e.state ? ` ${text(e.state)}` : ''}
                  {detail(e) && <span class="d"> {detail(e)}</span>}
                </li>))}
            </ol>)}
        </>
      )}
    </section>
  );
}
