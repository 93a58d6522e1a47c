import { useMemo } from 'preact/hooks';
import { enc } from '../api.js';
import { useApi, V, Chart, Loading, Failure, Empty, cssVar } from '../components.jsx';
import { ago, localTime } from '../fmt.js';

const STATES = ['pending', 'analysing', 'transcribing', 'transcribed', 'scoring', 'complete', 'skipped', 'error'];

function Throughput({ buckets }) {
  const opts = useMemo(() => ({
    scales: { x: { time: true }, y: { range: (u, lo, hi) => [0, Math.max(1, hi)] } },
    axes: [{ stroke: cssVar('--muted') }, { label: 'jobs per hour', stroke: cssVar('--muted') }],
    series: [{},
      { label: 'complete', stroke: cssVar('--c1'), width: 2, points: { show: true } },
      { label: 'error', stroke: cssVar('--bad'), width: 2, dash: [4, 3], points: { show: true } },
      { label: 'skipped', stroke: cssVar('--muted'), width: 1, dash: [2, 3], points: { show: true } }],
  }), []);
  const data = useMemo(() => [buckets.map((b) => b.hour), buckets.map((b) => b.complete),
    buckets.map((b) => b.error), buckets.map((b) => b.skipped)], [buckets]);
  return <Chart opts={opts} data={data} height={200} label="Jobs finished per hour: complete, error, skipped" />;
}

function unavailable(err) {
  return err && err.status === 404 && err.code === 'no_route';
}

export function OpsView() {
  const q = useApi('api/qa/queue-status', { live: true });
  const w = useApi('api/qa/workers', { live: true });
  const t = useApi('api/qa/throughput?hours=24', { live: true });
  const e = useApi('api/qa/errors?hours=24', { live: true });
  return (
    <section aria-labelledby="ops-h">
      <h1 id="ops-h">Operations</h1>
      <h2>Queue</h2>
      <Failure error={q.error} what="the queue" />
      {q.loading && !q.data && <Loading what="the queue" />}
      {q.data && (
        <div class="tiles" role="list">
          {STATES.map((s) => (
            <a role="listitem" class={`tile s-${s}`} href={`#/calls?state=${s}`}>
              <span class="n">{q.data.status_counts[s] ?? 0}</span><span class="l">{s} (jobs)</span></a>))}
          <div role="listitem" class="tile"><span class="n">{q.data.today_queued}</span><span class="l">queued today (jobs)</span></div>
        </div>
      )}
      <h2>Throughput, last 24 hours</h2>
      {unavailable(t.error) ? <p class="note">Not available yet: this service has no /api/qa/throughput.</p> : <Failure error={t.error} what="the throughput" />}
      {t.data && <Throughput buckets={t.data.buckets || []} />}
      <h2>Errors by stage, last 24 hours</h2>
      {unavailable(e.error) ? <p class="note">Not available yet: this service has no /api/qa/errors.</p> : <Failure error={e.error} what="the errors" />}
      {e.data && (!(e.data.errors || []).length ? <Empty>No job ended in error.</Empty> : (
        <table>
          <thead><tr><th scope="col">Stage</th><th scope="col">Reason</th><th scope="col">Jobs</th><th scope="col">Last</th><th scope="col">Example</th></tr></thead>
          <tbody>{e.data.errors.map((r) => (
            <tr><th scope="row">{r.stage}</th><td>{r.reason}</td><td class="num">{r.n}</td><td>{ago(r.last_ts)}</td>
              <td>{r.example ? <><a href={`#/call/${enc(r.example.recording_id)}`}>{r.example.recording_id}</a> <span class="sub">{r.example.message}</span></> : '—'}</td></tr>))}</tbody>
        </table>))}
      <h2>Workers</h2>
      <Failure error={w.error} what="the workers" />
      {w.data && !w.data.workers.length && <Empty>No worker has registered with this store.</Empty>}
      {w.data && w.data.workers.length > 0 && (
        <table>
          <thead><tr><th scope="col">Worker</th><th scope="col">State</th><th scope="col">Heartbeat</th><th scope="col">Pause reason</th>
            <th scope="col">Calls done</th><th scope="col">Call in hand</th><th scope="col">Started</th></tr></thead>
          <tbody>{w.data.workers.map((x) => (
            <tr><th scope="row">{x.id}<div class="sub">{x.host}, pid {x.pid}</div></th>
              <td><span class={`state w-${x.state}`}>{x.state}</span></td>
              <td>{x.heartbeat}</td>
              <td><V v={x.pause_reason} /></td>
              <td class="num">{x.jobs_done} calls</td>
              <td><V v={x.current_call} /></td>
              <td>{x.started}</td></tr>))}</tbody>
        </table>
      )}
      <p class="sub">Shown at {localTime(Date.now() / 1000)}.</p>
    </section>
  );
}
