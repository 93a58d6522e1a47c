// The network side of a call, when a capture lay beside its recording or came with it: the
// investigation's explanation, the findings of the call's dialog, its SIP ladder and its RTP
// streams (GET /api/qa/call/{id}: `network`, `network_error`; docs/network.md).
import { MosValue, V } from '../components.jsx';
import { duration, fixed, isNum, withUnit } from '../fmt.js';

// At most this many messages of a dialog are drawn on the ladder (and streams in the table).
export const LADDER_MAX = 200;

const SEV_RANK = { critical: 0, major: 1, minor: 2, info: 3 };

// "10.0.0.1:5060", "[2001:db8::1]:5060"
function endpoint(addr, port) {
  const a = String(addr);
  return `${a.includes(':') ? `[${a}]` : a}:${port}`;
}

// What a message says on its arrow: the method, or the status and reason.
function msgLabel(m) {
  if (m.method) return m.method;
  if (isNum(m.status)) return `${m.status}${m.reason ? ` ${m.reason}` : ''}`;
  return 'message';
}

function msgClass(m) {
  if (m.method) return 'req';
  if (m.status >= 400) return 'resp r-fail';
  if (m.status >= 200) return 'resp r-ok';
  return 'resp r-prov';
}

// The legs of the dialog's call across a B2BUA or an SBC (the dialogs with its call_ref), the
// dialog itself when it is alone; in leg order.
export function legsOf(net, dlg) {
  const all = net.dialogs || [];
  if (!dlg.call_ref || !(dlg.legs > 1)) return [dlg];
  return all.filter((d) => d && d.call_ref === dlg.call_ref)
    .sort((a, b) => (a.leg ?? 0) - (b.leg ?? 0));
}

// The messages of the call's legs (at most LADDER_MAX), in capture order, with the columns they
// use: one per address:port, the first leg's caller first, then its callee, then the others as
// they appear (a B2BUA's own address once: it is the first leg's callee and the next's caller).
export function ladderOf(net, dlg0) {
  const sip = net.sip || [];
  const legs = legsOf(net, dlg0);
  const dlg = legs[0];
  const legOf = new Map();
  for (const d of legs) for (const i of d.messages || []) legOf.set(i, (d.leg ?? 0) + 1);
  const idx = [...legOf.keys()].filter((i) => Number.isInteger(i) && sip[i]).sort((a, b) => a - b);
  const msgs = idx.slice(0, LADDER_MAX).map((i) => sip[i]);
  const cols = [];
  const colOf = new Map();
  const add = (key, label) => {
    if (!colOf.has(key)) { colOf.set(key, cols.length); cols.push({ key, label }); }
    return colOf.get(key);
  };
  // the caller and callee as the dialog names them ("addr:port")
  const wire = (a, p) => `${a}:${p}`;
  const first = msgs.find((m) => wire(m.src, m.src_port) === dlg.caller) ||
    msgs.find((m) => wire(m.dst, m.dst_port) === dlg.caller);
  if (dlg.caller && first) {
    const fromCaller = wire(first.src, first.src_port) === dlg.caller;
    add(dlg.caller, fromCaller ? endpoint(first.src, first.src_port) : endpoint(first.dst, first.dst_port));
  }
  const t0 = msgs.length ? msgs[0].time_sec : 0;
  const rows = msgs.map((m, k) => {
    const from = add(wire(m.src, m.src_port), endpoint(m.src, m.src_port));
    const to = add(wire(m.dst, m.dst_port), endpoint(m.dst, m.dst_port));
    const rel = isNum(m.time_sec) && isNum(t0) ? m.time_sec - t0 : null;
    return { m, from, to, rel, label: msgLabel(m), leg: legs.length > 1 ? legOf.get(idx[k]) : null };
  });
  const last = legs[legs.length - 1];
  for (const c of cols) {
    c.role = c.key === dlg.caller ? 'caller' : c.key === last.callee ? 'callee'
      : legs.length > 1 && legs.some((d) => d.callee === c.key) ? 'B2BUA' : '';
  }
  return { cols, rows, total: idx.length, legs: legs.length };
}

const COL_W = 190;
const GUTTER = 84;
const HEAD = 46;
const ROW_H = 30;

function rowText(r, cols) {
  const m = r.m;
  const when = isNum(r.rel) ? `${r.rel.toFixed(3)} s` : 'time unknown';
  const extra = [r.leg ? `leg ${r.leg}` : null, m.transport, isNum(m.frame) ? `frame ${m.frame}` : null,
    m.cseq_method ? `CSeq ${isNum(m.cseq) ? `${m.cseq} ` : ''}${m.cseq_method}` : null].filter(Boolean).join(', ');
  return `${when}: ${r.label} from ${cols[r.from].label} to ${cols[r.to].label}${extra ? ` (${extra})` : ''}`;
}

