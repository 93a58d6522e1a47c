// Numbers with their units. A value the service did not measure (null) is shown as "—" with a
// title saying so, never as 0.

export const NA = '—';

export function isNum(v) {
  return typeof v === 'number' && Number.isFinite(v);
}

export function fixed(v, digits = 1) {
  return isNum(v) ? v.toFixed(digits) : NA;
}

export function withUnit(v, unit, digits = 1) {
  return isNum(v) ? `${v.toFixed(digits)}${unit ? ' ' + unit : ''}` : NA;
}

// 3723.4 -> "1 h 02 min", 83.2 -> "1 min 23 s", 9.54 -> "9.5 s"
export function duration(sec) {
  if (!isNum(sec)) return NA;
  if (sec < 60) return `${sec.toFixed(1)} s`;
  const s = Math.round(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h) return `${h} h ${String(m).padStart(2, '0')} min`;
  return `${m} min ${String(r).padStart(2, '0')} s`;
}

// seconds on a call's clock: 83.25 -> "1:23.3", 3725 -> "1:02:05"
export function clock(sec, digits = 1) {
  if (!isNum(sec)) return NA;
  const neg = sec < 0;
  let s = Math.abs(sec);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  let ss = digits > 0 ? s.toFixed(digits) : String(Math.floor(s));
  if (s < 10) ss = '0' + ss;
  return `${neg ? '-' : ''}${h ? h + ':' + String(m).padStart(2, '0') : m}:${ss}`;
}

// a figure that has a sign, on a scale around 0 (sentiment): 1.25 -> "+1.25", -0.4 -> "−0.40"
export function signed(v, digits = 2) {
  if (!isNum(v)) return NA;
  const t = Math.abs(v).toFixed(digits);
  return `${Number(t) === 0 ? '' : v > 0 ? '+' : '−'}${t}`;
}

export function pct(v, digits = 0) {
  return isNum(v) ? `${v.toFixed(digits)} %` : NA;
}

export function mos(v) {
  return isNum(v) ? `${v.toFixed(2)} MOS` : NA;
}

export function score(v, of = 100) {
  return isNum(v) ? `${Number.isInteger(v) ? v : v.toFixed(1)} / ${of}` : NA;
}

// A call's date as the source recorded it (its own local time) with the source's zone shown.
export function callTime(date, tz) {
  if (!date) return NA;
  return `${date} ${tz || '(zone not recorded)'}`;
}

// A Unix time in the viewer's zone, with the zone's name.
export function localTime(epoch) {
  if (!isNum(epoch)) return NA;
  const d = new Date(epoch * 1000);
  return d.toLocaleString(undefined, { hour12: false, timeZoneName: 'short' });
}

export function ago(epoch, now = Date.now() / 1000) {
  if (!isNum(epoch)) return NA;
  const d = Math.max(0, now - epoch);
  if (d < 90) return `${Math.round(d)} s ago`;
  if (d < 5400) return `${Math.round(d / 60)} min ago`;
  if (d < 172800) return `${Math.round(d / 3600)} h ago`;
  return `${Math.round(d / 86400)} days ago`;
}

export function isoDay(d) {
  const z = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${z(d.getMonth() + 1)}-${z(d.getDate())}`;
}

export function daysAgo(n) {
  const d = new Date();
  d.setDate(d.getDate() - n);
  return isoDay(d);
}
