import { useMemo, useState } from 'preact/hooks';
import { api, can, enc, withQuery } from '../api.js';
import { useApi, V, Badge, Loading, Failure, Empty, DailyScoreChart } from '../components.jsx';
import { callTime, duration, fixed, isNum, score, signed, withUnit } from '../fmt.js';
import { go } from '../router.js';

// What "partly scored" means, as the headers' title says it.
const PARTLY = 'Calls with a partial score and no total: the scorecard categories that need an LLM were left unscored. '
  + 'Their average is of the partial scores (over the categories scored), apart from the scored calls\' average and rank.';

function DaysPicker({ value, choices, onPick, label = 'Period' }) {
  return (
    <label>{label}
      <select value={value} onChange={(e) => onPick(e.currentTarget.value)}>
        {choices.map((d) => <option value={d}>last {d} days</option>)}
      </select>
    </label>
  );
}

function SummaryChart({ rows }) {
  const days = useMemo(() => rows.map((r) => ({ date: r.date, calls: r.analysed_calls, avg: r.avg_score })), [rows]);
  return <DailyScoreChart days={days} callsLabel="calls analysed" label="Calls analysed and the average score per day" />;
}

export function QaView({ query }) {
  const days = query.days || '7';
  const sum = useApi(withQuery('api/qa/daily-summary', { days, campaign: query.campaign }), { live: true });
  // partial=1: the agents whose calls have partial scores only are listed too, unranked
  const lead = useApi(withQuery('api/qa/leaderboard', { days: Math.min(90, +days), min_calls: query.min_calls || 1, partial: 1 }), { live: true });
  const rows = sum.data || [];
  return (
    <section aria-labelledby="qa-h">
      <h1 id="qa-h">QA summary</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <DaysPicker value={days} choices={['7', '14', '30', '90']} onPick={(d) => go(['qa'], { ...query, days: d })} />
        <label>Campaign <input value={query.campaign || ''} onChange={(e) => go(['qa'], { ...query, campaign: e.currentTarget.value.trim() })} /></label>
      </form>
      <Failure error={sum.error} what="the daily summary" />
      {sum.loading && !sum.data && <Loading what="the daily summary" />}
      {rows.length > 0 && <SummaryChart rows={rows} />}
      {rows.length > 0 && (
        <div class="scroll"><table class="days">
          <caption>Each day: calls, scores and sound, from the day's roll-up</caption>
          <thead><tr><th scope="col">Day</th><th scope="col">Analysed</th><th scope="col">Scored</th><th scope="col">Average score</th>
            <th scope="col" title={PARTLY}>Partly scored</th><th scope="col" title={PARTLY}>Partial average</th>
            <th scope="col">Flagged</th><th scope="col">Customer shift</th><th scope="col">Skipped / errors</th><th scope="col">Talk</th><th scope="col">Hold</th>
            <th scope="col">Dead air</th><th scope="col">One-way calls</th><th scope="col">Average MOS</th></tr></thead>
          <tbody>{[...rows].reverse().map((r) => (
            <tr data-day={r.date}>
              <th scope="row"><a href={`#/calls?from=${r.date}&to=${r.date}`}>{r.date}</a></th>
              <td class="num">{r.analysed_calls}</td>
              <td class="num">{r.scored_calls}</td>
              <td class="num">{score(r.avg_score)}</td>
              <td class="num partly">{r.partial_only_calls}</td>
              <td class="num partly-avg">{score(r.avg_partial_only_score)}</td>
              <td class="num">{r.flagged_calls ? <a href={`#/calls?from=${r.date}&to=${r.date}&flagged=1`}>{r.flagged_calls}</a> : 0}</td>
              <td class="num" title={`the customers' mean sentiment shift (−5..+5 scale) over ${r.customer_shift_calls} calls; ${r.customer_drop_calls} ended low`}>
                <V v={r.avg_customer_shift} text={signed(r.avg_customer_shift)} />{r.customer_drop_calls > 0 && ` (${r.customer_drop_calls} low)`}</td>
              <td class="num">{r.skipped_calls} / {r.error_calls}</td>
              <td class="num">{duration(r.talk_sec)}</td>
              <td class="num">{duration(r.hold_sec)}</td>
              <td class="num">{duration(r.dead_air_sec)}</td>
              <td class="num"><V v={r.one_way_calls} /></td>
              <td class="num"><V v={r.avg_mos} text={fixed(r.avg_mos, 2)} /></td>
            </tr>))}</tbody>
        </table></div>
      )}
      <h2>Leaderboard</h2>
      <Failure error={lead.error} what="the leaderboard" />
      {lead.data && !lead.data.length && <Empty>No agent has scored or partly scored calls in this period.</Empty>}
      {lead.data && lead.data.length > 0 && (
        <div class="scroll"><table class="leaderboard">
          <caption>Agents by average score over the last {Math.min(90, +days)} days; those with partly scored calls only after them, unranked</caption>
          <thead><tr><th scope="col">Rank</th><th scope="col">Agent</th><th scope="col">Scored calls</th><th scope="col">Average</th>
            <th scope="col">Lowest – highest</th><th scope="col">Flagged</th>
            <th scope="col" title={PARTLY}>Partly scored</th><th scope="col" title={PARTLY}>Partial average</th></tr></thead>
          <tbody>{lead.data.map((a) => (
            <tr data-agent={a.agent_user}>
              <td class="num"><V v={a.rank} /></td>
              <th scope="row"><a href={`#/agent/${enc(a.agent_user)}`}>{a.agent_name || a.agent_user}</a><div class="sub">{a.agent_user}</div></th>
              <td class="num">{a.calls}</td>
              <td class="num">{score(a.avg_score)}</td>
              <td class="num">{isNum(a.min_score) ? `${fixed(a.min_score, 0)} – ${fixed(a.max_score, 0)}` : <V v={null} />}</td>
              <td class="num">{a.flagged}</td>
              <td class="num partly">{a.partial_only_calls}</td>
              <td class="num partly-avg">{score(a.avg_partial_only_score)}</td>
            </tr>))}</tbody>
        </table></div>
      )}
    </section>
  );
}