// The SIP ladder as an SVG: a lifeline per address:port, an arrow per message from its sender to
// its receiver, the time relative to the dialog's first message on the left. Each row is a list
// item labelled with its whole text (and titled with it, for the pointer).
export function Ladder({ net, dlg }) {
  const { cols, rows, total, legs } = ladderOf(net, dlg);
  if (!rows.length) return <p class="note">No SIP message of this dialog in the capture.</p>;
  const width = GUTTER + cols.length * COL_W + 20;
  const height = HEAD + rows.length * ROW_H + 10;
  const cx = (c) => GUTTER + c * COL_W + COL_W / 2;
  return (
    <>
      <div class="scroll ladder-box" tabIndex={0} role="region" aria-label="SIP ladder (scrolls)">
        <svg class="ladder" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="list"
          aria-label={`SIP ladder of the call${legs > 1 ? ` (${legs} legs)` : ''}: ${rows.length} messages between ${cols.map((c) => c.label).join(', ')}`}>
          <g class="cols" role="presentation">
            <text class="t-time" x={GUTTER - 10} y={18} text-anchor="end" aria-hidden="true">time (s)</text>
            {cols.map((c, i) => (
              <g data-col={i} aria-hidden="true">
                <text class="col-head" x={cx(i)} y={18} text-anchor="middle">{c.label}</text>
                {c.role && <text class="col-role" x={cx(i)} y={34} text-anchor="middle">{c.role}</text>}
                <line class="life" x1={cx(i)} y1={HEAD - 6} x2={cx(i)} y2={height - 4} />
              </g>))}
          </g>
          {rows.map((r, i) => {
            const y = HEAD + i * ROW_H + ROW_H - 8;
            const x1 = cx(r.from), x2 = cx(r.to);
            const dir = r.from === r.to ? 'self' : x2 > x1 ? 'right' : 'left';
            const text = rowText(r, cols);
            const tip = dir === 'right' ? x2 - 2 : dir === 'left' ? x2 + 2 : x1 + 2;
            const head = dir === 'left' ? `${tip},${y} ${tip + 9},${y - 4} ${tip + 9},${y + 4}`
              : `${tip},${y} ${tip - 9},${y - 4} ${tip - 9},${y + 4}`;
            return (
              <g class={`msg ${msgClass(r.m)}`} role="listitem" aria-label={text} data-row={i} data-from={r.from}
                data-to={r.to} data-dir={dir} data-label={r.label}>
                <title>{text}</title>
                <rect class="hit" x={0} y={y - ROW_H + 8} width={width} height={ROW_H} />
                <text class="t-time" x={GUTTER - 10} y={y + 4} text-anchor="end">{isNum(r.rel) ? r.rel.toFixed(3) : '—'}</text>
                {dir === 'self' ? (
                  <>
                    <path class="arrow" d={`M ${x1} ${y - 8} h 28 v 8 h -26`} />
                    <polygon class="head" points={`${x1 + 2},${y} ${x1 + 11},${y - 4} ${x1 + 11},${y + 4}`} />
                    <text class="label" x={x1 + 34} y={y - 2}>{r.label}</text>
                  </>
                ) : (
                  <>
                    <line class="arrow" x1={x1} y1={y} x2={dir === 'right' ? tip - 8 : tip + 8} y2={y} />
                    <polygon class="head" points={head} />
                    <text class="label" x={(x1 + x2) / 2} y={y - 5} text-anchor="middle">{r.label}</text>
                  </>
                )}
              </g>);
          })}
        </svg>
      </div>
      {total > rows.length && <p class="note ladder-more">The {legs > 1 ? 'call\'s legs have' : 'dialog has'} {total} messages: the first {rows.length} are drawn, {total - rows.length} more are not.</p>}
    </>
  );
}

function Streams({ net, dlg, lowBelow }) {
  const all = net.streams || [];
  const idx = (dlg.streams || []).filter((i) => Number.isInteger(i) && all[i]);
  if (!idx.length) return <p class="note">No RTP stream of this dialog in the capture.</p>;
  const shown = idx.slice(0, LADDER_MAX);
  return (
    <>
      <div class="scroll">
        <table class="streams">
          <caption class="sr">RTP streams of the call's dialog</caption>
          <thead><tr><th scope="col">From → to</th><th scope="col">SSRC</th><th scope="col">Codec (payload)</th>
            <th scope="col" class="num">Packets</th><th scope="col" class="num">Lost</th><th scope="col" class="num">Max jitter</th>
            <th scope="col" class="num">Network MOS (adaptive buffer)</th><th scope="col">Digits (RFC 4733)</th></tr></thead>
          <tbody>
            {shown.map((i) => {
              const s = all[i];
              const nm = s.network_mos;
              const ad = nm && nm.jitter_buffers && nm.jitter_buffers.adaptive_500ms;
              const pts = Array.isArray(s.payload_types) && s.payload_types.length ? `PT ${s.payload_types.join(', ')}` : null;
              return (
                <tr data-stream={i}>
                  <th scope="row">{endpoint(s.src, s.src_port)} → {endpoint(s.dst, s.dst_port)}</th>
                  <td><code>{s.ssrc || '—'}</code></td>
                  <td>{nm && nm.codec ? nm.codec : (s.payload || '—')}
                    <div class="sub">{[nm && nm.codec && s.payload ? s.payload : null, pts].filter(Boolean).join(' · ')}</div></td>
                  <td class="num"><V v={s.packets} /></td>
                  <td class="num"><V v={s.lost_pct} text={`${fixed(s.lost_pct, 1)} %${isNum(s.lost) ? ` (${s.lost})` : ''}`} /></td>
                  <td class="num"><V v={s.max_jitter_ms} text={withUnit(s.max_jitter_ms, 'ms', 1)} /></td>
                  <td class="num">{ad ? <MosValue v={ad.mos} lowBelow={lowBelow} name={`stream-${i}`} /> : <V v={null} />}
                    {nm && nm.model && <div class="sub model">{nm.model}</div>}</td>
                  <td>{s.digits ? <code class="digits">{s.digits}</code> : <V v={null} />}</td>
                </tr>);
            })}
          </tbody>
        </table>
      </div>
      {idx.length > shown.length && <p class="note">{idx.length - shown.length} more streams are not shown.</p>}
    </>
  );
}

