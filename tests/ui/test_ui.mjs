// The dashboard in a real browser (Debian's Chromium, driven by playwright-core) against a real
// `callqa serve` on a store the worker filled from the corpus (fixture.sh). Each check prints
// its figures; the first failure ends the run with exit 1.
//   environment: BASE (the service's URL), TOKEN, CQ (callqa), DB (the store), DIR (scratch),
//   CORPUS, CONFIG (the worker's settings), RESTART (a command that restarts the service),
//   TTL_BASE (a second service whose sessions last TTL_SEC seconds)
import { execFileSync, execSync } from 'node:child_process';
import { HANG_MS, launch, watchedPage, signIn } from './browser.mjs';

const { BASE, TOKEN, CQ, DB, DIR, CORPUS, CONFIG, RESTART, TTL_BASE, TTL_SEC } = process.env;
let passed = 0;
function check(name, ok, detail = '') {
  if (!ok) {
    console.log(`FAIL: ${name}${detail ? ': ' + detail : ''}`);
    process.exit(1);
  }
  passed++;
  console.log(`ok: ${name}${detail ? ' (' + detail + ')' : ''}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function apiGet(path) {
  const r = await fetch(`${BASE}/${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  return r.json();
}

async function login(page, base = BASE, token = TOKEN) {
  await page.goto(`${base}/#/calls`);
  await page.waitForSelector('#token');
  await page.fill('#token', token);
  await page.click('button[type=submit]');
  await page.waitForSelector('.calls tbody tr, .count');
}

async function rows(page) {
  // the rows of the filters in the URL (not those of the previous view)
  await page.waitForSelector('section[data-ready=yes]');
  return page.$$eval('.calls tbody tr', (trs) => trs.map((tr) => tr.dataset.call));
}

async function waitRows(page, want, what) {
  const t0 = Date.now();
  let got = [];
  while (Date.now() - t0 < HANG_MS) {
    got = await rows(page);
    if (JSON.stringify([...got].sort()) === JSON.stringify([...want].sort())) return got;
    await sleep(100);
  }
  check(what, false, `rows ${got.join(',')}, want ${want.join(',')}`);
  return got;
}

const browser = await launch();
const { page, problems } = await watchedPage(browser);
await page.addInitScript(() => { window.__xss = undefined; });

// ---- auth: the token once, then a session cookie the page cannot read
await page.goto(`${BASE}/#/calls`);
await page.waitForSelector('#token');
check('without a session the dashboard asks for the token', true);
await page.fill('#token', 'not-the-token');
await page.click('button[type=submit]');
await page.waitForSelector('.login .error');
check('a wrong token is refused with a sentence', true, await page.textContent('.login .error'));
await page.fill('#token', TOKEN);
await page.click('button[type=submit]');
await page.waitForSelector('.calls tbody tr');
const cookies = await page.context().cookies();
const sess = cookies.find((c) => c.name === 'callqa_session');
check('the session cookie is httpOnly and SameSite=Strict', sess && sess.httpOnly && sess.sameSite === 'Strict',
  sess ? `expires in ${Math.round(sess.expires - Date.now() / 1000)} s` : 'no cookie');
check('the page cannot read the session cookie', !(await page.evaluate(() => document.cookie)).includes('callqa_session'));
const csp = (await (await fetch(`${BASE}/`)).headers.get('content-security-policy')) || '';
check("the page is served with script-src 'self'", csp.includes("script-src 'self'"), csp);

// ---- every view loads without console errors (the refused sign-in above logged its 401)
problems.length = 0;
const views = [['#/calls', '.calls tbody tr'], ['#/call/R04', '.span.k-hold'], ['#/call/R10', '.turn'],
  ['#/call/R03', '.turn'], ['#/call/R02', 'svg.ladder .msg'], ['#/call/R07', '.net-error'], ['#/qa?days=30', 'table'], ['#/flagged?days=30', '.qitem'],
  ['#/agent/ann', '.chart'], ['#/agent/bob', '.figures'], ['#/ops', '.tiles']];
for (const [hash, sel] of views) {
  await page.goto(`${BASE}/${hash}`);
  await page.waitForSelector(sel);
  await page.waitForTimeout(300);
}
check('every view loads with no console error', problems.length === 0, problems.join(' | ') || `${views.length} views`);
// a full load of each view (the document fetched again, as a newcomer's first visit): no request
// answers 404 (the Live view of a service without a live event file asks for nothing)
const notFound = [];
const on404 = (r) => { if (r.status() === 404) notFound.push(`${r.request().method()} ${r.url()}`); };
page.on('response', on404);
for (const [hash, sel] of [['#/calls', '.calls tbody tr'], ['#/call/R02', '.badge'], ['#/qa?days=30', 'table'],
  ['#/flagged?days=30', '.qitem'], ['#/ops', '.tiles'], ['#/live', '.live-view[data-ready=yes]']]) {
  await page.goto(`${BASE}/${hash}`);
  await page.reload();
  await page.waitForSelector(sel);
  await page.waitForTimeout(500);
}
page.off('response', on404);
check('no request of a page load answers 404', notFound.length === 0, notFound.join(' | ') || '6 views');
// the sentiment: a call scored without the lexicon says why, with no figure in its place; the
// agent view and the QA page show the customers' shift as not measured, never 0
await page.goto(`${BASE}/#/call/R01`);
await page.waitForSelector('.sentiment .note');
const sentNote = await page.textContent('.sentiment .note');
check('the sentiment panel says why there is no trend', /^Not measured: the VADER lexicon is not installed/.test(sentNote) &&
  !(await page.$('.sentiment table')), sentNote);
await page.goto(`${BASE}/#/agent/ann`);
await page.waitForSelector('.figures .sentiment-shift');
const shiftText = await page.textContent('.figures .sentiment-shift');
check("the agent's customers' shift: not measured, over 0 calls", shiftText.startsWith('—') && /over 0 calls\); 0 ended low/.test(shiftText), shiftText);
// a call with a sentiment trend (the fixture's calls are scored before their words arrive): the
// call's answer with a trend put in by the test, drawn as the panel and one lane per speaker
const fakeTrend = { scale: [-5, 5], source: { name: 'vader', version: '1.1.3', licence: 'MIT lexicon; Apache-2.0 port' },
  speakers: [{ speaker: 'customer', source: 'vader', quarters: [1.5, null, -0.1, -2.4], first: 1.5, last: -2.4, shift: -3.9, quotes: [] },
    { speaker: 'agent', source: 'vader', quarters: [2, 1, null, 0.5], first: 2, last: 0.5, shift: -1.5, quotes: [] }],
  customer_drop: true };
const r10 = /\/api\/qa\/call\/R10$/;
await page.route(r10, async (route) => {
  const resp = await route.fetch();
  const body = await resp.json();
  body.score_detail = { ...(body.score_detail || {}), sentiment: fakeTrend, sentiment_status: 'vader 1.1.3' };
  await route.fulfill({ response: resp, json: body });
});
await page.goto(`${BASE}/#/call/R10`);
await page.waitForSelector('.sentiment tr[data-speaker=customer]');
const sentCells = await page.$$eval('.sentiment tr[data-speaker=customer] td', (t) => t.map((x) => x.textContent));
const dropText = await page.textContent('.sentiment .drop');
check('the sentiment panel: the quarters, a quarter without words as —, the shift, the drop',
  JSON.stringify(sentCells) === JSON.stringify(['+1.50', '—', '−0.10', '−2.40', '−3.90']) && /ended low/.test(dropText),
  `${sentCells.join(' ')}; ${dropText}`);
await page.waitForSelector('.lane[aria-label="customer: sentiment"] .span');
const sentLane = await page.$$eval('.lane[aria-label="customer: sentiment"] .span', (b) => b.map((x) => x.dataset.kind));
check("the sentiment lane: the customer's quarters by sign, the silent one marked",
  JSON.stringify(sentLane) === JSON.stringify(['sent-pos', 'sent-none', 'sent-neu', 'sent-neg']), sentLane.join(','));
await page.unroute(r10);
// a link with broken percent-encoding (cut or hand-edited) draws a page, not an uncaught error
problems.length = 0;
for (const hash of ['#/call/50%', '#/agent/%E0%A4%A', '#/calls?agent=%zz']) {
  await page.goto(`${BASE}/${hash}`);
  await page.waitForSelector('main, .calls, .error, section');
  await page.waitForTimeout(300);
}
check('links with broken percent-encoding: no uncaught error', !problems.some((p) => p.startsWith('pageerror')),
  problems.join(' | ') || '3 links');
problems.length = 0;

// ---- filters change the rows, and live in the URL
await page.goto(`${BASE}/#/calls`);
const all = await rows(page);
check('the calls list shows every call of the store (14 corpus calls and the long one)', all.length === 15, `${all.length} rows`);
await page.fill('input[name=agent]', 'ann');
await page.click('.filters button[type=submit]');
await waitRows(page, ['R01', 'R02', 'R09', 'R10'], 'the agent filter keeps ann\'s calls');
check('the agent filter keeps ann\'s calls, and the URL holds it', page.url().includes('agent=ann'), page.url());
await page.selectOption('select[name=flagged]', '1');
await page.click('.filters button[type=submit]');
await waitRows(page, ['R02', 'R10'], 'flagged and agent together');
check('flagged and agent together', true, 'R02, R10');
await page.goto(`${BASE}/#/calls?dtmf=1`);
const dt = await rows(page);
check('the DTMF filter', dt.includes('R06') && !dt.includes('R01'), dt.join(','));
await page.goto(`${BASE}/#/calls?q=branch%20hours`);
await waitRows(page, ['R10'], 'the transcript-words filter');
check('the transcript-words filter finds the call that says it', true, 'R10');
await page.goto(`${BASE}/#/calls?one_way=1`);
const ow = await rows(page);
check('the one-way filter', ow.includes('R02') && !ow.includes('R01'), ow.join(','));
const badge = await page.textContent('tr[data-call=R02] .badge.b-one_way');
check('the one-way call carries its badge in words', /one-way/i.test(badge || ''), badge);
const drawn = await page.$$eval('.calls .badge', (els) => els.map((e) => ({ svg: e.querySelectorAll('svg.icon').length, text: e.textContent.trim() })));
check('each badge is a drawn icon (an svg) and its words, no font glyph', drawn.length > 0 &&
  drawn.every((b) => b.svg === 1 && /^[\x20-\x7E]+$/.test(b.text)), JSON.stringify(drawn.slice(0, 3)));
// a badge's title is its rule, read from GET /api/qa/badges (the assessment's thresholds)
const rules = await (await page.request.get(`${BASE}/api/qa/badges`)).json();
const mosRule = rules.find((b) => b.code === 'mos_low');
check('GET /api/qa/badges gives each badge its rule and threshold', rules.length >= 7 && mosRule
  && mosRule.threshold === 3, JSON.stringify(mosRule));
await page.waitForFunction(() => document.querySelector('tr[data-call=R02] .badge.b-one_way').title !== '');
const title = await page.getAttribute('tr[data-call=R02] .badge.b-one_way', 'title');
check('a badge\'s title is its rule from the API', title === rules.find((b) => b.code === 'one_way').rule, title);
await page.goto(`${BASE}/#/calls?sort=duration&order=asc`);
await page.waitForFunction(() => document.querySelectorAll('.calls tbody tr').length === 15);
const byDur = await page.$$eval('.calls tbody tr td:nth-child(4)', (t) => t.map((x) => x.textContent));
const secs = byDur.map((d) => { // "9.5 s", "1 min 04 s", "1 h 02 min"
  const m = d.match(/(?:(\d+) h )?(?:(\d+) min ?)?(?:([\d.]+) s)?/);
  return (+(m[1] || 0)) * 3600 + (+(m[2] || 0)) * 60 + (+(m[3] || 0));
});
check('sorting by duration orders the rows, and the header says so', secs.every((v, i) => i === 0 || v >= secs[i - 1]) &&
  (await page.getAttribute('th[aria-sort=ascending]', 'aria-sort')) === 'ascending', byDur.slice(0, 3).join(' ≤ ') + ' … ' + byDur[byDur.length - 1]);

// ---- the hold-music call: the hold lane against the labelled span (calls/labels.json)
await page.goto(`${BASE}/#/call/R04`);
await page.waitForSelector('.span.k-hold');
const hold = await page.$eval('.span.k-hold', (el) => {
  const tracks = el.closest('.tracks');
  const track = el.closest('.lane-track').getBoundingClientRect();
  const r = el.getBoundingClientRect();
  const t0 = +tracks.dataset.t0, t1 = +tracks.dataset.t1;
  const at = (x) => t0 + ((x - track.left) / track.width) * (t1 - t0);
  return { start: +el.dataset.start, end: +el.dataset.end, drawnStart: at(r.left), drawnEnd: at(r.right) };
});
const LABEL = { start: 28.9342, end: 64.9343 };
check('the hold lane matches the labelled hold within 1 s (data and drawing)',
  Math.abs(hold.start - LABEL.start) < 1 && Math.abs(hold.end - LABEL.end) < 1 &&
  Math.abs(hold.drawnStart - LABEL.start) < 1 && Math.abs(hold.drawnEnd - LABEL.end) < 1,
  `drawn ${hold.drawnStart.toFixed(2)}-${hold.drawnEnd.toFixed(2)} s, label ${LABEL.start}-${LABEL.end} s`);
// a span is a button: a click, or Enter on it, seeks the player to its start
const playerAt = (above) => page.evaluate(([min, hang]) => new Promise((resolve) => {
  const a = document.querySelector('audio');
  const t0 = performance.now();
  const poll = () => (a.currentTime > min || performance.now() - t0 > hang ? resolve(a.currentTime) : setTimeout(poll, 50));
  poll();
}), [above, HANG_MS]);
await page.click('.span.k-hold');
const clicked = await playerAt(1);
await page.evaluate(() => { const a = document.querySelector('audio'); a.pause(); a.currentTime = 0; });
await page.focus('.span.k-hold');
await page.keyboard.press('Enter');
const keyed = await playerAt(1);
await page.evaluate(() => document.querySelector('audio').pause());
check('a span seeks the player to its start, by click and by Enter', Math.abs(clicked - hold.start) < 0.6 && Math.abs(keyed - hold.start) < 0.6,
  `hold from ${hold.start.toFixed(2)} s: clicked ${clicked.toFixed(2)} s, Enter ${keyed.toFixed(2)} s`);
const env = await page.$$('.lane-track.env canvas');
check('the level envelope is drawn for both legs', env.length === 2, `${env.length} envelopes`);

// ---- the network side: R02 was uploaded with a capture of its call (tests/net/wav_to_pcap.py
// --answer: INVITE, 200 OK, ACK and RTP both ways), R07 with one that cannot be read, R01 without
{
  const api = await apiGet('api/qa/call/R02');
  const net = api.network;
  check('the call uploaded with a capture has its network side', net && Number.isInteger(net.dialog) && !api.network_error,
    net ? `capture ${net.capture}, dialog ${net.dialog} of ${net.dialogs.length}` : String(api.network_error));
  await page.goto(`${BASE}/#/call/R02`);
  await page.waitForSelector('.network svg.ladder .msg');
  const lad = await page.$eval('.network svg.ladder', (svg) => {
    const life = [...svg.querySelectorAll('[data-col] line.life')].map((l) => +l.getAttribute('x1'));
    const heads = [...svg.querySelectorAll('.col-head')].map((t) => t.textContent);
    const rows = [...svg.querySelectorAll('.msg')].map((g) => {
      const line = g.querySelector('line.arrow');
      const tip = +g.querySelector('polygon.head').getAttribute('points').split(/[ ,]/)[0];
      return { label: g.querySelector('text.label').textContent, time: g.querySelector('.t-time').textContent,
        from: +g.dataset.from, to: +g.dataset.to, dir: g.dataset.dir, x1: +line.getAttribute('x1'), tip,
        aria: g.getAttribute('aria-label'), title: g.querySelector('title').textContent, role: g.getAttribute('role') };
    });
    return { life, heads, rows, role: svg.getAttribute('role'), label: svg.getAttribute('aria-label') };
  });
  const dlg = net.dialogs[net.dialog];
  check('the ladder has a column per address:port, the caller first', lad.heads.join(' | ') === `${dlg.caller} | ${dlg.callee}`,
    lad.heads.join(' | '));
  const seen = lad.rows.map((r) => `${r.time} ${r.label} ${r.dir}`);
  check('the ladder\'s rows: INVITE right, 200 OK left, ACK right, with their times from the first message',
    seen.join(', ') === '0.000 INVITE right, 0.400 200 OK left, 0.410 ACK right', seen.join(', '));
  // drawn as they say: each arrow leaves its sender's lifeline and its head touches the receiver's
  const drawn = lad.rows.every((r) => Math.abs(r.x1 - lad.life[r.from]) < 1 && Math.abs(r.tip - lad.life[r.to]) < 4 &&
    (r.dir === 'right' ? lad.life[r.to] > lad.life[r.from] : lad.life[r.to] < lad.life[r.from]));
  check('each arrow is drawn from the sender\'s lifeline to the receiver\'s', drawn,
    lad.rows.map((r) => `${r.label}: ${r.x1}→${r.tip}`).join(', '));
  check('each ladder row is a list item labelled (and titled) with its whole text',
    lad.role === 'list' && lad.rows.every((r) => r.role === 'listitem' && r.aria === r.title) &&
    lad.rows[0].aria.startsWith(`0.000 s: INVITE from ${dlg.caller} to ${dlg.callee}`), lad.rows[0].aria);
  const streams = await page.$$eval('.network table.streams tbody tr', (trs) => trs.map((tr) => ({
    i: +tr.dataset.stream, cells: [...tr.children].map((c) => c.textContent.trim()) })));
  const want = dlg.streams.map((i) => {
    const s = net.streams[i];
    const ad = s.network_mos.jitter_buffers.adaptive_500ms;
    return { i, route: `${s.src}:${s.src_port} → ${s.dst}:${s.dst_port}`, packets: String(s.packets),
      lost: `${s.lost_pct.toFixed(1)} %`, jitter: `${s.max_jitter_ms.toFixed(1)} ms`, mos: `${ad.mos.toFixed(2)} MOS`, model: s.network_mos.model };
  });
  const sameStreams = streams.length === 2 && want.every((w, k) => {
    const c = streams[k].cells;
    return streams[k].i === w.i && c[0] === w.route && c[2].startsWith('PCMU') && c[3] === w.packets && c[4].startsWith(w.lost) &&
      c[5] === w.jitter && c[6].startsWith(w.mos) && c[6].endsWith('ITU-T G.107 E-model') && c[7] === '—';
  });
  check('the RTP streams: both ways, with codec, packets, loss, jitter and the E-model MOS behind the adaptive buffer',
    sameStreams, streams.map((s) => s.cells.join(' | ')).join(' ; '));
  const finds = await page.$$eval('.net-findings li', (lis) => lis.map((li) => `${li.querySelector('.sev').textContent} ${li.dataset.code}`));
  check('the findings of the call: the recording is one-way while RTP flowed both ways',
    finds.includes('major xcheck_recording_one_way'), finds.join(', '));
  const expl = await page.textContent('.network .explanation');
  check('the investigation\'s explanation is shown', expl === net.explanation, expl.slice(0, 80) + '…');
  // the two MOS, each beside its model and judged on its own threshold
  const m = api.analysis.mos;
  const fig = await page.$eval('.figures', (dl) => {
    const v = (n) => { const e = dl.querySelector(`[data-mos="${n}"]`); return e && { text: e.textContent, low: e.dataset.low, colour: getComputedStyle(e).color }; };
    const model = (n) => { const e = dl.querySelector(`[data-model="${n}"]`); return e && e.textContent; };
    return { in: v('speech-in'), out: v('speech-out'), net: v('network'), speech: model('speech'), network: model('network') };
  });
  const lowOk = (f, v, t) => f && f.text.startsWith(`${v.toFixed(2)} MOS`) && f.low === (v < t ? 'yes' : 'no');
  check('the speech MOS (customer, agent) beside its model, each against NISQA\'s threshold',
    fig.speech === 'NISQA v2' && m.speech.model === 'NISQA v2' && lowOk(fig.in, m.speech.inbound, m.speech.low_below) &&
    lowOk(fig.out, m.speech.outbound, m.speech.low_below), `${fig.in.text} / ${fig.out.text} ${fig.speech}, low below ${m.speech.low_below}`);
  check('the network MOS beside its model, against the E-model\'s threshold',
    fig.network === 'ITU-T G.107 E-model' && m.network && lowOk(fig.net, m.network.mos, m.network.low_below),
    `${fig.net.text} ${fig.network}, low below ${m.network && m.network.low_below}`);
  check('a low MOS and a good one are told apart by colour and in words', fig.in.low === 'yes' && fig.net.low === 'no' &&
    fig.in.colour !== fig.net.colour && /low/.test(fig.in.text), `${fig.in.text} ${fig.in.colour}, ${fig.net.text} ${fig.net.colour}`);

  // a call without a capture: no Network section, no network MOS, the speech MOS still named
  await page.goto(`${BASE}/#/call/R01`);
  await page.waitForSelector('.figures [data-model=speech]');
  await page.waitForTimeout(300);
  const none = await page.evaluate(() => ({ section: !!document.querySelector('.network, #net-h'),
    netMos: !!document.querySelector('.figures [data-mos=network]'), model: document.querySelector('[data-model=speech]').textContent }));
  check('a call without a capture has no Network section and no network MOS', !none.section && !none.netMos && none.model === 'NISQA v2',
    JSON.stringify(none));
  // a capture that could not be read: said plainly
  const r07 = await apiGet('api/qa/call/R07');
  await page.goto(`${BASE}/#/call/R07`);
  await page.waitForSelector('.network .net-error');
  const why = await page.textContent('.network .net-error');
  check('a capture that could not be read: the reason is shown', r07.network === null && r07.network_error &&
    why.includes(r07.network_error) && !(await page.$('.network svg.ladder')), why);

  // a dialog of thousands of messages draws the first 200 and says how many more; a method and a
  // reason from the wire holding markup are shown as text
  const big = JSON.parse(JSON.stringify(api));
  const bn = big.network;
  const bd = bn.dialogs[bn.dialog];
  const base = bd.messages.map((i) => bn.sip[i]);
  bd.messages = [];
  for (let k = 0; k < 1500; k++) {
    const m0 = { ...base[k % base.length], time_sec: k * 0.02 };
    if (k === 1) { m0.reason = '<img src=x onerror="window.__xss=5">'; }
    if (k === 2) { m0.method = '<script>window.__xss=6</script>'; }
    bn.sip.push(m0);
    bd.messages.push(bn.sip.length - 1);
  }
  const only = (u) => new URL(u).pathname.endsWith('/api/qa/call/R02');
  await page.route(only, (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(big) }));
  const t0 = Date.now();
  await page.goto(`${BASE}/#/call/R02`);
  await page.waitForSelector('.network .ladder-more');
  const cut = await page.evaluate(() => ({ rows: document.querySelectorAll('svg.ladder .msg').length,
    more: document.querySelector('.ladder-more').textContent, label: document.querySelector('svg.ladder .msg[data-row="1"] text.label').textContent,
    xss: window.__xss, imgs: document.querySelectorAll('.network img, .network script').length }));
  await page.unroute(only);
  check('a dialog of 1,500 messages draws the first 200 rows and says how many more', cut.rows === 200 && /1500 messages/.test(cut.more) &&
    /1300 more/.test(cut.more), `${cut.rows} rows in ${Date.now() - t0} ms: ${cut.more}`);
  check('markup in a SIP reason or method is shown as text', cut.xss === undefined && cut.imgs === 0 && cut.label.includes('<img'),
    cut.label);

  // a call of two legs across a B2BUA (the dialogs' call_ref, leg, linked_by: docs/network.md):
  // one ladder of both legs' messages in capture order, the B2BUA's address one column between
  // the caller and the callee, each row naming its leg; the legs listed with their link
  const two = JSON.parse(JSON.stringify(api));
  const tn = two.network;
  const a = tn.dialogs[tn.dialog];
  const pbx = '10.9.9.9', pbxPort = 5060;
  const [cHost, cPort] = a.callee.split(':');
  const b = { ...a, call_id: 'leg-b@10.9.9.9', caller: `${pbx}:${pbxPort}`, callee: a.callee, leg: 1,
    legs: 2, call_ref: '00000000000000ab', linked_by: 'time', link_detail: 'the same caller, through 10.9.9.9, 0.004 s after' };
  Object.assign(a, { callee: `${pbx}:${pbxPort}`, leg: 0, legs: 2, call_ref: '00000000000000ab', linked_by: null, link_detail: null });
  const aMsgs = a.messages.map((i) => tn.sip[i]);
  a.messages = [];
  b.messages = [];
  for (const m of aMsgs) { // the first leg: the caller to the B2BUA; then the B2BUA to the callee
    const toB2b = String(m.dst) === cHost && String(m.dst_port) === cPort;
    const m1 = { ...m, ...(toB2b ? { dst: pbx, dst_port: pbxPort } : { src: pbx, src_port: pbxPort }) };
    const m2 = { ...m, time_sec: m.time_sec + 0.004, call_id: b.call_id,
      ...(toB2b ? { src: pbx, src_port: pbxPort } : { dst: pbx, dst_port: pbxPort }) };
    tn.sip.push(m1); a.messages.push(tn.sip.length - 1);
    tn.sip.push(m2); b.messages.push(tn.sip.length - 1);
  }
  tn.dialogs.push(b);
  await page.route(only, (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(two) }));
  await page.goto(`${BASE}/#/call/R07`); // away first: the same address again would not load
  await page.waitForSelector('.network .net-error');
  await page.goto(`${BASE}/#/call/R02`);
  await page.waitForSelector('.network ol.legs li');
  const lg = await page.evaluate(() => ({
    heads: [...document.querySelectorAll('svg.ladder .col-head')].map((t) => t.textContent),
    roles: [...document.querySelectorAll('svg.ladder .col-role')].map((t) => t.textContent),
    rows: [...document.querySelectorAll('svg.ladder .msg')].map((g) => g.getAttribute('aria-label')),
    legs: [...document.querySelectorAll('.network ol.legs li')].map((li) => li.textContent),
    label: document.querySelector('svg.ladder').getAttribute('aria-label') }));
  await page.unroute(only);
  check('a call of two legs: one ladder, the B2BUA\'s column between the caller and the callee',
    lg.heads.length === 3 && lg.heads[1] === `${pbx}:${pbxPort}` && lg.roles.join(',') === 'caller,B2BUA,callee' &&
    / \(2 legs\)/.test(lg.label), `${lg.heads.join(' | ')} (${lg.roles.join(',')})`);
  check('a call of two legs: both legs\' messages, each row naming its leg',
    lg.rows.length === 2 * aMsgs.length && lg.rows.filter((r) => /\(leg 2,/.test(r)).length === aMsgs.length &&
    /\(leg 1,/.test(lg.rows[0]), `${lg.rows.length} rows; ${lg.rows[1]}`);
  check('a call of two legs: the legs listed, the second with its link', lg.legs.length === 2 &&
    /the first leg/.test(lg.legs[0]) && /linked by time: the same caller/.test(lg.legs[1]), lg.legs.join(' / '));
}

// ---- the summary: its source named; the LLM's with its reason, outcome and quotes; a refusal said
{
  const r01 = await apiGet('api/qa/call/R01');
  await page.goto(`${BASE}/#/call/R01`);
  await page.waitForSelector('.summary');
  const det = await page.evaluate(() => ({ source: document.querySelector('[data-summary-source]').dataset.summarySource,
    label: document.querySelector('[data-summary-source]').textContent, text: document.querySelector('.summary .verdict').textContent,
    refused: !!document.querySelector('.summary .refused') }));
  const sm = r01.score_detail && r01.score_detail.summary;
  check('without an LLM the summary is the deterministic assessment, labelled so', sm && sm.source === 'deterministic' &&
    det.source === 'deterministic' && /deterministic/.test(det.label) && det.text === sm.text.replace(/\n/g, '') && !det.refused,
    det.label);
  const llm = JSON.parse(JSON.stringify(r01));
  llm.score_detail.summary = { source: 'llm', model: 'fake-model', text: 'The customer <img src=x onerror="window.__xss=7">asked about a card. It was replaced.',
    reason: 'a lost card', outcome: 'transferred', refused: null,
    quotes: [{ speaker: 'customer', start: 3.8, end: 7.1, quote: 'I lost my card', backs: 'reason' },
      { speaker: 'agent', start: 20.5, end: 25, quote: 'I will transfer you', backs: 'outcome' }] };
  const only = (u) => new URL(u).pathname.endsWith('/api/qa/call/R01');
  await page.route(only, (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(llm) }));
  await page.goto(`${BASE}/#/calls`); // another view first: the same hash again loads nothing
  await page.waitForSelector('.calls tbody tr');
  await page.goto(`${BASE}/#/call/R01`);
  await page.waitForSelector('.summary[data-source=llm]');
  const got = await page.evaluate(() => ({ label: document.querySelector('[data-summary-source]').textContent,
    outcome: document.querySelector('.summary [data-outcome]').textContent, seeks: document.querySelectorAll('.summary .evidence .seek').length,
    quote: document.querySelector('.summary .evidence q').textContent, xss: window.__xss, imgs: document.querySelectorAll('.summary img').length }));
  check('an LLM summary: labelled with its model, the outcome in words, each quote a seek button, markup shown as text',
    got.label === 'LLM · fake-model' && got.outcome === 'transferred' && got.seeks === 2 && got.quote === 'I lost my card' &&
    got.xss === undefined && got.imgs === 0, JSON.stringify(got));
  llm.score_detail.summary = { ...sm, refused: 'the summary has 5 sentences (2 to 4 asked)' };
  await page.unroute(only);
  await page.route(only, (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(llm) }));
  await page.goto(`${BASE}/#/calls`);
  await page.waitForSelector('.calls tbody tr');
  await page.goto(`${BASE}/#/call/R01`);
  await page.waitForSelector('.summary .refused');
  const ref = await page.evaluate(() => ({ source: document.querySelector('[data-summary-source]').dataset.summarySource,
    note: document.querySelector('.summary .refused').textContent }));
  await page.unroute(only);
  check('a refused LLM summary: the deterministic one shown, and why the LLM\'s is not', ref.source === 'deterministic' &&
    ref.note.includes('5 sentences (2 to 4 asked)'), ref.note);
  // a score stored before the checks: the LLM's free text, said to be unchecked
  llm.score_detail.summary = 'An old summary in free text.';
  await page.route(only, (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(llm) }));
  await page.goto(`${BASE}/#/calls`);
  await page.waitForSelector('.calls tbody tr');
  await page.goto(`${BASE}/#/call/R01`);
  await page.waitForSelector('.summary[data-source=unchecked]');
  const old = await page.evaluate(() => ({ label: document.querySelector('[data-summary-source]').textContent,
    text: document.querySelector('.summary .verdict').textContent }));
  await page.unroute(only);
  check('a summary stored before the checks: shown as the LLM\'s, unchecked', /unchecked/.test(old.label) &&
    old.text === 'An old summary in free text.', old.label);
  // the sentiment trend as the scoring stores it (docs/report.md): the timeline's lane names its
  // source and draws a span per non-null quarter; a dropped (null) quarter draws nothing
  const withSent = JSON.parse(JSON.stringify(r01));
  withSent.sentiment = { scale: [-5, 5], source: { name: 'llm', model: 'fake-model' }, customer_drop: true,
    speakers: [{ speaker: 'customer', source: 'llm', quarters: [1, null, -3, null], first: 1, last: -3, shift: -4,
      quotes: [{ quarter: 1, quote: 'I lost my card', start: 3.8, end: 7.1 }, { quarter: 3, quote: 'this is ridiculous', start: 40, end: 42 }] }] };
  await page.route(only, (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(withSent) }));
  await page.goto(`${BASE}/#/calls`);
  await page.waitForSelector('.calls tbody tr');
  await page.goto(`${BASE}/#/call/R01`);
  await page.waitForSelector('.lane[aria-label="customer: sentiment"] .span');
  const lane = await page.evaluate(() => {
    const l = document.querySelector('.lane[aria-label="customer: sentiment"]');
    return { note: l.querySelector('.lane-title .sub').textContent,
      spans: l.querySelectorAll('.span:not(.k-sent-none)').length,
      neg: l.querySelectorAll('.span.k-sent-neg').length };
  });
  await page.unroute(only);
  check('the LLM\'s sentiment trend on the timeline: its source named, one span per non-null quarter',
    /llm \(fake-model\)/.test(lane.note) && lane.spans === 2 && lane.neg === 1, JSON.stringify(lane));
}

