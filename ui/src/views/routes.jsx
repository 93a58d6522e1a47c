// Routes (docs/routes.md): a dimension's routes (carrier, trunk, server, campaign) ranked by what
// got worse, as GET /api/qa/routes ranks them; one route over time with its change points marked
// on its chart, the changes with their example calls, its hang-up causes and its worst calls of
// the last day (GET /api/qa/route/DIM:NAME).
// The chart is SVG drawn here (a few hundred points; each change marker an element that says
// what it is). The stylesheet is app.css's; what is particular to these views is set as style
// properties (CSSOM, which the Content-Security-Policy allows).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { withQuery } from '../api.js';
import { useApi, V, MosValue, Loading, Failure, Empty, Icon } from '../components.jsx';
import { NA, isNum, signed } from '../fmt.js';

const DIMS = [['carrier', 'Carrier'], ['trunk', 'Trunk (far end)'], ['server', 'Dialer server'], ['campaign', 'Campaign']];
const DIM_LABEL = Object.fromEntries(DIMS);
const LIST_DAYS = ['1', '7', '14', '30', '90'];
const ROUTE_DAYS = ['7', '14', '30', '90', '365'];

// Each figure: its name, its unit in a cell, the unit of a change's size, digits, the model of a
// MOS (never mixed: each MOS is its own figure), and what its n counts.
const FIGS = {
  mos: { label: 'MOS', unit: 'MOS', size: 'MOS', d: 2, model: 'NISQA v2' },
  dnsmos: { label: 'MOS', unit: 'MOS', size: 'MOS', d: 2, model: 'DNSMOS P.835 OVRL' },
  net_mos: { label: 'Network MOS', unit: 'MOS', size: 'MOS', d: 2, model: 'ITU-T G.107 E-model', of: 'calls with a capture' },
  loss: { label: 'Packet loss', unit: '%', size: '% points', d: 2, of: 'calls with a capture' },
  jitter: { label: 'Jitter', unit: 'ms', size: 'ms', d: 1, of: 'calls with a capture' },
  pdd: { label: 'Post-dial delay', unit: 'ms', size: 'ms', d: 0, of: 'calls with a capture' },
  one_way: { label: 'One-way audio', unit: '%', size: '% points', d: 1, base: 'of calls' },
  dead_air: { label: 'Dead air', unit: '%', size: '% points', d: 1, base: 'of calls with 10 s or more' },
  dropouts: { label: 'Dropouts', unit: '/ min', size: '/ min', d: 2, base: 'per minute of speech' },
  clipping: { label: 'Clipping', unit: '%', size: '% points', d: 1, base: 'of calls' },
  score: { label: 'QA score', unit: '/ 100', size: 'points', d: 1, of: 'scored calls' },
  answered: { label: 'Answered', unit: '%', size: '% points', d: 1, base: 'of attempts', of: 'attempts' },
  dial: { label: 'Dial time', unit: 's', size: 's', d: 1, of: 'attempts' },
};
const FIG_KEYS = Object.keys(FIGS);

const BAD = { background: 'var(--bad-bg)', color: 'var(--bad)' };
const GOOD = { background: 'var(--good-bg)', color: 'var(--good)' };
const LIST = { margin: 0, paddingLeft: '1.1rem' };

// The figure's name as a person reads it: a MOS with its model.
function figName(k) {
  const f = FIGS[k];
  if (!f) return k;
  return f.model ? `${f.label} (${f.model})` : f.label;
}

// ... with its unit, for an axis or a choice: "Packet loss, %", "MOS (NISQA v2)"
function figUnit(k) {
  const f = FIGS[k];
  if (!f) return k;
  return f.unit === 'MOS' ? figName(k) : `${figName(k)}, ${f.unit}${f.base ? ` ${f.base}` : ''}`;
}

function figText(k, v) {
  const f = FIGS[k];
  if (!isNum(v)) return NA;
  return f ? `${v.toFixed(f.d)} ${f.unit}` : String(v);
}

