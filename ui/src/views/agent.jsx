import { useMemo } from 'preact/hooks';
import { enc, withQuery } from '../api.js';
import { useApi, V, Loading, Failure, DailyScoreChart, dayTs } from '../components.jsx';
import { duration, fixed, isNum, pct, score, signed } from '../fmt.js';
import { go } from '../router.js';

// every day of the period, a day without calls at 0 calls and no score
function Trend({ trend, start, end }) {
  const days = useMemo(() => {
    const by = new Map(trend.map((t) => [t.date, t]));
    const out = [];
    for (let t = dayTs(start); t <= dayTs(end); t += 86400) {
      const date = new Date(t * 1000).toISOString().slice(0, 10);
      const r = by.get(date);
      out.push({ date, calls: r ? r.calls : 0, avg: r ? r.avg_score : null });
    }
    return out;
  }, [trend, start, end]);
  return <DailyScoreChart days={days} callsLabel="calls" label="The agent's calls and average score per day" />;
}

export function AgentView({ agent, query }) {
  const days = query.days || '30';
  const { data: a, error, loading } = useApi(withQuery(`api/qa/agent/${enc(agent)}`, { days }), { live: true });
  return (
    <section aria-labelledby="ag-h">
      <p class="crumbs"><a href="#/qa">QA summary</a> › agent</p>
      <h1 id="ag-h">Agent {a ? a.agent_name || a.agent_user : agent}{a && a.agent_name && <span class="sub"> ({a.agent_user})</span>}</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>Period <select value={days} onChange={(e) => go(['agent', agent], { days: e.currentTarget.value })}>
          {['7', '30', '90', '365'].map((d) => <option value={d}>last {d} days</option>)}</select></label>
        <a class="button ghost" href={`#/calls?agent=${enc(agent)}`}>This agent's calls</a>
      </form>
      <Failure error={error} what="the agent" />
      {loading && !a && <Loading what="the agent" />}
      {a && (
        <>
          <dl class="figures">
            <dt>Period</dt><dd>{a.period_start} – {a.period_end}</dd>
            <dt>Calls</dt><dd>{a.total_calls} ({a.analysed_calls} analysed, {a.skipped_calls} skipped, {a.error_calls} errors)</dd>
            <dt>Average score</dt><dd>{score(a.avg_score)}{isNum(a.min_score) && ` (${fixed(a.min_score, 0)} – ${fixed(a.max_score, 0)})`}</dd>
            <dt title="Calls with a partial score and no total (categories left unscored, e.g. with no LLM configured): apart from the average score">Partly scored</dt>
            <dd class="partly">{a.partial_only_calls} calls, average {score(a.avg_partial_only_score)}</dd>
            <dt>Flagged</dt><dd>{a.flagged_calls}</dd>
            <dt>Customers' sentiment shift</dt><dd class="sentiment-shift"><V v={a.avg_customer_shift} text={`${signed(a.avg_customer_shift)} on −5..+5`} />
              {` (mean first-to-last quarter over ${a.customer_shift_calls} ${a.customer_shift_calls === 1 ? 'call' : 'calls'}); ${a.customer_drop_calls} ended low`}</dd>
            <dt>Talk / hold / dead air</dt><dd>{duration(a.talk_sec)} / {duration(a.hold_sec)} / {duration(a.dead_air_sec)}</dd>
            <dt>One-way calls</dt><dd><V v={a.one_way_calls} /></dd>
            <dt>Average MOS</dt><dd><V v={a.avg_mos} text={`${fixed(a.avg_mos, 2)} MOS`} /></dd>
          </dl>
          <h2>Trend</h2>
          {a.trend && a.trend.length ? <Trend trend={a.trend} start={a.period_start} end={a.period_end} /> : <p class="note">No calls in this period.</p>}
          <h2>Category averages</h2>
          <table class="narrow">
            <caption class="sr">Average score per scorecard category, out of 5</caption>
            <thead><tr><th scope="col">Category</th><th scope="col">Average</th><th scope="col" aria-hidden="true"></th></tr></thead>
            <tbody>{Object.entries(a.category_averages || {}).map(([k, v]) => (
              <tr><th scope="row">{k.replace(/_/g, ' ')}</th>
                <td class="num"><V v={v} text={`${fixed(v, 2)} / 5`} /></td>
                <td class="bar-cell" aria-hidden="true">{isNum(v) && <span class="bar" style={{ width: pct(v / 5 * 100).replace(' ', '') }} />}</td></tr>))}</tbody>
          </table>
        </>
      )}
    </section>
  );
}
