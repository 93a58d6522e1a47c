// The Live view in a real browser against `callqa serve --live-events FILE`: the test appends
// lines to FILE as `callqa live` does (docs/live/server.md, "Event lines"). Each check prints one line;
// the first failure ends the run with exit 1.
//   environment: BASE (the service's URL), TOKEN, EVENTS (the file the service follows),
//   RECORDED (the recording id of a call `callqa live` recorded and the worker analysed)
import { appendFileSync } from 'node:fs';
import { HANG_MS, launch, watchedPage, signIn } from './browser.mjs';

const { BASE, TOKEN, EVENTS, RECORDED } = process.env;
function check(name, ok, detail = '') {
  if (!ok) {
    console.log(`FAIL: ${name}${detail ? ': ' + detail : ''}`);
    process.exit(1);
  }
  console.log(`ok: ${name}${detail ? ' (' + detail + ')' : ''}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const wall = () => new Date().toISOString();
function line(o) {
  appendFileSync(EVENTS, JSON.stringify({ call_sec: 1.0, wall: wall(), ...o }) + '\n');
}
async function until(page, fn, arg, what, ms = HANG_MS) {
  try {
    await page.waitForFunction(fn, arg, { timeout: ms });
  } catch {
    check(what, false, 'not within ' + ms + ' ms');
  }
}

const EVIL_CALL = '<img/src=x/onerror=window.__xss=1>';
const EVIL_TYPE = '<script>window.__xss=2</script>';
const EVIL_RULE = '<img src=x onerror="window.__xss=3">';

line({ call: 'B0', type: 'speech', id: 1, state: 'open', start: 0.1, source: 'audiosocket' });

const browser = await launch();
const { page, problems } = await watchedPage(browser);
await page.addInitScript(() => { window.__xss = undefined; });
await page.goto(`${BASE}/#/live`);
await page.waitForSelector('#token');
await page.fill('#token', TOKEN);
await page.click('button[type=submit]');
await page.waitForSelector('.live-calls tbody tr[data-call="B0"]');
check('the Live view lists a call begun before the page opened', true);
check('the Live view is in the navigation', await page.$('nav a[href="#/live"]') !== null);
await until(page, () => document.querySelector('.live-meta')?.dataset.stream === 'live', null, 'the stream opens');

// new calls and events arrive without a reload, through the stream
line({ call: 'C1', type: 'speech', id: 1, state: 'open', start: 0.0, source: 'audiosocket' });
line({ call: 'C2', type: 'ringback', id: 1, state: 'open', start: 0.0 });
line({ call: 'C1', type: 'dtmf', digit: '5', start: 1.0 });
line({ call: 'C1', type: 'human', id: 2, state: 'closed', start: 2.0, end: 2.0, rule: 'quiet_handover' });
appendFileSync(EVENTS, 'not json at all\n');
line({ call: EVIL_CALL, type: EVIL_TYPE, id: 1, state: 'open', start: 0, rule: EVIL_RULE, source: '<b>src</b>' });
await until(page, () => document.querySelectorAll('.live-events li').length >= 6, null, 'the events arrive');
await until(page, () => document.querySelectorAll('.live-calls tbody tr').length >= 4, null, 'the calls table refreshes');
const rows = await page.$$eval('.live-calls tbody tr', (trs) => trs.map((tr) => tr.dataset.call));
check('the active calls: B0, C1, C2 and the one whose fields hold markup', rows.length === 4 && rows.includes('C1')
  && rows.includes(EVIL_CALL), rows.join(' | '));
const c1 = await page.$eval('.live-calls tr[data-call="C1"]', (tr) => [...tr.children].map((c) => c.textContent));
check("C1's row: its last event and decision (by its rule), no probe, its DTMF counted",
  c1[3] === 'human (closed)' && c1[4].trim() === 'human (quiet_handover)' && c1[5] === '0' && c1[6] === '1',
  c1.join(' | '));

// markup in the lines' fields is text
const evil = await page.evaluate((id) => {
  const tr = [...document.querySelectorAll('.live-calls tbody tr')].find((t) => t.dataset.call === id);
  const li = [...document.querySelectorAll('.live-events li')].find((l) => l.dataset.call === id);
  return { row: tr ? tr.querySelector('th').textContent : null, li: li ? li.textContent : '',
    xss: window.__xss, tags: document.querySelectorAll('.live-view img, .live-view script, .live-view b').length };
}, EVIL_CALL);
check('a call id, type and rule holding markup are shown as text, nothing run',
  evil.row === EVIL_CALL && evil.li.includes(EVIL_TYPE) && evil.li.includes(EVIL_RULE) && evil.xss === undefined
  && evil.tags === 0, JSON.stringify(evil));

// hold mode's probe and the reply that decided (docs/live/hold-slayer.md, "Asking the line")
line({ call: 'C3', type: 'probe', id: 1, state: 'closed', start: 5.0, end: 5.54, rule: 'candidate_paused', probe: 1 });
line({ call: 'C3', type: 'human', id: 2, state: 'closed', start: 3.2, end: 6.6, rule: 'probe_reply', probe: 1,
  reply_sec: 0.62 });
await until(page, () => document.querySelector('.live-calls tr[data-call="C3"]')?.textContent.includes('probe_reply'),
  null, "C3's probe and reply arrive");
const c3 = await page.$eval('.live-calls tr[data-call="C3"]', (tr) => [...tr.children].map((c) => c.textContent));
const c3ev = await page.$$eval('.live-events li', (ls) => ls.filter((l) => l.dataset.call === 'C3').map((l) => l.textContent));
check("C3's row: the decision by the probe's reply, its delay, one probe",
  c3[4].includes('human (probe_reply)') && c3[4].includes('replied 0.62 s after a probe') && c3[5] === '1',
  c3.join(' | '));
check("C3's events: the probe (which of two) and the reply", c3ev.some((t) => t.includes('probe 1 of 2'))
  && c3ev.some((t) => t.includes('replied 0.62 s after probe 1')), c3ev.join(' / '));

// one call: the filter
await page.fill('#live-call', 'C1');
await page.click('.live-view form button[type=submit]');
await until(page, () => location.hash === '#/live?call=C1'
  && document.querySelector('.live-meta')?.dataset.stream === 'live', null, 'the filter is in the URL');
await until(page, () => [...document.querySelectorAll('.live-events li')].length >= 3
  && [...document.querySelectorAll('.live-events li')].every((l) => l.dataset.call === 'C1'), null,
  "the filtered view holds C1's events only");
line({ call: 'C2', type: 'speech', id: 2, state: 'open', start: 1.0 });
line({ call: 'C1', type: 'call_end', reason: 'hangup', audio_sec: 4.2, analysed_sec: 4.2, audio_dropped_sec: 0 });
await until(page, () => document.querySelector('.live-ended tr[data-call="C1"]') !== null, null,
  "C1's call_end moves it to the recently ended calls");
const ended = await page.$eval('.live-ended tr[data-call="C1"]', (tr) => tr.textContent);
const only = await page.$$eval('.live-events li', (ls) => ls.map((l) => l.dataset.call));
check("the filtered stream: C1's end arrives, C2's line does not", ended.includes('hangup')
  && only.every((c) => c === 'C1') && (await page.$$('.live-calls tbody tr')).length === 0, `${ended} / ${only.join(',')}`);
await page.click('.live-view form button.ghost');
await until(page, () => location.hash === '#/live' && document.querySelector('.live-calls tr[data-call="C2"]'), null,
  'back to every call');
check('no console errors in the Live view', problems.length === 0, problems.join('; '));

// a call `callqa live` recorded, stored and analysed: its page shows the live events kept with it
{
  const api = await page.evaluate(async (id) => (await fetch(`api/qa/call/${id}`)).json(), RECORDED);
  const lv = api.live || {};
  const ag = lv.agreement || {};
  check('the recorded call has its live events in /api/qa/call (agreeing with the analysis)',
    lv.call === RECORDED && ag.compared === true && ag.agree === true && ag.live >= 1 && !api.live_error,
    JSON.stringify(ag));
  await page.goto(`${BASE}/#/call/${RECORDED}`);
  await until(page, () => document.querySelector('.live-kept .agreement') !== null, null,
    'the call page has a Live events section');
  const shown = await page.evaluate(() => ({
    agree: document.querySelector('.live-kept .agreement').dataset.agree,
    text: document.querySelector('.live-kept .agreement').textContent,
    rows: [...document.querySelectorAll('.live-kept table.decisions tbody tr')].map((tr) => tr.dataset.type),
    rules: [...document.querySelectorAll('.live-kept table.decisions code')].map((c) => c.textContent),
    imgs: document.querySelectorAll('.live-kept img').length,
    sub: document.querySelector('.live-kept .sub').textContent,
  }));
  check('it says the events decided live agree with the analysis, with the counts',
    shown.agree === 'yes' && shown.text.includes(`${ag.agreed} of ${ag.live}`), shown.text);
  check('the decisions made during the call are listed (human, by its rule)',
    shown.rows.filter((t) => t === 'human').length === 2 && shown.rules.includes('short_then_pause') &&
    shown.sub.includes('audiosocket') && shown.sub.includes('hangup'), JSON.stringify(shown));
  check('a rule holding markup is shown as text, nothing run',
    shown.rules.includes('<img src=x onerror="window.__xss=4">') && shown.imgs === 0 &&
    (await page.evaluate(() => window.__xss)) === undefined);
  check('no console errors on the recorded call\'s page', problems.length === 0, problems.join('; '));
}

// an agent: no Live view
const agent = await watchedPage(browser);
await agent.page.goto(`${BASE}/#/live`);
await signIn(agent.page, 'ann', 'a-long-password-1');
await agent.page.waitForSelector('header.top nav');
await sleep(500);
check('an agent sees no Live link and no Live view at #/live',
  (await agent.page.$('nav a[href="#/live"]')) === null && (await agent.page.$('.live-view')) === null);
const r = await agent.page.evaluate(async () => (await fetch('api/live/calls')).status);
check('and the service refuses them /api/live/calls (403)', r === 403, String(r));
await browser.close();
