import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { enc } from '../api.js';
import { useApi, V, Badge, Loading, Failure, MosValue } from '../components.jsx';
import { callTime, clock, duration, fixed, isNum, pct, score, signed, withUnit } from '../fmt.js';
import { Timeline } from './timeline.jsx';
import { Network } from './network.jsx';
import { LiveKept } from './livekept.jsx';

const LEG_LABEL = { mix: 'Both sides (the recording)', in: 'Customer leg (inbound)', out: 'Agent leg (outbound)' };

function Player({ id, audio, audioRef, onTime, seconds }) {
  const legs = (audio && audio.legs) || [];
  const [leg, setLeg] = useState((audio && audio.default) || legs[0] || null);
  const [loaded, setLoaded] = useState(false);
  useEffect(() => {
    const a = audioRef.current;
    if (!a) return undefined;
    const meta = () => setLoaded(true);
    a.addEventListener('loadedmetadata', meta);
    const on = () => onTime(a.currentTime);
    a.addEventListener('timeupdate', on);
    a.addEventListener('seeked', on);
    let raf = 0;
    const tick = () => { onTime(a.currentTime); raf = requestAnimationFrame(tick); };
    const play = () => { cancelAnimationFrame(raf); raf = requestAnimationFrame(tick); };
    const stop = () => cancelAnimationFrame(raf);
    a.addEventListener('play', play);
    a.addEventListener('pause', stop);
    a.addEventListener('ended', stop);
    return () => { stop(); a.removeEventListener('loadedmetadata', meta); a.removeEventListener('timeupdate', on); a.removeEventListener('seeked', on);
      a.removeEventListener('play', play); a.removeEventListener('pause', stop); a.removeEventListener('ended', stop); };
  }, [leg]);
  if (!audio) return <p class="note">Playback: this service does not serve recordings yet.</p>;
  if (!legs.length) return <p class="note">Playback: no recording is on hand for this call.</p>;
  return (
    <div class="player">
      <audio ref={audioRef} controls preload="none" src={`api/qa/call/${enc(id)}/audio?leg=${leg}`}
        aria-label={`Recording: ${LEG_LABEL[leg] || leg}`} />
      {!loaded && <span class="sub">{isNum(seconds) ? `${duration(seconds)}; ` : ''}loaded when played</span>}
      {legs.length > 1 && (
        <label>Play <select value={leg} onChange={(e) => {
          const a = audioRef.current;
          const t = a ? a.currentTime : 0;
          setLeg(e.currentTarget.value);
          requestAnimationFrame(() => { if (audioRef.current) audioRef.current.currentTime = t; });
        }}>{legs.map((l) => <option value={l}>{LEG_LABEL[l] || l}</option>)}</select></label>
      )}
    </div>
  );
}

function Transcript({ detail, time, onSeek }) {
  const list = useRef(null);
  const turns = (detail && detail.turns) || [];
  const cur = turns.findIndex((t) => time >= t.start && time < t.end);
  useEffect(() => {
    if (cur < 0 || !list.current) return;
    const el = list.current.querySelector(`[data-turn="${cur}"]`);
    const box = list.current;
    if (el && (el.offsetTop < box.scrollTop || el.offsetTop + el.offsetHeight > box.scrollTop + box.clientHeight))
      box.scrollTop = el.offsetTop - box.clientHeight / 3;
  }, [cur]);
  // the turns are drawn again when the current one changes, not at every frame of the playback
  const items = useMemo(() => turns.map((t, i) => (
    <li data-turn={i} class={`turn sp-${t.speaker}${i === cur ? ' current' : ''}`} aria-current={i === cur ? 'true' : undefined}>
      <button type="button" class="seek" onClick={() => onSeek(t.start)} aria-label={`Play from ${clock(t.start)}`}>{clock(t.start)}</button>
      <span class="who">{t.speaker}</span>
      <span class="text">{t.text}</span>
    </li>
  )), [detail, cur, onSeek]);
  if (!detail) return <section class="panel"><h2>Transcript</h2><p class="note">No transcript for this call (transcription not configured, or not done yet).</p></section>;
  return (
    <section class="panel" aria-labelledby="tx-h">
      <h2 id="tx-h">Transcript</h2>
      <p class="sub">{detail.engine === 'import' ? 'imported (made elsewhere, checked against the speech)' : detail.engine}{detail.model ? ` · ${detail.model}` : ''}{detail.language ? ` · ${detail.language}` : ''} · {detail.word_count} words
        {detail.guard && isNum(detail.guard.hallucination_rate) && ` · ${pct(detail.guard.hallucination_rate * 100)} of words flagged by the guard`}</p>
      <ol class="turns" ref={list}>{items}</ol>
    </section>
  );
}