// "2026-11-19T14:00:00Z" -> "Nov 19 14:00 UTC" (the API's times are UTC, and so is this)
const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const z2 = (n) => String(n).padStart(2, '0');
export function utcShort(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso || NA;
  return `${MON[d.getUTCMonth()]} ${d.getUTCDate()} ${z2(d.getUTCHours())}:${z2(d.getUTCMinutes())} UTC`;
}
const dayLabel = (epoch) => {
  const d = new Date(epoch * 1000);
  return `${MON[d.getUTCMonth()]} ${d.getUTCDate()}`;
};

// The links of these views: #/routes?dim=…&days=…, #/route/DIM:NAME?days=… (the colon kept).
const seg = (s) => encodeURIComponent(s).replace(/%3A/gi, ':');
export function routesHref(q) {
  return withQuery('#/routes', q);
}
export function routeHref(dim, name, q) {
  return withQuery(`#/route/${seg(dim)}:${seg(name)}`, q);
}

// The MOS thresholds of the badges (GET /api/qa/badges), by model: each MOS is coloured against
// its own model's, and DNSMOS, which has none, is not judged.
function useMosThresholds() {
  const { data } = useApi('api/qa/badges');
  return useMemo(() => {
    const t = {};
    for (const b of data || []) if (b.model && isNum(b.threshold) && /mos_low$/.test(b.code)) t[b.model] = b.threshold;
    return t;
  }, [data]);
}

// A figure {value, n} or null, with its unit; "—" (not measured) without a value.
function Fig({ k, f }) {
  if (!f || !isNum(f.value)) return <V v={null} />;
  const d = FIGS[k];
  return <span data-n={f.n} title={`over ${f.n} ${(d && d.of) || 'calls'}${d && d.base ? `; ${d.unit} ${d.base}` : ''}`}>{figText(k, f.value)}</span>;
}

// A MOS with its model beside it.
function Mos({ k, f, low }) {
  if (!f || !isNum(f.value)) return <V v={null} />;
  const model = f.model || FIGS[k].model;
  return (
    <span data-mos-model={model}>
      <MosValue v={f.value} lowBelow={low[model]} name={`route-${k}`} />{' '}
      <span class="model">{model}</span>
    </span>
  );
}

function Refused({ what }) {
  return (
    <p class="notice" role="alert" data-refused="403">
      You may not see {what}: a route spans every agent and campaign, so routes are shown only to
      analysts, supervisors and admins who see every call. Your sign-in does not (the service answered 403).
    </p>
  );
}

// A change as a badge: "MOS −0.60 (NISQA v2) since Nov 19 14:00 UTC", "Packet loss +1.50 % points
// since …"; red when worse, green when better (and said in words to a screen reader).
function ChangeBadge({ c }) {
  const f = FIGS[c.figure];
  const worse = c.direction === 'worse';
  const name = f ? f.label : c.figure;
  const title = `${figName(c.figure)}: ${figText(c.figure, c.before)} → ${figText(c.figure, c.after)}, ${c.direction}, `
    + `since ${c.since}, found ${c.found}, over ${c.calls} calls; ${c.method}`;
  return (
    <span class="badge chg" data-figure={c.figure} data-direction={c.direction} data-since={c.since}
      style={worse ? BAD : GOOD} title={title}>
      <Icon name={worse ? 'warning' : 'check'} />{' '}
      {name} {signed(c.size, f ? f.d : 2)}{f && f.size !== 'MOS' ? ` ${f.size}` : ''}
      {f && f.model ? ` (${f.model})` : ''} since {utcShort(c.since)}
      <span class="sr">{worse ? ' (worse)' : ' (better)'}</span>
    </span>
  );
}

// ---- the routes of a dimension ---------------------------------------------------------------