// ---- the GSM calls play (WAV49 through the service's transcode)
for (const id of ['R11', 'R14']) {
  await page.goto(`${BASE}/#/call/${id}`);
  await page.waitForSelector('audio');
  const res = await page.$eval('audio', async (a, hang) => {
    a.muted = true;
    try { await a.play(); } catch (e) { return { error: String(e) }; }
    const t0 = performance.now();
    while (a.currentTime < 0.5 && performance.now() - t0 < hang && !a.error) await new Promise((r) => setTimeout(r, 50));
    return { t: a.currentTime, duration: a.duration, error: a.error && a.error.code };
  }, HANG_MS);
  check(`the GSM call ${id} plays`, !res.error && res.t >= 0.5, JSON.stringify(res));
}

// ---- clicking a transcript turn seeks the player; playing highlights the turn
await page.goto(`${BASE}/#/call/R10`);
await page.waitForSelector('.turn .seek');
const turn = 4;
const start = await page.$eval(`.turn[data-turn="${turn}"]`, (li) => li.querySelector('.seek').textContent);
await page.click(`.turn[data-turn="${turn}"] .seek`);
const seek = await page.evaluate((hang) => new Promise((resolve) => {
  const a = document.querySelector('audio');
  const t0 = performance.now();
  const poll = () => (a.currentTime > 0 || performance.now() - t0 > hang ? resolve(a.currentTime) : setTimeout(poll, 50));
  poll();
}), HANG_MS);
const want = await page.evaluate(async (id) => {
  const r = await fetch(`api/qa/call/${id}`);
  return (await r.json()).transcript_detail.turns;
}, 'R10');
check('clicking a transcript turn seeks the player to it', Math.abs(seek - want[turn].start) < 0.6,
  `turn at ${start}, player at ${seek.toFixed(2)} s`);
