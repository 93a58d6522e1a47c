import { useState, useEffect } from 'preact/hooks';
import { withQuery, enc } from '../api.js';
import { useApi, V, Badge, Loading, Failure, Empty, Icon } from '../components.jsx';
import { duration, fixed, callTime, score, isNum } from '../fmt.js';
import { go, hrefOf } from '../router.js';

const PAGE = 50;
const FILTERS = ['from', 'to', 'agent', 'campaign', 'state', 'flagged', 'one_way', 'dtmf',
  'mos_below', 'dead_air', 'q'];
const STATES = ['pending', 'analysing', 'transcribing', 'transcribed', 'scoring', 'complete',
  'skipped', 'error'];

// The filter form: its fields are the URL's; Apply writes them to the URL.
function Filters({ query }) {
  const [f, setF] = useState(query);
  useEffect(() => setF(query), [JSON.stringify(query)]);
  const set = (k) => (e) => setF({ ...f, [k]: e.currentTarget.value });
  const apply = (e) => {
    e.preventDefault();
    const q = {};
    for (const k of FILTERS) if (f[k]) q[k] = f[k].trim ? f[k].trim() : f[k];
    if (query.sort) q.sort = query.sort;
    if (query.order) q.order = query.order;
    go(['calls'], q);
  };
  const yesNo = (k, label) => (
    <label>{label}
      <select name={k} value={f[k] || ''} onChange={set(k)}>
        <option value="">any</option><option value="1">yes</option><option value="0">no</option>
      </select>
    </label>
  );
  return (
    <form class="filters" onSubmit={apply} aria-label="Filter the calls">
      <label>From <input type="date" name="from" value={f.from || ''} onInput={set('from')} /></label>
      <label>To <input type="date" name="to" value={f.to || ''} onInput={set('to')} /></label>
      <label>Agent <input name="agent" size="10" value={f.agent || ''} onInput={set('agent')} placeholder="agent_user" /></label>
      <label>Campaign <input name="campaign" size="10" value={f.campaign || ''} onInput={set('campaign')} /></label>
      <label>State
        <select name="state" value={f.state || ''} onChange={set('state')}>
          <option value="">any</option>
          {STATES.map((s) => <option value={s}>{s}</option>)}
        </select>
      </label>
      {yesNo('flagged', 'Flagged')}
      {yesNo('one_way', 'One-way')}
      {yesNo('dtmf', 'DTMF')}
      <label>MOS below <input type="number" name="mos_below" min="1" max="5" step="0.1" size="4" value={f.mos_below || ''} onInput={set('mos_below')} /></label>
      <label>Dead air ≥ (s) <input type="number" name="dead_air" min="0" step="1" size="4" value={f.dead_air || ''} onInput={set('dead_air')} /></label>
      <label class="grow">Transcript words <input type="search" name="q" value={f.q || ''} onInput={set('q')} placeholder="e.g. refund" /></label>
      <div class="buttons">
        <button type="submit">Apply</button>
        <a class="button ghost" href="#/calls">Clear</a>
      </div>
    </form>
  );
}

const COLUMNS = [
  ['call_date', 'Date (call\'s zone)', true],
  ['agent_user', 'Agent', true],
  ['campaign_id', 'Campaign', true],
  ['duration', 'Duration', true],
  ['state', 'State', false],
  ['total_score', 'Score', true],
  ['mos', 'MOS in / out', true],
  ['dead_air', 'Dead air', true],
  ['badges', 'Problems', false],
];

function SortHeader({ col, label, sortable, query }) {
  const cur = query.sort || 'call_date';
  const order = query.order || (cur === 'call_date' ? 'desc' : 'asc');
  if (!sortable) return <th scope="col">{label}</th>;
  const active = cur === col;
  const next = active && order === 'desc' ? 'asc' : active ? 'desc' : (col === 'call_date' ? 'desc' : 'asc');
  const q = { ...query, sort: col, order: next };
  delete q.offset;
  return (
    <th scope="col" aria-sort={active ? (order === 'asc' ? 'ascending' : 'descending') : 'none'}>
      <a href={hrefOf(['calls'], q)} title={`Sort by ${label}`}>{label}{active && <>{' '}<Icon name={order === 'asc' ? 'sort_asc' : 'sort_desc'} /></>}</a>
    </th>
  );
}