export function RoutesView({ query }) {
  const dim = DIM_LABEL[query.dim] ? query.dim : 'carrier';
  const days = LIST_DAYS.includes(query.days) ? query.days : '7';
  const path = withQuery('api/qa/routes', { dim, days });
  const got = useApi(path, { live: true });
  // what answers this URL's question only (not the last dimension's while the new one loads)
  const data = got.path === path ? got.data : null;
  const error = got.path === path ? got.error : null;
  const loading = got.loading || got.path !== path;
  const low = useMosThresholds();
  const pick = (q) => { location.hash = routesHref({ dim, days, ...q }); };
  const routes = (data && data.routes) || [];
  return (
    <section aria-labelledby="rt-h" class="routes-view">
      <h1 id="rt-h">Routes</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>Dimension <select id="rt-dim" value={dim} onChange={(e) => pick({ dim: e.currentTarget.value })}>
          {DIMS.map(([k, l]) => <option value={k}>{l}</option>)}</select></label>
        <label>Period <select id="rt-days" value={days} onChange={(e) => pick({ days: e.currentTarget.value })}>
          {LIST_DAYS.map((d) => <option value={d}>{d === '1' ? 'today' : `last ${d} days`}</option>)}</select></label>
      </form>
      {error && error.status === 403 ? <Refused what="the routes" /> : <Failure error={error} what="the routes" />}
      {loading && !data && <Loading what="the routes" />}
      {data && (
        <p class="note">
          {data.from} – {data.to} against {data.previous_from} – {data.previous_to}. Ranked by what got worse: first
          the changes found in the worse direction during the period, then the largest worsening of a figure against
          the period before, in standard errors (a figure with fewer than {data.min_n} values on either side is not judged).
        </p>
      )}
      {data && data.truncated && <p class="notice">Only the first {routes.length} routes are listed.</p>}
      {data && !routes.length && <Empty>No {DIM_LABEL[dim].toLowerCase()} route has calls in this period.</Empty>}
      {routes.length > 0 && (
        <div class="scroll"><table class="routes">
          <caption>{DIM_LABEL[dim]} routes, last {days === '1' ? 'day' : `${days} days`}, the worst first</caption>
          <thead><tr>
            <th scope="col">Rank</th><th scope="col">{DIM_LABEL[dim]}</th><th scope="col">Calls</th>
            <th scope="col">Attempts</th><th scope="col" title="answered attempts, % of attempts">Answered</th>
            <th scope="col">MOS (model)</th><th scope="col">Network MOS (model)</th>
            <th scope="col" title="packet loss of the calls with a capture">Loss</th>
            <th scope="col" title="% of calls with one-way audio">One-way</th>
            <th scope="col" title="% of calls with 10 s or more of dead air">Dead air</th>
            <th scope="col">QA score</th><th scope="col">What got worse</th>
          </tr></thead>
          <tbody>{routes.map((r, i) => {
            const f = r.figures || {};
            const worseChanges = (r.changes || []).filter((c) => c.direction === 'worse');
            const href = routeHref(dim, r.name, { days: 30 });
            return (
              <tr key={r.name} data-route={r.name} data-worse-changes={r.worse_changes} style={{ cursor: 'pointer' }}
                onClick={(e) => { if (!e.target.closest('a, button')) location.hash = href; }}>
                <td class="num">{i + 1}</td>
                <th scope="row"><a href={href}>{r.name}</a></th>
                <td class="num" data-fig="calls">{f.calls} calls<div class="sub">{f.analysed} analysed</div></td>
                <td class="num" data-fig="attempts"><V v={f.attempts} text={`${f.attempts}`} /></td>
                <td class="num" data-fig="answered"><Fig k="answered" f={f.answered} /></td>
                <td data-fig="mos"><Mos k="mos" f={f.mos} low={low} />
                  {f.dnsmos && <div><Mos k="dnsmos" f={f.dnsmos} low={low} /></div>}</td>
                <td data-fig="net_mos"><Mos k="net_mos" f={f.net_mos} low={low} /></td>
                <td class="num" data-fig="loss"><Fig k="loss" f={f.loss} /></td>
                <td class="num" data-fig="one_way"><Fig k="one_way" f={f.one_way} /></td>
                <td class="num" data-fig="dead_air"><Fig k="dead_air" f={f.dead_air} /></td>
                <td class="num" data-fig="score"><Fig k="score" f={f.score} /></td>
                <td class="worse">
                  {worseChanges.map((c) => <ChangeBadge c={c} />)}
                  {(r.worse || []).length > 0 && (
                    <ul style={LIST} class="worse-figs">{r.worse.map((w) => (
                      <li data-figure={w.figure}>{figName(w.figure)} {figText(w.figure, w.before)} → {figText(w.figure, w.now)}{' '}
                        <span class="sub">({w.z.toFixed(1)} <abbr title="standard errors worse than the period before">SE</abbr>)</span></li>))}</ul>
                  )}
                  {!worseChanges.length && !(r.worse || []).length && <span class="sub">nothing</span>}
                </td>
              </tr>);
          })}</tbody>
        </table></div>
      )}
    </section>
  );
}