await page.waitForSelector(`.turn[data-turn="${turn}"].current`);
check('the playing turn is highlighted', true);

// ---- the review form, and CSRF
await page.goto(`${BASE}/#/flagged?days=30`);
await page.waitForSelector('.qitem[data-call=R02] button');
const forged = await page.evaluate(async () => {
  const r = await fetch('api/qa/call/R02/scores', { method: 'PATCH', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ supervisor: 'x', scores: { communication: 1 } }) });
  return { status: r.status, body: await r.json() };
});
check('a review without the CSRF token is refused', forged.status === 403 && forged.body.code === 'csrf', JSON.stringify(forged));
await page.click('.qitem[data-call=R02] button');
await page.waitForSelector('.review input[name=communication]');
await page.fill('.review input[name=communication]', '2');
await page.fill('.review input[name=supervisor]', 'Sue <b>Reviewer</b>');
await page.fill('.review textarea', 'checked by ear');
await page.click('.review button[type=submit]');
await page.waitForSelector('.review .ok');
const ov = await apiGet('api/qa/call/R02');
check('the review is saved with the reviewer\'s name', ov.overrides.communication &&
  ov.overrides.communication.score === 2 && ov.overrides.communication.supervisor === 'Sue <b>Reviewer</b>',
  JSON.stringify(ov.overrides.communication));

