// One call on one zoomable time axis: lanes per leg (level envelope, what the leg carries,
// events, MOS windows), the call's overtalk and dead air, a mono mix's speakers and the
// sentiment per quarter, and a playhead that follows the player.
// The envelope is drawn by uPlot; spans are elements of their own (focusable, labelled, each a
// seek target), placed on the same axis. Sounds and MOS windows under THIN pixels at the current
// zoom are painted on one canvas per lane instead (a click there seeks like any click on the
// axis; zooming in makes them buttons): a 30-minute call has hundreds of such slivers, too
// narrow to aim at. Events, overtalk and dead air (drawn at least `min` px wide) stay buttons.
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { clock, fixed, isNum, signed } from '../fmt.js';
import { cssVar } from '../components.jsx';

const STEPS = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
const CLASS_LABEL = { speech: 'speech', silence: 'silence', music: 'music', tone: 'tone', noise: 'noise' };
const EVENT_LABEL = { hold: 'hold', ivr: 'IVR prompt', dtmf: 'DTMF', ringback: 'ringback', busy: 'busy tone', sit: 'SIT', tone: 'tone' };

function legName(report, leg) {
  const r = report[leg] && report[leg].role;
  if (!report.has_legs) return 'Recording (mono)';
  return `${r ? r[0].toUpperCase() + r.slice(1) : leg} (${leg})`;
}

export function legsOf(report) {
  return ['inbound', 'outbound'].filter((l) => report && report[l]);
}

const THIN = 8;
const THIN_HEIGHT = 20; // the canvas's bitmap: stretched to the lane's height by app.css
// the colours of each kind of span, for the canvas: app.css's .k-* background, and the border
// the MOS windows have (drawn as their left edge)
const KIND_COLOUR = { speech: ['--speech'], silence: ['--silence'], music: ['--music'], tone: ['--tone'],
  noise: ['--noise'], 'mos-good': ['--good-bg', '--good'], 'mos-fair': ['--warn-bg', '--warn'],
  'mos-bad': ['--bad-bg', '--bad'], 'mos-none': ['--bg', '--line'] };

function ThinSpans({ thin, width }) {
  const ref = useRef(null);
  useEffect(() => {
    const c = ref.current;
    const dpr = window.devicePixelRatio || 1;
    const h = THIN_HEIGHT; // not the lane's height: reading it would force a layout per lane
    c.width = Math.round(width * dpr);
    c.height = Math.round(h * dpr);
    const g = c.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, width, h);
    const style = getComputedStyle(document.documentElement);
    const colour = (v) => (v && style.getPropertyValue(v).trim()) || null;
    const colours = {};
    for (const [x, w, kind] of thin) {
      const [fill, edge] = colours[kind] || (colours[kind] = (KIND_COLOUR[kind] || ['--noise']).map(colour));
      g.fillStyle = fill || '#888';
      g.fillRect(x, 0, Math.max(w, 0.5), h);
      if (edge && w >= 2) {
        g.fillStyle = edge;
        g.fillRect(x, 0, 1, h);
      }
    }
  }, [thin, width]);
  return <canvas ref={ref} class="thin" aria-hidden="true" />;
}

// Span elements of one lane within the view; each seeks to its start.
function Spans({ items, view, width, onSeek, kind }) {
  const span = view.t1 - view.t0;
  const out = [];
  const thin = [];
  for (const it of items) {
    if (it.end < view.t0 || it.start > view.t1) continue;
    const x0 = ((Math.max(it.start, view.t0) - view.t0) / span) * width;
    const x1 = ((Math.min(it.end, view.t1) - view.t0) / span) * width;
    const w = Math.max(it.min || 0, x1 - x0);
    if (w < THIN && !it.min) {
      thin.push([x0, w, it.kind]);
      continue;
    }
    const label = `${it.label}, ${clock(it.start)} to ${clock(it.end)}`;
    out.push(
      <button type="button" class={`span k-${it.kind}`} style={`left:${x0}px;width:${w}px`}
        data-kind={it.kind} data-start={it.start} data-end={it.end} aria-label={label} title={label + (it.title ? ` — ${it.title}` : '')}>
        {w > 34 ? <span class="t">{it.text !== undefined ? it.text : it.label}</span> : null}
      </button>);
  }
  // one listener for the lane's buttons (a click, or Enter or Space on one), not one each
  const onClick = (e) => {
    const b = e.target.closest('.span');
    if (!b) return;
    e.stopPropagation();
    onSeek(+b.dataset.start);
  };
  return <div class={`lane-track spans ${kind}`} onClick={onClick}>{thin.length > 0 && <ThinSpans thin={thin} width={width} />}{out}</div>;
}

