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

// Icons, drawn (inline SVG on a 16-unit grid, in the text's colour and size): a font may lack a
// symbol, and its box is no icon. Each is a list of [element, attributes]; stroked unless filled.
const ICONS = {
  one_way: [['path', { d: 'M2 8h9M8 4.5 11.5 8 8 11.5M14 3v10' }]],
  dead_air: [['circle', { cx: 8, cy: 8, r: 5 }], ['path', { d: 'M3 13 13 3' }]],
  clipping: [['path', { d: 'M1 8 3.5 3h3L9.5 13h3L15 8' }], ['path', { d: 'M1 3h14M1 13h14', 'stroke-width': 0.8, 'stroke-dasharray': '1.5 1.5' }]],
  low_level: [['path', { d: 'M8 2v11M4 9l4 4 4-4' }]],
  fake_stereo: [['path', { d: 'M3 6h10M3 10h10' }]],
  swapped_legs: [['path', { d: 'M2 5h11M10 2l3 3-3 3M14 11H3M6 8l-3 3 3 3' }]],
  mos_low: [['path', { d: 'M7 12V3.5l6-1.5v8' }], ['circle', { cx: 5, cy: 12, r: 2, fill: 'currentColor' }], ['circle', { cx: 11, cy: 10, r: 2, fill: 'currentColor' }]],
  network_mos_low: [['path', { d: 'M2 6.5c2-2 4 2 6 0s4-2 6 0M2 10.5c2-2 4 2 6 0s4-2 6 0' }]],
  flagged: [['path', { d: 'M4 14.5V2' }], ['path', { d: 'M4 2.5h8.5L10.5 5.5l2 3H4z', fill: 'currentColor' }]],
  alert: [['path', { d: 'M8 2.5v7M8 12.5v1' }]],
  warning: [['path', { d: 'M8 1.8 15 14.2H1z', 'stroke-linejoin': 'round' }], ['path', { d: 'M8 6v4M8 11.8v.6' }]],
  check: [['path', { d: 'M2.5 8.5 6 12l7.5-8' }]],
  sort_asc: [['path', { d: 'M8 4 13 11H3z', fill: 'currentColor', stroke: 'none' }]],
  sort_desc: [['path', { d: 'M8 12 3 5h10z', fill: 'currentColor', stroke: 'none' }]],
  dot: [['circle', { cx: 8, cy: 8, r: 4.5, fill: 'currentColor' }]],
  ring: [['circle', { cx: 8, cy: 8, r: 4.5 }]],
  prev: [['path', { d: 'M14 8H2.5M6.5 4 2.5 8l4 4' }]],
  next: [['path', { d: 'M2 8h11.5M9.5 4l4 4-4 4' }]],
};

// An icon by name, hidden from screen readers (the text beside it says the same).
export function Icon({ name }) {
  const parts = ICONS[name] || ICONS.alert;
  return (
    <svg class={`icon i-${name}`} viewBox="0 0 16 16" width="1em" height="1em" aria-hidden="true" focusable="false"
      fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round">
      {parts.map(([El, attrs]) => <El {...attrs} />)}
    </svg>
  );
}

// The problem badges: text, a drawn icon and a colour (colour is never the only sign).
const BADGE = {
  one_way: 'One-way audio',
  dead_air: 'Dead air',
  clipping: 'Clipping',
  low_level: 'Low level',
  fake_stereo: 'Fake stereo',
  swapped_legs: 'Swapped legs',
  mos_low: 'Low MOS',
  network_mos_low: 'Low network MOS',
  flagged: 'Flagged',
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
  const label = BADGE[code] || code.replace(/_/g, ' ');
  return <span class={`badge b-${code}`} title={(rules && rules[code]) || undefined}>
    <Icon name={BADGE[code] ? code : 'alert'} /> {label}</span>;
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