// ---- one route -------------------------------------------------------------------------------

const Q850 = {
  1: 'unallocated number', 3: 'no route to destination', 16: 'normal clearing', 17: 'user busy', 18: 'no user responding',
  19: 'no answer', 20: 'subscriber absent', 21: 'call rejected', 22: 'number changed', 27: 'destination out of order',
  28: 'invalid number format', 31: 'normal, unspecified', 34: 'no circuit available', 38: 'network out of order',
  41: 'temporary failure', 42: 'switching equipment congestion', 44: 'requested channel not available',
  47: 'resource unavailable', 58: 'bearer capability not available', 88: 'incompatible destination',
  102: 'recovery on timer expiry', 127: 'interworking, unspecified',
};
const SIP = {
  200: 'OK', 403: 'Forbidden', 404: 'Not Found', 408: 'Request Timeout', 410: 'Gone', 480: 'Temporarily Unavailable',
  484: 'Address Incomplete', 486: 'Busy Here', 487: 'Request Terminated', 488: 'Not Acceptable Here',
  500: 'Server Internal Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Server Time-out', 603: 'Decline',
};
const KIND = { dialstatus: "Dial status (the dialer's)", q850: 'Q.850 cause', sip: 'SIP response' };

function CausesTable({ causes }) {
  if (!causes.length) {
    return <Empty>No call attempt of this route in the period: hang-up causes come from the dialer's call attempts
      (carrier and server routes only).</Empty>;
  }
  const total = {};
  for (const c of causes) total[c.kind] = (total[c.kind] || 0) + c.n;
  const named = (c) => (c.kind === 'q850' ? Q850[c.cause] : c.kind === 'sip' ? SIP[c.cause] : null);
  return (
    <table class="narrow causes">
      <caption>The attempts' hang-up causes over the period, per kind</caption>
      <thead><tr><th scope="col">Kind</th><th scope="col">Cause</th><th scope="col">Attempts</th><th scope="col">Share of the kind</th></tr></thead>
      <tbody>{causes.map((c) => (
        <tr data-kind={c.kind} data-cause={c.cause}>
          <td>{KIND[c.kind] || c.kind}</td>
          <th scope="row">{c.cause}{named(c) && <span class="sub"> {named(c)}</span>}</th>
          <td class="num">{c.n} attempts</td>
          <td class="num">{total[c.kind] ? `${(100 * c.n / total[c.kind]).toFixed(1)} %` : NA}</td>
        </tr>))}</tbody>
    </table>
  );
}

function CallLinks({ ids }) {
  if (!ids || !ids.length) return <span class="sub">none</span>;
  return <>{ids.map((id, i) => <>{i > 0 && ', '}<a href={`#/call/${encodeURIComponent(id)}`} data-call={id}>{id}</a></>)}</>;
}