function Envelope({ values, step, view, width }) {
  const box = useRef(null);
  const plot = useRef(null);
  const data = useMemo(() => {
    const xs = new Float64Array(values.length);
    const ys = new Array(values.length);
    for (let i = 0; i < values.length; i++) { xs[i] = i * step; ys[i] = values[i]; }
    return [xs, ys];
  }, [values, step]);
  useEffect(() => {
    const p = new uPlot({
      width: Math.max(50, width), height: 46, legend: { show: false }, cursor: { show: false },
      select: { show: false }, pxAlign: 0,
      scales: { x: { time: false, min: view.t0, max: view.t1 }, y: { range: [-70, 0] } },
      axes: [{ show: false }, { show: false }],
      series: [{}, { stroke: cssVar('--env'), fill: cssVar('--env-fill'), fillTo: -70, width: 1, points: { show: false } }],
    }, data, box.current);
    plot.current = p;
    return () => { p.destroy(); plot.current = null; };
  }, [data]);
  useEffect(() => {
    const p = plot.current;
    if (!p) return;
    if (Math.abs(p.width - width) > 0.5) p.setSize({ width: Math.max(50, width), height: 46 });
    p.setScale('x', { min: view.t0, max: view.t1 });
  }, [view.t0, view.t1, width]);
  return <div class="lane-track env" ref={box} />;
}

function Axis({ view, width }) {
  const span = view.t1 - view.t0;
  const step = STEPS.find((s) => (s / span) * width >= 80) || STEPS[STEPS.length - 1];
  const ticks = [];
  for (let t = Math.ceil(view.t0 / step) * step; t <= view.t1 + 1e-9; t += step) {
    ticks.push(<span class="tick" style={{ left: `${((t - view.t0) / span) * width}px` }}>{clock(t, step < 1 ? 1 : 0)}</span>);
  }
  return <div class="lane-track axis" aria-hidden="true">{ticks}</div>;
}

function Lane({ title, children, note }) {
  return (
    <div class="lane" role="group" aria-label={title}>
      <div class="lane-title">{title}{note && <div class="sub">{note}</div>}</div>
      {children}
    </div>
  );
}

// Each leg's level lane (its envelope, when it has come).
function levelLanes(report, envelope, envelopeError, view, width) {
  return legsOf(report).map((leg) => {
    const env = envelope && envelope.legs && envelope.legs[leg];
    return (
      <Lane title={`${legName(report, leg)}: level`} note="RMS, dBFS">
        {env ? <Envelope values={env} step={envelope.step_sec} view={view} width={width} />
          : <div class="lane-track note">{envelopeError || 'loading…'}</div>}
      </Lane>);
  });
}