// The call's legs across a B2BUA or an SBC, each with the link that joined it.
function Legs({ net, dlg }) {
  const legs = legsOf(net, dlg);
  if (legs.length < 2) return null;
  return (
    <>
      <h3>Legs of the call</h3>
      <ol class="legs">{legs.map((d) => (
        <li data-leg={d.leg} class={d === dlg ? 'this-leg' : ''}>
          <code>{d.call_id}</code> {d.caller || '—'} → {d.callee || '—'}
          {d.linked_by ? <span class="sub"> · linked by {d.linked_by}{d.link_detail ? `: ${d.link_detail}` : ''}</span> : <span class="sub"> · the first leg</span>}
        </li>))}</ol>
    </>
  );
}

function Dialog({ dlg }) {
  const outcome = isNum(dlg.final_status) ? `${dlg.final_status}${dlg.final_reason ? ` ${dlg.final_reason}` : ''}`
    : dlg.cancelled ? 'cancelled' : 'no final answer';
  return (
    <dl class="kv dialog">
      <dt>Call-ID</dt><dd><code>{dlg.call_id}</code></dd>
      <dt>From → to</dt><dd>{dlg.from || '—'} → {dlg.to || '—'}</dd>
      <dt>Caller → callee</dt><dd>{dlg.caller || '—'} → {dlg.callee || '—'}</dd>
      <dt>Outcome</dt><dd>{outcome}{dlg.hangup && `; hung up by the ${dlg.hangup}`}
        {isNum(dlg.q850_cause) && `; Q.850 cause ${dlg.q850_cause}`}{dlg.reason_text && ` (${dlg.reason_text})`}</dd>
      <dt>Post-dial delay · answer · talk</dt>
      <dd>{duration(dlg.pdd_sec)} · {duration(dlg.answer_sec)} · {duration(dlg.talk_sec)}</dd>
    </dl>
  );
}

// The section: nothing when the call has no capture; the reason when its capture could not be read.
export function Network({ call }) {
  const net = call && call.network;
  const err = call && call.network_error;
  if (!net && !err) return null;
  const m = (call.analysis && call.analysis.mos && call.analysis.mos.network) || null;
  const lowBelow = m && isNum(m.low_below) ? m.low_below : 3.6;
  const dlg = net && Number.isInteger(net.dialog) && net.dialogs ? net.dialogs[net.dialog] : null;
  const findings = net ? (net.findings || [])
    .filter((f) => !dlg || !f.call_id || f.call_id === dlg.call_id)
    .map((f, i) => [f, i])
    .sort((a, b) => ((SEV_RANK[a[0].severity] ?? 9) - (SEV_RANK[b[0].severity] ?? 9)) || a[1] - b[1])
    .map(([f]) => f) : [];
  return (
    <section class="panel network" aria-labelledby="net-h">
      <h2 id="net-h">Network</h2>
      {err && <p class="error net-error">The capture could not be read: {err}</p>}
      {net && (
        <>
          <p class="sub">Capture {net.capture || '—'}
            {net.network_mos && <> · network MOS <MosValue v={net.network_mos.mos} lowBelow={lowBelow} name="capture" /> ({net.network_mos.model})</>}
            {' '}· {(net.sip || []).length} SIP messages and {(net.streams || []).length} RTP streams in the capture</p>
          {net.warning && <p class="notice">{net.warning}</p>}
          {net.explanation && <p class="explanation">{net.explanation}</p>}
          <h3>Findings of the call</h3>
          {findings.length ? (
            <ul class="net-findings">{findings.map((f) => (
              <li data-code={f.code} class={`sev-${f.severity}`}>
                <span class={`sev sev-${f.severity}`}>{f.severity}</span> <code>{f.code}</code> {f.message}
              </li>))}</ul>) : <p class="note">None.</p>}
          {dlg ? (
            <>
              <h3>The call's dialog</h3>
              <Dialog dlg={dlg} />
              <Legs net={net} dlg={dlg} />
              <h3>SIP ladder</h3>
              <Ladder net={net} dlg={dlg} />
              <h3>RTP streams</h3>
              <Streams net={net} dlg={dlg} lowBelow={lowBelow} />
            </>) : <p class="note">No SIP dialog of this call in the capture.</p>}
        </>
      )}
    </section>
  );
}