// ---- live: a job completing appears without a reload
await page.goto(`${BASE}/#/calls`);
await page.waitForSelector('.live-live');
await page.evaluate(() => { window.__sameDocument = true; });
const form = new FormData();
form.append('metadata', new Blob([JSON.stringify({ recording_id: 'R20', agent_user: 'fay', agent_name: 'Fay Live',
  campaign_id: 'BANK', call_date: new Date().toISOString().slice(0, 10) + ' 17:00:00', tz: 'UTC' })], { type: 'application/json' }));
form.append('audio', new Blob([execFileSync('cat', [`${CORPUS}/calls/call12_overtalk.wav`])]), 'call12.wav');
const up = await fetch(`${BASE}/api/qa/calls`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` }, body: form });
check('a new call is uploaded', up.status === 201, String(up.status));
execFileSync(CQ, ['worker', '--db', DB, '--config', CONFIG, '--once', '--max-load', '0', '--no-idle'], { stdio: 'ignore' });
const done = Date.now();
await page.waitForSelector('tr[data-call=R20] .s-complete');
const lag = (Date.now() - done) / 1000;
check('the completed job appears without a reload (pushed by the event stream)',
  await page.evaluate(() => window.__sameDocument === true), `${lag.toFixed(2)} s after the worker finished`);

// ---- a service restart under the open page: it reconnects, and events flow again
execSync(RESTART, { stdio: 'inherit' });
await page.waitForSelector('.live-reconnecting, .live-connecting', { timeout: 10000 }).catch(() => {});
await page.waitForSelector('.live-live');
check('after a service restart the page reconnects to the event feed', await page.evaluate(() => window.__sameDocument === true));
const form2 = new FormData();
form2.append('metadata', new Blob([JSON.stringify({ recording_id: 'R21', agent_user: 'fay', campaign_id: 'BANK',
  call_date: new Date().toISOString().slice(0, 10) + ' 17:30:00', tz: 'UTC' })], { type: 'application/json' }));
form2.append('audio', new Blob([execFileSync('cat', [`${CORPUS}/calls/call01_normal.wav`])]), 'call01.wav');
await fetch(`${BASE}/api/qa/calls`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` }, body: form2 });
execFileSync(CQ, ['worker', '--db', DB, '--config', CONFIG, '--once', '--max-load', '0', '--no-idle'], { stdio: 'ignore' });
await page.waitForSelector('tr[data-call=R21] .s-complete');
check('a job completing after the restart appears without a reload', await page.evaluate(() => window.__sameDocument === true));