const SUPERVISOR_KEY = 'callqa.supervisor';

// The supervisor's review: new scores for some categories, their name and a comment
// (PATCH /api/qa/call/{id}/scores, with the session's CSRF token).
function Review({ id, onSaved }) {
  const call = useApi(`api/qa/call/${enc(id)}`);
  const [vals, setVals] = useState({});
  const [who, setWho] = useState(localStorage.getItem(SUPERVISOR_KEY) || '');
  const [comment, setComment] = useState('');
  const [state, setState] = useState(null);
  const cats = call.data && call.data.score_detail ? Object.entries(call.data.score_detail.categories || {}) : [];
  async function submit(e) {
    e.preventDefault();
    const scores = {};
    for (const [k, v] of Object.entries(vals)) if (v !== '') scores[k] = Number(v);
    if (!Object.keys(scores).length) { setState({ error: 'Give at least one category a score.' }); return; }
    setState({ busy: true });
    try {
      await api(`api/qa/call/${enc(id)}/scores`, { method: 'PATCH', body: { supervisor: who.trim(), comment: comment.trim() || undefined, scores } });
      localStorage.setItem(SUPERVISOR_KEY, who.trim());
      setState({ ok: `Saved by ${who.trim()}.` });
      onSaved();
    } catch (err) {
      setState({ error: err.message });
    }
  }
  if (call.error) return <Failure error={call.error} what="the call's scores" />;
  if (!call.data) return <Loading what="the scorecard" />;
  return (
    <form class="review" onSubmit={submit} aria-label={`Review call ${id}`}>
      <fieldset>
        <legend>Override scores (1–5; leave blank to keep the automatic one)</legend>
        {cats.map(([k, c]) => {
          const ov = call.data.overrides && call.data.overrides[k];
          return (
            <label class="cat">{c.name} <span class="sub">auto: {isNum(c.score) ? `${c.score} / 5` : 'not scored'}{ov ? `, last override ${ov.score} by ${ov.supervisor}` : ''}</span>
              <input type="number" min="1" max="5" step="1" name={k} value={vals[k] || ''}
                onInput={(e) => setVals({ ...vals, [k]: e.currentTarget.value })} />
            </label>);
        })}
      </fieldset>
      <label>Your name <input name="supervisor" required value={who} onInput={(e) => setWho(e.currentTarget.value)} autocomplete="name" /></label>
      <label>Comment <textarea name="comment" rows="2" value={comment} onInput={(e) => setComment(e.currentTarget.value)} /></label>
      <button type="submit" disabled={state && state.busy}>Save the review</button>
      {state && state.ok && <p class="ok" role="status">{state.ok}</p>}
      {state && state.error && <p class="error" role="alert">{state.error}</p>}
    </form>
  );
}

export function FlaggedView({ query }) {
  const days = query.days || '7';
  const { data, error, loading, reload } = useApi(withQuery('api/qa/flagged', { days, agent: query.agent, campaign: query.campaign, limit: 100 }), { live: true });
  const [open, setOpen] = useState(null);
  return (
    <section aria-labelledby="fl-h">
      <h1 id="fl-h">Flagged queue</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <DaysPicker value={days} choices={['1', '7', '30', '90']} onPick={(d) => go(['flagged'], { ...query, days: d })} />
      </form>
      <Failure error={error} what="the flagged calls" />
      {loading && !data && <Loading what="the flagged calls" />}
      {data && !data.length && <Empty>No flagged call in this period.</Empty>}
      {data && data.length > 0 && (
        <ul class="queue">
          {data.map((f) => (
            <li class="qitem" data-call={f.recording_id}>
              <div class="qhead">
                <a href={`#/call/${enc(f.recording_id)}`}><strong>{f.recording_id}</strong></a>
                <span>{f.call_date || '—'} <span class="sub">(the call's local time)</span></span>
                <span>{f.agent_user ? <a href={`#/agent/${enc(f.agent_user)}`}>{f.agent_name || f.agent_user}</a> : '—'}</span>
                <span>campaign {f.campaign_id || '—'}</span>
                <span>{withUnit(f.call_length, 's', 0)}</span>
                <span class="score"><Badge code="flagged" /> {score(isNum(f.total_score) ? f.total_score : f.partial_score)}</span>
                {can('supervisor') && <button type="button" aria-expanded={open === f.recording_id} onClick={() => setOpen(open === f.recording_id ? null : f.recording_id)}>
                  {open === f.recording_id ? 'Close the review' : 'Review'}</button>}
              </div>
              <p class="sub">{f.flag_reason}{f.summary ? ` — ${f.summary}` : ''}</p>
              {open === f.recording_id && can('supervisor') && <Review id={f.recording_id} onSaved={reload} />}
            </li>))}
        </ul>
      )}
    </section>
  );
}