// The lanes of spans: per leg its sounds, events and MOS windows (an array a leg), then overtalk
// and dead air across both legs (the last item, null without legs).
function spanLanes(report, view, width, onSeek) {
  const lanes = [];
  for (const leg of legsOf(report)) {
    const L = report[leg];
    const name = legName(report, leg);
    const segs = ((L.timeline && L.timeline.segments) || []).map((s) => ({
      kind: s.class, start: s.start, end: s.end, label: CLASS_LABEL[s.class] || s.class,
      title: isNum(s.confidence) ? `confidence ${fixed(s.confidence, 2)}` : undefined,
    }));
    const mine = [];
    mine.push(<Lane title={`${name}: sound`}><Spans items={segs} view={view} width={width} onSeek={onSeek} kind="sound" /></Lane>);
    const evs = (report.events || []).filter((e) => e.leg === leg).map((e) => ({
      kind: e.type, start: e.start, end: Math.max(e.end, e.start), min: 6,
      label: EVENT_LABEL[e.type] || e.type, text: e.type === 'dtmf' ? `DTMF ${e.digits || ''}` : undefined,
      title: e.digits ? `digits ${e.digits}` : undefined,
    }));
    mine.push(<Lane title={`${name}: events`} note={evs.length ? undefined : 'none found'}><Spans items={evs} view={view} width={width} onSeek={onSeek} kind="events" /></Lane>);
    const wins = (L.nisqa && L.nisqa.windows) || [];
    const mosKind = (v) => (v < 2.5 ? 'mos-bad' : v < 3.5 ? 'mos-fair' : 'mos-good');
    let mosItems = wins.map((w) => ({
      kind: !w.speech_sec ? 'mos-none' : mosKind(w.mos),
      start: w.start, end: w.end, label: w.speech_sec ? `MOS ${fixed(w.mos, 2)}` : 'no speech in this window',
      text: w.speech_sec ? fixed(w.mos, 1) : '—',
      title: w.speech_sec ? `${fixed(w.speech_sec, 1)} s of speech in the window`
        : w.null_reason === 'no_speech' ? 'no speech in the window: no score (its weight is 0)'
          : `MOS ${fixed(w.mos, 2)} without speech: not weighed`,
    }));
    let mosNote = wins.length ? 'NISQA, per window' : (L.nisqa_note || 'not measured');
    if (!wins.length && L.dnsmos && L.dnsmos.windows) {
      // DNSMOS when NISQA did not run (mos_model): its P.835 OVRL per window, on its own scale
      const bySpeech = L.dnsmos.weighting === 'speech';
      mosItems = L.dnsmos.windows.map((w) => ({
        kind: bySpeech && !w.weight ? 'mos-none' : mosKind(w.ovrl),
        start: w.start, end: Math.min(w.end, L.duration || w.end),
        label: bySpeech && !w.weight ? 'no speech in this window' : `OVRL ${fixed(w.ovrl, 2)}`,
        text: bySpeech && !w.weight ? '—' : fixed(w.ovrl, 1),
        title: w.null_reason === 'no_speech' ? 'no speech in its part: no score (its weight is 0)'
          : `DNSMOS SIG ${fixed(w.sig, 2)}, BAK ${fixed(w.bak, 2)}, OVRL ${fixed(w.ovrl, 2)}, P.808 ${fixed(w.p808, 2)}`
            + (bySpeech ? `; ${fixed(w.weight, 1)} s of speech in its part` : ''),
      }));
      mosNote = 'DNSMOS OVRL, per window';
    }
    mine.push(<Lane title={`${name}: MOS`} note={mosItems.length ? mosNote : (L.dnsmos_note || mosNote)}>
      <Spans items={mosItems} view={view} width={width} onSeek={onSeek} kind="mos" /></Lane>);
    lanes.push(mine);
  }
  const conv = report.conversation || {};
  const both = [
    ...(((conv.overtalk || {}).spans) || []).map((s) => ({ kind: 'overtalk', start: s.start, end: s.end, min: 3, label: 'overtalk' })),
    ...(((conv.dead_air || {}).spans) || []).map((s) => ({ kind: 'dead_air', start: s.start, end: s.end, min: 3, label: 'dead air' })),
  ];
  lanes.push(report.has_legs
    ? <Lane title="Both: overtalk, dead air" note={both.length ? undefined : 'none found'}><Spans items={both} view={view} width={width} onSeek={onSeek} kind="conv" /></Lane>
    : null);
  return lanes;
}