function Row({ c }) {
  const a = c.analysis || {};
  const badges = [...(c.badges || [])];
  if (c.flagged) badges.unshift('flagged');
  const total = isNum(c.total_score) ? c.total_score : null;
  return (
    <tr class={c.flagged ? 'flagged' : ''} data-call={c.recording_id}>
      <td><a href={`#/call/${enc(c.recording_id)}`}>{callTime(c.call_date, c.tz)}</a></td>
      <td>{c.agent_user ? <a href={`#/agent/${enc(c.agent_user)}`}>{c.agent_name || c.agent_user}</a> : <V v={null} />}
        {c.agent_name && c.agent_user && <div class="sub">{c.agent_user}</div>}</td>
      <td><V v={c.campaign_id} /></td>
      <td class="num"><V v={a.duration_sec} text={duration(a.duration_sec)} /></td>
      <td><span class={`state s-${c.processing_status}`}>{c.processing_status}</span>
        {c.error_message && <div class="sub" title={c.error_message}>{c.error_stage}: {c.error_message.slice(0, 60)}</div>}</td>
      <td class="num">{total !== null ? score(total) : isNum(c.partial_score)
        ? <span title={`partial: ${Math.round((c.coverage || 0) * 100)} % of the card scored`}>{score(c.partial_score)} (partial)</span>
        : <V v={null} />}</td>
      <td class="num"><V v={a.mos_in} text={fixed(a.mos_in, 2)} /> / <V v={a.mos_out} text={fixed(a.mos_out, 2)} /></td>
      <td class="num"><V v={a.dead_air_sec} text={`${fixed(a.dead_air_sec, 1)} s`} /></td>
      <td>{(c.badges === null || c.badges === undefined) && !c.flagged ? <span class="na" title="not analysed yet">—</span>
        : badges.length ? badges.map((b) => <Badge code={b} />) : <span class="ok">none</span>}</td>
    </tr>
  );
}

export function CallsView({ query }) {
  const offset = Math.max(0, parseInt(query.offset || '0', 10) || 0);
  const args = {};
  for (const k of FILTERS) args[k] = query[k];
  const path = withQuery('api/qa/calls', { ...args, sort: query.sort, order: query.order, limit: PAGE, offset });
  const { data, error, loading, path: shown } = useApi(path, { live: true });
  const total = data ? data.total : 0;
  const page = (o) => hrefOf(['calls'], { ...query, offset: o || undefined });
  return (
    <section aria-labelledby="calls-h" data-ready={shown === path && !loading ? 'yes' : 'no'}>
      <h1 id="calls-h">Calls</h1>
      <Filters query={query} />
      <Failure error={error} what="the calls" />
      {loading && !data && <Loading what="calls" />}
      {data && (
        <>
          <p class="count" role="status">{total ? `Calls ${offset + 1}–${Math.min(offset + PAGE, total)} of ${total}` : 'No call matches these filters.'}</p>
          {data.calls.length > 0 && (
            <div class="scroll">
              <table class="calls">
                <caption class="sr">Calls, {query.sort || 'newest'} first; times in each call's own zone</caption>
                <thead><tr>{COLUMNS.map(([k, l, s]) => <SortHeader col={k} label={l} sortable={s} query={query} />)}</tr></thead>
                <tbody>{data.calls.map((c) => <Row c={c} />)}</tbody>
              </table>
            </div>
          )}
          <nav class="pager" aria-label="Pages">
            {offset > 0 && <a class="button ghost" href={page(Math.max(0, offset - PAGE))} rel="prev"><Icon name="prev" /> Previous page</a>}
            {offset + PAGE < total && <a class="button ghost" href={page(offset + PAGE)} rel="next">Next page <Icon name="next" /></a>}
          </nav>
        </>
      )}
      {data && !total && !error && <Empty>Try a wider date range, or clear the filters.</Empty>}
    </section>
  );
}
