// The live events of a call that `callqa live` recorded (GET /api/qa/call/{id}: `live`,
// `live_error`; docs/live/server.md, "In the QA store"): how the call ended, the decisions made while it
// went on, and whether the classifier's events decided live agree with the batch analysis of
// the recording.
import { clock, fixed, isNum, NA } from '../fmt.js';

function when(v) {
  return isNum(v) ? clock(v) : NA;
}

// What a decision says beyond its type and rule.
function evidence(d) {
  const parts = [];
  if (isNum(d.speech_sec)) parts.push(`speech ${fixed(d.speech_sec, 2)} s`);
  if (isNum(d.quiet_sec)) parts.push(`quiet ${fixed(d.quiet_sec, 2)} s`);
  if (isNum(d.music_sec)) parts.push(`${fixed(d.music_sec, 2)} s after the music`);
  if (isNum(d.freq_hz)) parts.push(`${fixed(d.freq_hz, 0)} Hz`);
  return parts.join(', ') || NA;
}

export function LiveKept({ call }) {
  const lv = call && call.live;
  const err = call && call.live_error;
  if (!lv && !err) return null;
  const ag = (lv && lv.agreement) || {};
  const end = (lv && lv.call_end) || {};
  const decisions = (lv && lv.decisions) || [];
  return (
    <section class="panel live-kept" aria-labelledby="livekept-h">
      <h2 id="livekept-h">Live events</h2>
      {err && <p class="error live-error">The live events could not be read: {err}</p>}
      {lv && (
        <>
          <p class="sub">Recorded by callqa live from {lv.input || 'an unknown input'} as call {lv.call || NA}
            {' '}· {lv.file} · ended: {end.reason || 'no call_end line'}
            {isNum(end.audio_sec) && <> after {clock(end.audio_sec)}</>}
            {' '}· {(lv.events || []).length} lines kept
            {lv.events_not_kept > 0 && <>, {lv.events_not_kept} not kept</>}
            {lv.bad_lines > 0 && <>, {lv.bad_lines} unreadable</>}</p>
          {ag.compared ? (
            <p class={`agreement ${ag.agree ? 'agree' : 'disagree'}`} data-agree={ag.agree ? 'yes' : 'no'}>
              {ag.agree ? 'Agrees with the analysis: ' : 'Differs from the analysis: '}
              {ag.agreed} of {ag.live} events decided live matched, of {ag.batch} in the analysis
              {' '}({(ag.types || []).join(', ')}; starts within {fixed((ag.start_tolerance_sec || 0) * 1000, 0)} ms).
              {ag.dtmf && ag.dtmf !== 'compared' && <> DTMF {ag.dtmf}.</>}
            </p>
          ) : <p class="note agreement">Not compared with the analysis: {ag.why || NA}.</p>}
          {(ag.only_live || []).length + (ag.only_batch || []).length > 0 && (
            <ul class="disagreements">
              {(ag.only_live || []).map((e) => <li>live only: {e.type} at {when(e.start)}</li>)}
              {(ag.only_batch || []).map((e) => <li>analysis only: {e.type} at {when(e.start)}</li>)}
            </ul>)}
          <h3>Decisions during the call</h3>
          {decisions.length ? (
            <table class="decisions">
              <thead><tr><th>event</th><th>rule</th><th>from</th><th>decided at</th><th>evidence</th></tr></thead>
              <tbody>{decisions.map((d) => (
                <tr data-type={d.type}>
                  <td>{d.type}</td><td><code>{d.rule || NA}</code></td><td>{when(d.start)}</td>
                  <td>{when(isNum(d.at) ? d.at : d.call_sec)}</td><td>{evidence(d)}</td>
                </tr>))}</tbody>
            </table>) : <p class="note">None (the call ran without --live, or nothing was decided).</p>}
        </>
      )}
    </section>
  );
}