function ChangesTable({ changes, fig, onShow }) {
  if (!changes.length) return <Empty>No change found on this route.</Empty>;
  return (
    <div class="scroll"><table class="changes">
      <caption>Every change found on this route: when it began (the first hour of the new level) and when the test found it</caption>
      <thead><tr><th scope="col">Figure</th><th scope="col">Change</th><th scope="col">Since</th><th scope="col">Found</th>
        <th scope="col">Before → after</th><th scope="col">Weighed on</th><th scope="col">Method</th><th scope="col">Example calls</th></tr></thead>
      <tbody>{changes.map((c) => (
        <tr data-figure={c.figure} data-direction={c.direction} data-since={c.since}>
          <th scope="row">{figName(c.figure)}
            {c.figure !== fig && FIGS[c.figure] && <div><button type="button" class="ghost seek" onClick={() => onShow(c.figure)}>show on the chart</button></div>}</th>
          <td><ChangeBadge c={c} /></td>
          <td>{utcShort(c.since)}</td>
          <td>{utcShort(c.found)}</td>
          <td class="num">{figText(c.figure, c.before)} → {figText(c.figure, c.after)}</td>
          <td class="num">{c.calls} calls</td>
          <td class="method"><details><summary>{(c.method || '').split(' of ')[0] || NA}</summary><span class="sub">{c.method}</span></details></td>
          <td class="examples"><CallLinks ids={c.examples} /></td>
        </tr>))}</tbody>
    </table></div>
  );
}

// Round numbers for an axis from lo to hi.
function ticks(lo, hi, count = 5) {
  const span = hi - lo || 1;
  const raw = span / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toFixed(10));
  const frac = String(+step.toPrecision(3)).split('.')[1];
  return { out, step, digits: frac ? Math.min(4, frac.length) : 0 };
}

const H = 280;
const M = { l: 64, r: 18, t: 40, b: 30 };