// ---- injected names, campaigns, file names, transcript text: nothing ran. Each view is waited
// for by what it shows once its data is in (then a moment for anything injected to run)
const heading = (sel, text) => [(a) => (document.querySelector(a[0])?.textContent || '').includes(a[1]), [sel, text]];
for (const [hash, [ready, arg]] of [['#/calls', [() => !!document.querySelector('section[data-ready=yes]')]],
  ['#/call/R03', heading('#call-h', 'Call R03')], ['#/call/R11', heading('#call-h', 'Call R11')],
  ['#/agent/bob', heading('#ag-h .sub', '(bob)')], ['#/agent/carl', heading('#ag-h .sub', '(carl)')],
  ['#/agent/dan', heading('#ag-h .sub', '(dan)')],
  ['#/qa?days=30', [() => !!document.querySelector('section[aria-labelledby=qa-h] table')]],
  ['#/flagged?days=30', [() => !!document.querySelector('section[aria-labelledby=fl-h] .qitem')]]]) {
  await page.goto(`${BASE}/${hash}`);
  await page.waitForFunction(ready, arg);
  await page.waitForTimeout(500);
}
const xss = await page.evaluate(() => window.__xss);
const jsLinks = await page.$$eval('a[href]', (as) => as.filter((a) => /^\s*javascript:/i.test(a.getAttribute('href'))).length);
check('no injected script ran (script, img onerror, svg onload, javascript: URLs)', xss === undefined && jsLinks === 0,
  `window.__xss=${xss}, javascript: links ${jsLinks}`);