// A mono mix split into speakers (diarization): who spoke when, named by their role when one was
// decided (roles: {S1: {role, confidence}, ...} from the stored analysis), with the method and
// its confidence in the lane's note.
function speakerLane(report, roles, view, width, onSeek) {
  const d = report.diarization;
  if (report.has_legs || !d) return null;
  const who = (id) => {
    const r = roles && roles[id];
    return r && (r.role === 'agent' || r.role === 'customer') ? `${id} ${r.role}` : id;
  };
  const items = (report.speakers || []).flatMap((sp, i) => sp.segments.map((g) => ({
    kind: `spk${i + 1}`, start: g.start, end: g.end, label: who(sp.id), text: who(sp.id),
    title: `${who(sp.id)}: segment confidence ${fixed(g.confidence, 2)}`,
  })));
  const note = d.n_speakers === 2
    ? `diarization, confidence ${fixed(d.confidence, 2)}; overlap not detected`
    : `${d.n_speakers === 1 ? 'one voice found' : 'no speech'}: ${d.rule}`;
  return <Lane title="Speakers (diarization)" note={note}><Spans items={items} view={view} width={width} onSeek={onSeek} kind="speakers" /></Lane>;
}

// The sentiment lanes (docs/sentiment.md): one per speaker of the scoring result, its four
// quarters of the call coloured by VADER's usual cut (compound ±0.05, ±0.25 on this scale); a
// quarter where the speaker said nothing is marked so, never 0.
function sentimentLanes(sent, duration, roles, view, width, onSeek) {
  if (!sent || !(duration > 0)) return [];
  const model = sent.source && sent.source.model;
  return (sent.speakers || []).map((p) => {
    const r = roles && roles[p.speaker];
    const who = r && (r.role === 'agent' || r.role === 'customer') ? `${p.speaker} ${r.role}` : p.speaker;
    const items = (p.quarters || []).map((q, i) => ({
      kind: !isNum(q) ? 'sent-none' : q >= 0.25 ? 'sent-pos' : q <= -0.25 ? 'sent-neg' : 'sent-neu',
      start: (duration * i) / 4, end: (duration * (i + 1)) / 4,
      label: isNum(q) ? `${who}, quarter ${i + 1}: sentiment ${signed(q)} of ±5` : `${who}, quarter ${i + 1}: said nothing`,
      text: isNum(q) ? signed(q) : '—',
    }));
    return (
      <Lane title={`${who}: sentiment`} note={`${p.source}${model ? ` (${model})` : ''}; shift ${signed(p.shift)}`}>
        <Spans items={items} view={view} width={width} onSeek={onSeek} kind="sentiment" />
      </Lane>);
  });
}

