import { useEffect, useMemo, useRef, useState, useCallback } from 'preact/hooks';
import uPlot from 'uplot';
import { api, ApiError } from './api.js';
import { NA, isNum, mos } from './fmt.js';
import { onJob } from './live.js';

// GET path while mounted; again when path changes or reload() is called.
export function useApi(path, { live = false } = {}) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    if (!path) return undefined;
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    api(path, { signal: ctl.signal }).then(
      (data) => setState({ data, error: null, loading: false, path }),
      (error) => {
        if (error.name !== 'AbortError') setState({ data: null, error, loading: false, path });
      });
    return () => ctl.abort();
  }, [path, tick]);
  // a job's change re-reads the view (at most every 300 ms)
  useEffect(() => {
    if (!live) return undefined;
    let t = null;
    const off = onJob(() => {
      if (!t) t = setTimeout(() => { t = null; reload(); }, 300);
    });
    return () => { off(); clearTimeout(t); };
  }, [live, reload]);
  return { ...state, reload };
}

// A value or "—" (not measured); the unit follows the number.
export function V({ v, text }) {
  if (v === null || v === undefined || (typeof v === 'number' && !isNum(v)))
    return <span class="na" title="not measured">{NA}</span>;
  return <span>{text !== undefined ? text : String(v)}</span>;
}

// A MOS coloured against its own model's threshold (the colour is not the only sign: a low one
// is marked "low" in words, and the title gives the threshold); without a threshold, not judged.
export function MosValue({ v, lowBelow, name }) {
  if (!isNum(v)) return <V v={null} />;
  const judged = isNum(lowBelow);
  const low = judged && v < lowBelow;
  const rule = judged ? `low below ${lowBelow.toFixed(1)} on this model's scale` : undefined;
  return (
    <span class={`mosv${judged ? (low ? ' mos-low' : ' mos-ok') : ''}`} data-mos={name}
      data-low={judged ? (low ? 'yes' : 'no') : undefined} title={rule}>
      {mos(v)}{low && <span class="mos-mark"> (low)</span>}
    </span>
  );
}

export function Loading({ what }) {
  return <p class="loading" role="status">Loading {what}…</p>;
}

export function Failure({ error, what }) {
  if (!error) return null;
  const why = error instanceof ApiError ? `${error.message} (${error.status || 'no answer'})` : String(error.message || error);
  return <p class="error" role="alert">Could not load {what}: {why}</p>;
}

// The problem badges: text, an icon-like letter and a colour (colour is never the only sign).
const BADGE = {
  one_way: ['One-way audio', '⇥'],
  dead_air: ['Dead air', '∅'],
  clipping: ['Clipping', '⩘'],
  low_level: ['Low level', '↓'],
  fake_stereo: ['Fake stereo', '='],
  swapped_legs: ['Swapped legs', '⇄'],
  mos_low: ['Low MOS', '♪'],
  network_mos_low: ['Low network MOS', '≈'],
  flagged: ['Flagged', '⚑'],
};

// Each badge's rule, from GET /api/qa/badges (the assessment's thresholds, which the calls list
// applies): read once, shown as the badge's title.
let badgeRules = null;
let badgeWait = null;
function useBadgeRules() {
  const [rules, setRules] = useState(badgeRules);
  useEffect(() => {
    if (badgeRules) return undefined;
    badgeWait = badgeWait || api('api/qa/badges').then((list) => {
      badgeRules = Object.fromEntries(list.map((b) => [b.code, (b.threshold === null ? b.rule
        : `${b.rule}: ${b.threshold}${b.unit ? ` ${b.unit}` : ''}`) + (b.model ? ` (${b.model})` : '')]));
      return badgeRules;
    }, () => { badgeWait = null; return null; });
    let live = true;
    badgeWait.then((r) => { if (live && r) setRules(r); });
    return () => { live = false; };
  }, []);
  return rules;
}

export function Badge({ code }) {
  const rules = useBadgeRules();
  const [label, mark] = BADGE[code] || [code.replace(/_/g, ' '), '!'];
  return <span class={`badge b-${code}`} title={(rules && rules[code]) || undefined}>
    <span aria-hidden="true">{mark} </span>{label}</span>;
}

// A uPlot chart (series and axes in opts, without width/height), resized with its box.
export function Chart({ opts, data, height = 220, label, onCreate }) {
  const box = useRef(null);
  const plot = useRef(null);
  useEffect(() => {
    const el = box.current;
    const p = new uPlot({ ...opts, width: Math.max(200, el.clientWidth), height }, data, el);
    plot.current = p;
    if (onCreate) onCreate(p);
    const ro = new ResizeObserver(() => {
      const w = Math.max(200, el.clientWidth);
      if (w !== p.width) p.setSize({ width: w, height });
    });
    ro.observe(el);
    return () => { ro.disconnect(); p.destroy(); plot.current = null; };
  }, [opts, height]);
  useEffect(() => {
    if (plot.current) plot.current.setData(data);
  }, [data]);
  return <div class="chart" ref={box} role="img" aria-label={label} />;
}

// The theme's colours, read from the stylesheet for the charts.
export function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

export function Empty({ children }) {
  return <p class="empty">{children}</p>;
}

// A day (YYYY-MM-DD) as the Unix time of its noon, UTC: the charts' day axis.
export const dayTs = (d) => Date.parse(`${d}T12:00:00Z`) / 1000;

// Calls and the average score per day, on two scales: days [{date, calls, avg}] (avg null: no
// score that day, a gap in the line). callsLabel names what the calls are.
export function DailyScoreChart({ days, callsLabel, label }) {
  const opts = useMemo(() => ({
    scales: { x: { time: true }, calls: { range: (u, lo, hi) => [0, Math.max(1, hi)] }, score: { range: [0, 100] } },
    axes: [{ stroke: cssVar('--muted') },
      { scale: 'calls', label: 'calls', stroke: cssVar('--muted') },
      { scale: 'score', side: 1, label: 'average score / 100', stroke: cssVar('--muted'), grid: { show: false } }],
    series: [{},
      { label: callsLabel, scale: 'calls', stroke: cssVar('--c1'), width: 2, points: { show: true } },
      { label: 'average score', scale: 'score', stroke: cssVar('--c2'), width: 2, dash: [6, 4], points: { show: true } }],
  }), [callsLabel]);
  const data = useMemo(() => [days.map((d) => dayTs(d.date)), days.map((d) => d.calls),
    days.map((d) => (isNum(d.avg) ? d.avg : null))], [days]);
  return <Chart opts={opts} data={data} height={220} label={label} />;
}