const shown = await page.evaluate(async () => (await (await fetch('api/qa/call/R03')).json()).agent_name);
check('the injected name is stored and shown as text', shown.includes('<script>'), shown);

// ---- the longest call the service allows (max_duration_sec = 1800 in this store's worker)
problems.length = 0; // the refused review above logged its 403
{
  const t0 = Date.now();
  await page.goto(`${BASE}/#/call/RLONG`);
  await page.waitForFunction(() => document.querySelectorAll('.lane-track.env canvas').length === 2 &&
    document.querySelectorAll('.span').length > 0 && document.querySelector('.turns, .panel'));
  const ms = Date.now() - t0;
  const info = await page.evaluate(() => ({ spans: document.querySelectorAll('.span').length,
    range: document.querySelector('.tl-range').textContent }));
  await page.click('text=+ Zoom in');
  await page.click('text=+ Zoom in');
  const zoomed = await page.evaluate(() => document.querySelector('.tl-range').textContent);
  check('the longest call allowed (30 min) renders its timeline, and zooms', /30:00/.test(info.range) && zoomed !== info.range,
    `${ms} ms to ready, ${info.spans} spans drawn, ${info.range}, zoomed to ${zoomed}`);
  check('the long call view has no console error', problems.length === 0, problems.join(' | '));
}