// One figure of a route over time: a line (a gap where an hour or day has no value), each change
// of that figure a vertical line at its start labelled before → after.
function RouteChart({ points, x0, x1, step, fig, changes, describe }) {
  const box = useRef(null);
  const [w, setW] = useState(900);
  const [hover, setHover] = useState(null);
  useEffect(() => {
    const el = box.current;
    const size = () => setW(Math.max(320, el.clientWidth - 2));
    size();
    const ro = new ResizeObserver(size);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const f = FIGS[fig];
  const vals = points.filter((p) => isNum(p.v));
  const marks = changes.filter((c) => c.figure === fig).map((c) => ({ ...c, t: Date.parse(c.since) / 1000 }))
    .filter((c) => c.t >= x0 && c.t <= x1).sort((a, b) => a.t - b.t);
  const ys = vals.map((p) => p.v).concat(marks.flatMap((c) => [c.before, c.after]).filter(isNum));
  let lo = Math.min(...ys);
  let hi = Math.max(...ys);
  const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.05 || 1;
  lo -= pad;
  hi += pad;
  if (f && (f.unit === '%' || fig === 'score' || fig === 'dial' || fig === 'jitter' || fig === 'pdd' || fig === 'dropouts')) lo = Math.max(0, lo);
  if (f && f.unit === 'MOS') { lo = Math.max(1, lo); hi = Math.min(5, hi); }
  if (f && f.unit === '%') hi = Math.min(100, hi);
  if (!(hi > lo)) hi = lo + 1;
  const yt = ticks(lo, hi);
  const pw = w - M.l - M.r;
  const ph = H - M.t - M.b;
  const X = (t) => M.l + ((t - x0) / (x1 - x0)) * pw;
  const Y = (v) => M.t + (1 - (v - lo) / (hi - lo)) * ph;
  // the line, broken where a point is missing or has no value
  let d = '';
  let prev = null;
  for (const p of points) {
    if (!isNum(p.v)) { prev = null; continue; }
    d += `${prev && p.t - prev.t <= step * 1.5 ? 'L' : 'M'}${X(p.t).toFixed(1)},${Y(p.v).toFixed(1)}`;
    prev = p;
  }
  // day ticks at 00:00 UTC, as many as fit 70 px apart
  const dayTicks = [];
  const pxDay = (86400 / (x1 - x0)) * pw;
  const every = Math.max(1, Math.ceil(70 / pxDay));
  for (let t = Math.ceil(x0 / 86400) * 86400, i = 0; t <= x1; t += 86400, i++) {
    if (i % every === 0 && X(t) <= w - M.r - 16) dayTicks.push(t);
  }
  const onMove = (e) => {
    if (!vals.length) return;
    const r = e.currentTarget.getBoundingClientRect();
    const t = x0 + ((e.clientX - r.left - M.l) / pw) * (x1 - x0);
    let best = null;
    for (const p of vals) if (!best || Math.abs(p.t - t) < Math.abs(best.t - t)) best = p;
    setHover(best);
  };
  const label = `${figName(fig)} ${describe}, ${vals.length} points with a value`
    + (marks.length ? `; ${marks.length} change${marks.length > 1 ? 's' : ''} marked: ${marks.map((c) => `${c.direction} since ${utcShort(c.since)}, ${figText(fig, c.before)} to ${figText(fig, c.after)}`).join('; ')}` : '');
  const stroke = (v) => ({ stroke: v });
  return (
    <div class="chart" ref={box}>
      <svg class="route-chart" width={w} height={H} viewBox={`0 0 ${w} ${H}`} role="img" aria-label={label}
        data-figure={fig} data-x0={x0} data-x1={x1} data-left={M.l} data-right={w - M.r}
        onMouseMove={onMove} onMouseLeave={() => setHover(null)} style={{ display: 'block', fontSize: '12px' }}>
        {yt.out.map((v) => (
          <g class="ytick">
            <line x1={M.l} x2={w - M.r} y1={Y(v)} y2={Y(v)} style={stroke('var(--line)')} />
            <text x={M.l - 6} y={Y(v) + 4} text-anchor="end" style={{ fill: 'var(--muted)' }}>{v.toFixed(yt.digits)}</text>
          </g>))}
        <text x={M.l} y={14} style={{ fill: 'var(--muted)' }}>{figUnit(fig)}</text>
        {dayTicks.map((t) => (
          <g class="xtick">
            <line x1={X(t)} x2={X(t)} y1={M.t + ph} y2={M.t + ph + 4} style={stroke('var(--muted)')} />
            <text x={X(t)} y={M.t + ph + 18} text-anchor="middle" style={{ fill: 'var(--muted)' }}>{dayLabel(t)}</text>
          </g>))}
        <line x1={M.l} x2={w - M.r} y1={M.t + ph} y2={M.t + ph} style={stroke('var(--muted)')} />
        <path class="series" d={d} style={{ fill: 'none', stroke: 'var(--c1)', strokeWidth: 1.6 }} />
        {step >= 86400 && vals.map((p) => <circle cx={X(p.t)} cy={Y(p.v)} r={2.5} style={{ fill: 'var(--c1)' }} />)}
        {marks.map((c, i) => {
          const x = X(c.t);
          const next = marks[i + 1] ? X(marks[i + 1].t) : w - M.r;
          const prevX = i ? X(marks[i - 1].t) : M.l;
          const colour = c.direction === 'worse' ? 'var(--bad)' : 'var(--good)';
          const right = x < M.l + pw * 0.6;
          const text = `${figText(fig, c.before)} → ${figText(fig, c.after)}`;
          return (
            <g class="change-mark" data-figure={c.figure} data-since={c.since} data-direction={c.direction} data-x={x.toFixed(1)}>
              <title>{`${c.direction === 'worse' ? 'Worse' : 'Better'} since ${utcShort(c.since)} (found ${utcShort(c.found)}): ${text}, over ${c.calls} calls`}</title>
              {isNum(c.before) && <line x1={prevX} x2={x} y1={Y(c.before)} y2={Y(c.before)} style={{ stroke: colour, strokeDasharray: '2 4', opacity: 0.8 }} />}
              {isNum(c.after) && <line x1={x} x2={next} y1={Y(c.after)} y2={Y(c.after)} style={{ stroke: colour, strokeDasharray: '2 4', opacity: 0.8 }} />}
              <line class="at" x1={x} x2={x} y1={M.t - 12} y2={M.t + ph} style={{ stroke: colour, strokeWidth: 2, strokeDasharray: '6 3' }} />
              <text x={right ? x + 5 : x - 5} y={M.t - 16 + (i % 2) * 12} text-anchor={right ? 'start' : 'end'}
                style={{ fill: colour, fontWeight: 600 }}>{text}, {utcShort(c.since)}</text>
            </g>);
        })}
        {hover && <line x1={X(hover.t)} x2={X(hover.t)} y1={M.t} y2={M.t + ph} style={{ stroke: 'var(--focus)', opacity: 0.7 }} />}
      </svg>
      <p class="sub readout" aria-live="off" style={{ margin: '0.2rem 0 0 0.3rem' }}>
        {hover ? `${hover.key}${step < 86400 ? ' h (the dialer\'s clock)' : ''}: ${figText(fig, hover.v)} over ${hover.n} ${(f && f.of) || 'calls'} (${hover.calls} calls in all)`
          : 'Point at the chart to read an hour\'s or a day\'s figure.'}
      </p>
    </div>
  );
}

function parseId(id) {
  const i = id.indexOf(':');
  return i > 0 ? { dim: id.slice(0, i), name: id.slice(i + 1) } : { dim: 'carrier', name: id };
}

export function RouteView({ id, query }) {
  const { dim, name } = parseId(id);
  const days = /^\d+$/.test(query.days || '') ? query.days : '30';
  const path = `api/qa/route/${seg(dim)}:${seg(name)}?days=${days}`;
  const got = useApi(path);
  const r = got.path === path ? got.data : null;
  const error = got.path === path ? got.error : null;
  const loading = got.loading || got.path !== path;
  const nav = (q) => { location.hash = routeHref(dim, name, { days, fig: query.fig, by: query.by, ...q }); };
  const changes = (r && r.changes) || [];
  const hours = (r && r.hours) || [];
  const dayRows = (r && r.days) || [];
  const has = (k) => dayRows.some((row) => row[k] && isNum(row[k].value));
  const firstWorse = changes.find((c) => c.direction === 'worse' && FIGS[c.figure]);
  const fig = FIGS[query.fig] ? query.fig
    : firstWorse ? firstWorse.figure : FIG_KEYS.find((k) => has(k)) || 'mos';
  const by = query.by === 'day' || !hours.length ? 'day' : 'hour';
  const hourDays = Math.min(+days, 14);
  const chart = useMemo(() => {
    if (!r) return null;
    if (by === 'hour') {
      const end = Date.parse(`${r.to}T00:00:00Z`) / 1000 + 86400;
      return {
        points: hours.map((h) => ({ t: Math.floor(h.t / 3600) * 3600, key: h.hour, v: h[fig] ? h[fig].value : null, n: h[fig] ? h[fig].n : 0, calls: h.calls })),
        x0: end - hourDays * 86400, x1: end, step: 3600, describe: `per hour, the last ${hourDays} days`,
      };
    }
    return {
      points: dayRows.map((x) => ({ t: Date.parse(`${x.day}T12:00:00Z`) / 1000, key: x.day, v: x[fig] ? x[fig].value : null, n: x[fig] ? x[fig].n : 0, calls: x.calls })),
      x0: Date.parse(`${r.from}T00:00:00Z`) / 1000, x1: Date.parse(`${r.to}T00:00:00Z`) / 1000 + 86400, step: 86400,
      describe: `per day, ${r.from} to ${r.to}`,
    };
  }, [r, by, fig]);
  const calls = dayRows.reduce((s, x) => s + (x.calls || 0), 0);
  const attempts = dayRows.some((x) => isNum(x.attempts)) ? dayRows.reduce((s, x) => s + (x.attempts || 0), 0) : null;
  const worse = changes.filter((c) => c.direction === 'worse').length;
  const hidden = chart ? changes.filter((c) => c.figure === fig && !(Date.parse(c.since) / 1000 >= chart.x0 && Date.parse(c.since) / 1000 <= chart.x1)).length : 0;
  const worst = (r && r.worst_calls) || {};
  return (
    <section aria-labelledby="route-h" class="route-view">
      <p class="crumbs"><a href={routesHref({ dim, days: 7 })}>Routes</a> › {DIM_LABEL[dim] ? DIM_LABEL[dim].toLowerCase() : dim}</p>
      <h1 id="route-h">{DIM_LABEL[dim] || dim} {name}</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>Period <select id="route-days" value={days} onChange={(e) => nav({ days: e.currentTarget.value })}>
          {(ROUTE_DAYS.includes(days) ? ROUTE_DAYS : [days, ...ROUTE_DAYS]).map((d) => <option value={d}>last {d} days</option>)}</select></label>
        <label>Figure <select id="route-fig" value={fig} onChange={(e) => nav({ fig: e.currentTarget.value })}>
          {FIG_KEYS.map((k) => <option value={k}>{figUnit(k)}{r && !has(k) ? ' (not measured)' : ''}</option>)}</select></label>
        <label>Resolution <select id="route-by" value={by} onChange={(e) => nav({ by: e.currentTarget.value })}>
          <option value="hour" disabled={!hours.length}>per hour, the last {hourDays} days</option>
          <option value="day">per day, the last {days} days</option></select></label>
      </form>
      {error && error.status === 403 ? <Refused what="this route" />
        : error && error.status === 404 ? <p class="note not-found">No call on this route in the last {days} days.</p>
          : <Failure error={error} what="the route" />}
      {loading && !r && <Loading what="the route" />}
      {r && (
        <>
          <dl class="figures">
            <dt>Period</dt><dd>{r.from} – {r.to} (the dialer's days)</dd>
            <dt>Calls</dt><dd>{calls} calls</dd>
            <dt>Attempts</dt><dd><V v={attempts} text={`${attempts} attempts`} /></dd>
            <dt>Changes found</dt><dd>{changes.length} ({worse} worse, {changes.length - worse} better)</dd>
          </dl>
          <h2>{figName(fig)} over time</h2>
          {chart && chart.points.some((p) => isNum(p.v))
            ? <RouteChart {...chart} fig={fig} changes={changes} />
            : <p class="note no-values"><V v={null} /> {figName(fig)} was not measured on this route in this period.</p>}
          {hidden > 0 && <p class="note">{hidden} change{hidden > 1 ? 's' : ''} of this figure began outside the chart: see the list below{by === 'hour' ? ', or show it per day' : ''}.</p>}
          <h2>Changes</h2>
          <ChangesTable changes={changes} fig={fig} onShow={(k) => nav({ fig: k })} />
          <h2>Hang-up causes</h2>
          <CausesTable causes={r.causes || []} />
          <h2>Worst calls of {r.to}</h2>
          <table class="narrow worst">
            <caption>The route's worst calls of its last day, by what a listener hears (up to 5 each, the worst first)</caption>
            <tbody>
              <tr data-worst="mos"><th scope="row">Lowest MOS</th><td><CallLinks ids={worst.mos} /></td></tr>
              <tr data-worst="loss"><th scope="row">Most packet loss</th><td><CallLinks ids={worst.loss} /></td></tr>
              <tr data-worst="one_way"><th scope="row">One-way audio</th><td><CallLinks ids={worst.one_way} /></td></tr>
              <tr data-worst="dead_air"><th scope="row">Most dead air</th><td><CallLinks ids={worst.dead_air} /></td></tr>
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