export function Timeline({ report, roles, sentiment, envelope, envelopeError, time, onSeek }) {
  const duration = report.duration || 0;
  const [view, setView] = useState({ t0: 0, t1: Math.max(duration, 1) });
  const [width, setWidth] = useState(0); // 0 until measured: the lanes are drawn once, at their width
  const tracks = useRef(null);
  const drag = useRef(null);
  useLayoutEffect(() => {
    const el = tracks.current;
    const ro = new ResizeObserver(() => setWidth(el.clientWidth - 150));
    ro.observe(el);
    setWidth(el.clientWidth - 150);
    return () => ro.disconnect();
  }, []);
  const clampView = (t0, t1) => {
    const minSpan = Math.min(2, duration || 2);
    let s = Math.max(minSpan, Math.min(t1 - t0, duration));
    let a = Math.max(0, Math.min(t0, duration - s));
    return { t0: a, t1: a + s };
  };
  const zoom = (f, at) => setView((v) => {
    const c = at !== undefined ? at : (v.t0 + v.t1) / 2;
    return clampView(c - (c - v.t0) * f, c + (v.t1 - c) * f);
  });
  const pan = (f) => setView((v) => clampView(v.t0 + (v.t1 - v.t0) * f, v.t1 + (v.t1 - v.t0) * f));
  const fit = () => setView({ t0: 0, t1: Math.max(duration, 1) });
  const tOf = (clientX) => {
    const r = tracks.current.getBoundingClientRect();
    return view.t0 + ((clientX - r.left - 150) / width) * (view.t1 - view.t0);
  };
  // wheel: zoom around the pointer (needs a listener that may prevent scrolling)
  useEffect(() => {
    const el = tracks.current;
    const onWheel = (e) => {
      if (e.clientX - el.getBoundingClientRect().left < 150) return;
      e.preventDefault();
      zoom(e.deltaY > 0 ? 1.25 : 0.8, tOf(e.clientX));
    };
    el.addEventListener('wheel', onWheel, { passive: false });
    return () => el.removeEventListener('wheel', onWheel);
  });
  const onDown = (e) => {
    if (e.button !== 0 || e.target.closest('button')) return;
    drag.current = { x: e.clientX, view, moved: false };
  };
  const onMove = (e) => {
    const d = drag.current;
    if (!d) return;
    const dx = e.clientX - d.x;
    if (Math.abs(dx) > 3) d.moved = true;
    if (d.moved) {
      const dt = (-dx / width) * (d.view.t1 - d.view.t0);
      setView(clampView(d.view.t0 + dt, d.view.t1 + dt));
    }
  };
  const onUp = (e) => {
    const d = drag.current;
    drag.current = null;
    if (d && !d.moved && e.clientX - tracks.current.getBoundingClientRect().left >= 150) {
      const t = tOf(e.clientX);
      if (t >= 0 && t <= duration) onSeek(t);
    }
  };
  const onKey = (e) => {
    const k = { '+': () => zoom(0.5), '=': () => zoom(0.5), '-': () => zoom(2), ArrowLeft: () => pan(-0.2), ArrowRight: () => pan(0.2), Home: fit };
    if (k[e.key] && e.target === e.currentTarget) { e.preventDefault(); k[e.key](); }
  };

  // the lanes are built again only when what they draw changes: while the recording plays, the
  // time moves every frame and only the playhead follows it
  const seekRef = useRef(onSeek);
  seekRef.current = onSeek;
  const seekTo = useCallback((t) => seekRef.current(t), []);
  // (each kind on its own, so that the envelope's arrival does not build the spans again)
  const levels = useMemo(() => (width > 0 ? levelLanes(report, envelope, envelopeError, view, width) : []),
    [report, envelope, envelopeError, view, width]);
  const spans = useMemo(() => (width > 0 ? spanLanes(report, view, width, seekTo) : []), [report, view, width, seekTo]);
  const axis = useMemo(() => width > 0 && <Lane title="Time"><Axis view={view} width={width} /></Lane>, [view, width]);
  const extra = useMemo(() => (width > 0
    ? [speakerLane(report, roles, view, width, seekTo), ...sentimentLanes(sentiment, duration, roles, view, width, seekTo)]
    : []), [report, roles, sentiment, duration, view, width, seekTo]);
  const lanes = width > 0 ? [axis, ...levels.flatMap((lv, i) => [lv, ...spans[i]]), spans[spans.length - 1], ...extra] : null;
  const playX = ((time - view.t0) / (view.t1 - view.t0)) * width;
  return (
    <section class="timeline" aria-labelledby="tl-h">
      <div class="tl-head">
        <h2 id="tl-h">Timeline</h2>
        <span class="tl-range" role="status">{clock(view.t0, 1)} – {clock(view.t1, 1)} of {clock(duration, 1)}</span>
        <button type="button" class="ghost" onClick={() => zoom(0.5)} aria-label="Zoom in">+ Zoom in</button>
        <button type="button" class="ghost" onClick={() => zoom(2)} aria-label="Zoom out">− Zoom out</button>
        <button type="button" class="ghost" onClick={fit}>Whole call</button>
      </div>
      <div class="tracks" ref={tracks} tabIndex={0} onKeyDown={onKey} onPointerDown={onDown} onPointerMove={onMove}
        onPointerUp={onUp} onPointerLeave={() => { drag.current = null; }}
        aria-label="Call timeline: click to seek, drag to pan, wheel or + and - to zoom, arrows to move"
        data-t0={view.t0} data-t1={view.t1} data-width={width}>
        {lanes}
        {playX >= 0 && playX <= width && <div class="playhead" style={{ left: `${150 + playX}px` }} aria-hidden="true" />}
      </div>
    </section>
  );
}