function Evidence({ ev, onSeek }) {
  if (isNum(ev.start)) {
    const what = ev.quote || ev.text || ev.check || 'evidence';
    return <li><button type="button" class="seek" onClick={() => onSeek(ev.start)} aria-label={`Play the evidence at ${clock(ev.start)}`}>{clock(ev.start)}</button>
      {ev.speaker && <span class="who">{ev.speaker}</span>} <q>{what}</q></li>;
  }
  if (ev.metric) return <li><code>{ev.metric}</code> = <V v={ev.value} text={isNum(ev.value) ? String(+ev.value.toFixed(3)) : String(ev.value)} /></li>;
  return <li>{JSON.stringify(ev)}</li>;
}

const OUTCOME = { resolved: 'resolved', follow_up: 'follow-up needed', transferred: 'transferred', unresolved: 'unresolved' };

// The call's summary as the scoring stored it (docs/report/scored.md, "summary"): the LLM's, checked
// against the transcript, or the deterministic assessment, always with its source named; the
// reason an LLM's summary was not used, when one was asked.
function Summary({ detail, onSeek }) {
  if (!detail) return null;
  // a score stored before summaries were checked holds the LLM's text alone: shown as such
  const s = typeof detail.summary === 'string'
    ? { source: 'unchecked', text: detail.summary, model: detail.llm_model } : detail.summary;
  if (!s) return <section class="panel summary" aria-labelledby="sum-h"><h2 id="sum-h">Summary</h2><p class="note">No summary: no LLM summary and no report to assess.</p></section>;
  const llm = s.source === 'llm';
  const label = llm ? 'LLM' : s.source === 'deterministic' ? 'deterministic (rules, no LLM)'
    : s.source === 'unchecked' ? 'LLM, unchecked (stored before summaries were checked)' : 'none';
  return (
    <section class="panel summary" aria-labelledby="sum-h" data-source={s.source || 'none'}>
      <h2 id="sum-h">Summary <span class="model" data-summary-source={s.source || 'none'}>{label}{llm && s.model ? ` · ${s.model}` : ''}</span></h2>
      {s.text ? <div class="verdict">{s.text.split('\n').map((l) => <p>{l}</p>)}</div> : <p class="note">No summary.</p>}
      {llm && <dl class="kv">
        <dt>Reason for the call</dt><dd>{s.reason}</dd>
        <dt>Outcome</dt><dd data-outcome={s.outcome}>{OUTCOME[s.outcome] || s.outcome}</dd>
      </dl>}
      {llm && s.quotes && s.quotes.length > 0 && <ul class="evidence">{s.quotes.map((q) => <Evidence ev={{ ...q, speaker: `${q.speaker} · ${q.backs}` }} onSeek={onSeek} />)}</ul>}
      {s.refused && <p class="note refused">The LLM's summary is not shown: {s.refused}</p>}
    </section>
  );
}

function Scorecard({ detail, overrides, onSeek }) {
  if (!detail) return <section class="panel"><h2>Scorecard</h2><p class="note">Not scored yet.</p></section>;
  const cats = Object.entries(detail.categories || {});
  return (
    <section class="panel" aria-labelledby="sc-h">
      <h2 id="sc-h">Scorecard</h2>
      <p class="sub">{detail.scorecard && detail.scorecard.name} · total {score(detail.total_score)}
        {!isNum(detail.total_score) && isNum(detail.partial_score) && ` · partial ${score(detail.partial_score)} over ${pct((detail.coverage || 0) * 100)} of the card`}
        {detail.flagged && <> · <Badge code="flagged" /> {detail.flag_reason}</>}</p>
      <table class="card">
        <thead><tr><th scope="col">Category</th><th scope="col">Weight</th><th scope="col">Score</th><th scope="col">Why, and the evidence</th></tr></thead>
        <tbody>
          {cats.map(([k, c]) => {
            const ov = overrides && overrides[k];
            return (
              <tr data-category={k}>
                <th scope="row">{c.name}<div class="sub">{c.method}{c.critical ? ' · critical' : ''}</div></th>
                <td class="num">{pct(c.weight * 100)}</td>
                <td class="num"><V v={c.score} text={`${c.score} / 5`} />
                  {ov && <div class="override">override {ov.score} / 5 by {ov.supervisor}</div>}</td>
                <td>{c.reason}{c.evidence && c.evidence.length > 0 && <ul class="evidence">{c.evidence.map((e) => <Evidence ev={e} onSeek={onSeek} />)}</ul>}</td>
              </tr>);
          })}
        </tbody>
      </table>
    </section>
  );
}

// The sentiment trend of the scoring result (docs/sentiment.md): each speaker per quarter of
// the call, the shift, the customer's drop; when there is none, why.
function Sentiment({ detail }) {
  if (!detail) return null;
  const s = detail.sentiment;
  if (!s) return <section class="panel sentiment" aria-labelledby="se-h"><h2 id="se-h">Sentiment</h2>
    <p class="note">Not measured: {detail.sentiment_status || 'the result has no sentiment (scored before it was added)'}.</p></section>;
  const src = s.source || {};
  return (
    <section class="panel sentiment" aria-labelledby="se-h">
      <h2 id="se-h">Sentiment</h2>
      <p class="sub">each speaker per quarter of the call, −5..+5 · {src.name} {src.version} ({src.licence})</p>
      <table class="narrow">
        <caption class="sr">Sentiment per speaker and quarter of the call, and the shift from the first to the last</caption>
        <thead><tr><th scope="col">Speaker</th>{['Q1', 'Q2', 'Q3', 'Q4'].map((q) => <th scope="col">{q}</th>)}<th scope="col">Shift</th></tr></thead>
        <tbody>{(s.speakers || []).map((p) => (
          <tr data-speaker={p.speaker}><th scope="row">{p.speaker}<div class="sub">{p.source}</div></th>
            {(p.quarters || []).map((q) => <td class="num"><V v={q} text={signed(q)} /></td>)}
            <td class="num"><V v={p.shift} text={signed(p.shift)} /></td></tr>))}</tbody>
      </table>
      <p class="drop">{s.customer_drop === true ? 'The customer ended low: from 0 or above to −2 or below.'
        : s.customer_drop === false ? 'The customer did not end low.'
          : 'Customer drop not known (no customer speaker, or fewer than two of its quarters).'}</p>
    </section>
  );
}

function Assessment({ rep }) {
  if (!rep) return null;
  const r = rep.report;
  const a = rep.assessment || {};
  const checks = r.leg_checks;
  return (
    <section class="panel" aria-labelledby="as-h">
      <h2 id="as-h">Assessment</h2>
      {a.text ? <div class="verdict">{a.text.split('\n').map((l) => <p>{l}</p>)}</div> : <p class="note">{a.error || 'No assessment.'}</p>}
      <h3>Findings</h3>
      {a.findings && a.findings.length ? <ul>{a.findings.map((f) => <li><code>{f.code}</code> {f.message}</li>)}</ul> : <p class="note">None.</p>}
      <h3>Warnings</h3>
      {r.warning_details && r.warning_details.length ? <ul>{r.warning_details.map((w) => <li><code>{w.code}</code> {w.message}</li>)}</ul>
        : r.warnings && r.warnings.length ? <ul>{r.warnings.map((w) => <li>{String(w)}</li>)}</ul> : <p class="note">None.</p>}
      <h3>Leg checks</h3>
      {checks ? (
        <dl class="kv">
          <dt>Compared</dt><dd>{checks.compared ? 'yes' : 'no'}</dd>
          <dt>Near-identical legs (fake stereo)</dt><dd>{checks.near_identical ? 'yes' : 'no'}</dd>
          <dt>Swapped legs suspected</dt><dd>{checks.swapped_suspected ? `yes: ${checks.swapped_detail || ''}` : 'no'}</dd>
          <dt>Peak correlation</dt><dd><V v={checks.peak_correlation} text={`${fixed(checks.peak_correlation, 2)} at ${fixed(checks.peak_lag_ms, 0)} ms`} /></dd>
        </dl>) : <p class="note">Not made (one leg).</p>}
    </section>
  );
}

// A diarized mono mix: each speaker's talk and turns, with its role when one was decided, marked
// as coming from diarization with its confidence.
function Speakers({ report, roles }) {
  const cs = report && report.conversation && report.conversation.speakers;
  if (!cs) return null;
  const name = (id) => {
    const r = roles && roles[id];
    return r && r.role !== 'unknown' ? `${id} (${r.role}, ${fixed(r.confidence, 2)})` : `${id} (role unknown)`;
  };
  return <>
    <dt>Speakers (diarization, confidence {fixed(cs.confidence, 2)})</dt>
    <dd>{['S1', 'S2'].map((id) => `${name(id)}: talk ${withUnit(cs[id].talk_sec, 's')}, ${cs[id].turns} turns`).join(' · ')}
      {isNum(cs.response_latency.mean_sec) && ` · latency ${fixed(cs.response_latency.mean_sec, 2)} s`}</dd>
  </>;
}

function Figures({ call, report }) {
  const a = call.analysis || {};
  const f = report && report.format;
  // each MOS beside its model, judged on its own model's threshold
  const m = a.mos || {};
  const sp = m.speech || { model: null, inbound: a.mos_in, outbound: a.mos_out, low_below: null };
  const nm = m.network || null;
  return (
    <dl class="figures">
      <dt>Duration</dt><dd>{duration(a.duration_sec)}</dd>
      <dt>Format</dt><dd>{f ? `${f.container} ${f.encoding}, ${f.sample_rate} Hz, ${f.channels} ch` : '—'}</dd>
      <dt>Speech MOS customer / agent</dt>
      <dd><MosValue v={sp.inbound} lowBelow={sp.low_below} name="speech-in" /> / <MosValue v={sp.outbound} lowBelow={sp.low_below} name="speech-out" />
        {' '}<span class="model" data-model="speech">{sp.model || 'model not recorded'}</span></dd>
      {nm && <><dt>Network MOS</dt>
        <dd><MosValue v={nm.mos} lowBelow={nm.low_below} name="network" />{' '}<span class="model" data-model="network">{nm.model || 'model not recorded'}</span></dd></>}
      {report && report.has_legs === false
        ? <><dt>Talk (both, one mixed channel)</dt><dd>{withUnit(a.talk_sec_in, 's')}</dd></>
        : <><dt>Talk customer / agent</dt><dd>{withUnit(a.talk_sec_in, 's')} / {withUnit(a.talk_sec_out, 's')}</dd></>}
      <Speakers report={report} roles={report && report.roles} />
      <dt>Overtalk</dt><dd>{withUnit(a.overtalk_sec, 's')}</dd>
      <dt>Dead air</dt><dd>{withUnit(a.dead_air_sec, 's')}</dd>
      <dt>Hold</dt><dd>{withUnit(a.hold_sec, 's')}{isNum(a.hold_count) && ` (${a.hold_count} ${a.hold_count === 1 ? 'time' : 'times'})`}</dd>
      <dt>DTMF digits</dt><dd>{isNum(a.dtmf_count) ? a.dtmf_count : '—'}</dd>
    </dl>
  );
}

// What the call view reads: the call, its report, and its envelope at most 20,000 points a leg
// (every 50 ms step of a call up to 1,000 s), the three asked for at once.
export function callPaths(id) {
  const base = `api/qa/call/${enc(id)}`;
  return { call: base, report: `${base}/report`, envelope: `${base}/envelope?points=20000` };
}

export function CallView({ id }) {
  const paths = callPaths(id);
  const call = useApi(paths.call, { live: true });
  const rep = useApi(paths.report);
  const env = useApi(paths.envelope);
  const [time, setTime] = useState(0);
  const audioRef = useRef(null);
  const seek = useCallback((t) => {
    setTime(t);
    const a = audioRef.current;
    if (a) {
      a.currentTime = t;
      if (a.paused) a.play().catch(() => { /* the user starts it */ });
    }
  }, []);
  const c = call.data;
  const envError = env.error ? (env.error.code === 'no_envelope' || env.error.status === 404
    ? 'No level envelope stored for this call (analysed before envelopes were kept).' : env.error.message) : null;
  const badges = useMemo(() => (c && c.badges) || [], [c]);
  // what does not follow the playback is kept from one frame to the next
  const card = useMemo(() => c && <Scorecard detail={c.score_detail} overrides={c.overrides} onSeek={seek} />, [c, seek]);
  const summary = useMemo(() => c && <Summary detail={c.score_detail} onSeek={seek} />, [c, seek]);
  const rest = useMemo(() => (
    <>
      {c && <Sentiment detail={c.score_detail} />}
      {c && <section class="panel"><h2>Figures</h2><Figures call={c} report={rep.data && rep.data.report} /></section>}
      <Assessment rep={rep.data} />
      {c && <Network call={c} />}
      {c && <LiveKept call={c} />}
    </>), [c, rep.data]);
  return (
    <article class="call" aria-labelledby="call-h">
      <p class="crumbs"><a href="#/calls">Calls</a> › {id}</p>
      <Failure error={call.error} what="the call" />
      {call.loading && !c && <Loading what="the call" />}
      {c && (
        <header class="call-head">
          <h1 id="call-h">Call {c.recording_id}</h1>
          <p class="meta">
            {callTime(c.call_date, c.tz)} · {c.agent_user ? <a href={`#/agent/${enc(c.agent_user)}`}>{c.agent_name || c.agent_user}</a> : 'no agent'} ·
            campaign {c.campaign_id || '—'} · {c.direction || 'direction not recorded'} · source {c.source} ·
            <span class={`state s-${c.processing_status}`}> {c.processing_status}</span>
            {c.flagged && <> <Badge code="flagged" /></>}{badges.map((b) => <Badge code={b} />)}
          </p>
          {c.error_message && <p class="error">{c.error_stage}: {c.error_message}</p>}
          <p><a class="button ghost" href={`api/qa/call/${enc(id)}/report`} download={`callqa-${c.recording_id}.json`}>Download the report (JSON)</a></p>
        </header>
      )}
      {c && <Player id={id} audio={c.audio} audioRef={audioRef} onTime={setTime} seconds={(c.analysis || {}).duration_sec} />}
      {rep.error && rep.error.status === 404 && <p class="note">Not analysed yet: the timeline appears once the analysis is stored.</p>}
      {rep.error && rep.error.status !== 404 && <Failure error={rep.error} what="the report" />}
      {rep.data && <Timeline report={rep.data.report} roles={rep.data.report && rep.data.report.roles}
        sentiment={c && (c.sentiment || (c.score_detail ? c.score_detail.sentiment : null))}
        envelope={env.data} envelopeError={envError} time={time} onSeek={seek} />}
      {summary}
      {c && (
        <div class="cols">
          <Transcript detail={c.transcript_detail} time={time} onSeek={seek} />
          {card}
        </div>
      )}
      {rest}
    </article>
  );
}