// ---- a user of the store: an agent signs in by name and password, and the views follow the role
{
  const agents = await page.evaluate(async () => (await (await fetch('api/qa/calls?limit=100')).json()).calls
    .map((c) => c.agent_user).filter((a) => a && /^[A-Za-z0-9._@][A-Za-z0-9._@-]*$/.test(a) && a !== 'token'));
  const agent = agents[0];
  execFileSync(CQ, ['user', 'add', agent, '--role', 'agent', '--password-stdin', '--db', DB],
    { input: 'agent-password-123\n', stdio: ['pipe', 'ignore', 'ignore'] });
  const { page: p3, problems: pr3 } = await watchedPage(browser);
  await p3.goto(`${BASE}/#/calls`);
  await signIn(p3, agent, 'agent-password-123');
  await p3.waitForSelector('section[data-ready=yes]');
  const nav = await p3.$$eval('nav a', (as) => as.map((a) => a.textContent.trim()));
  check(`an agent (${agent}) signed in by name: Calls and the flagged queue, no QA summary or operations`,
    nav.includes('Calls') && nav.includes('Flagged queue') && !nav.includes('QA summary') && !nav.includes('Operations'),
    nav.join(', '));
  const who = await p3.textContent('.top .who').catch(() => '');
  check('... the header names them and their role', who.includes(agent) && who.includes('agent'), who);
  const mine = await p3.evaluate(async () => (await (await fetch('api/qa/calls?limit=100')).json()).calls.map((c) => c.agent_user));
  check('... and the calls are their own only', mine.length > 0 && mine.every((a) => a === agent), mine.join(','));
  await p3.goto(`${BASE}/#/flagged`);
  await p3.waitForSelector('section[aria-labelledby=fl-h]');
  await p3.waitForTimeout(500);
  const reviews = await p3.$$eval('.qitem button', (bs) => bs.filter((b) => /Review/.test(b.textContent)).length);
  check('... the flagged queue offers them no review form', reviews === 0, `${reviews} review buttons`);
  await p3.goto(`${BASE}/#/ops`);
  await p3.waitForSelector('section[data-ready=yes]');
  await p3.waitForTimeout(500);
  check('... #/ops shows the calls instead, and nothing was refused on the way', pr3.length === 0, pr3.join(' | '));
  await p3.close();
}

// ---- an expired session: the page asks for the token again and says why
if (TTL_BASE) {
  const { page: p2 } = await watchedPage(browser);
  await login(p2, TTL_BASE);
  await sleep((+TTL_SEC + 1) * 1000);
  await p2.goto(`${TTL_BASE}/#/ops`);
  await p2.waitForSelector('#token');
  const note = await p2.textContent('.login').catch(() => '');
  check('an expired session brings the sign-in back, saying it expired', /expired/i.test(note), note.slice(0, 80));
}

await browser.close();
console.log(`${passed} checks passed`);
