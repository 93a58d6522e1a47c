// The dashboard after the quickstart's steps (test_qa_quickstart.sh): every sample call partly
// scored (no LLM), none with a total. The QA summary shows each day's partly scored calls and
// their average apart from the scored ones, as GET /api/qa/daily-summary gives them; the
// leaderboard lists the agents unranked with theirs; the clipped calls' badge is a drawn icon and
// its words, no font glyph; no request of any page load answers 404.
//   node qa_quickstart.mjs BASE_URL USER PASSWORD CLIPPED_ID[,CLIPPED_ID...]
import { launch, watchedPage, signIn } from './browser.mjs';

const [base, user, password, clippedIds] = process.argv.slice(2);
const clipped = (clippedIds || '').split(',').filter(Boolean);
const browser = await launch();
const { ctx, page, problems } = await watchedPage(browser);
const notFound = [];
page.on('response', (r) => { if (r.status() === 404) notFound.push(`${r.request().method()} ${r.url()}`); });
const bad = [];
let n = 0;
function check(what, ok, got) {
  n++;
  if (ok) console.log(`ok ${n} - ${what}`);
  else {
    console.log(`not ok ${n} - ${what}: ${typeof got === 'string' ? got : JSON.stringify(got)}`);
    bad.push(what);
  }
}
const scoreText = (v) => (typeof v === 'number' ? `${Number.isInteger(v) ? v : v.toFixed(1)} / 100` : '—');
// symbols used as icons (arrows, mathematical operators, technical and geometric shapes, dingbats,
// supplemental arrows and operators, emoji); the text's own → ("from → to"), − (a sign) and ≥
// (a label's "at least") are words, not icons
const GLYPH = /[\u2190\u2191\u2193-\u21FF\u2200-\u2211\u2213-\u2264\u2266-\u23FF\u25A0-\u27BF\u2900-\u2BFF\u{1F300}-\u{1FAFF}]/u;

// a full load of the page at HASH (the document fetched again), until SELECTOR shows
async function load(hash, selector) {
  await page.goto(`${base}/${hash}`);
  await page.reload();
  await page.waitForSelector(selector);
  await page.waitForTimeout(800); // the requests the view makes after its first paint
}

try {
  await page.goto(`${base}/`);
  await signIn(page, user, password);
  await page.waitForSelector('nav');
  const get = async (p) => (await page.request.get(`${base}/${p}`)).json();

  // the QA summary
  await load('#/qa?days=7', 'table.leaderboard tr[data-agent], section[aria-labelledby=qa-h] p.empty');
  const days = await get('api/qa/daily-summary?days=7');
  const scored = days.reduce((a, d) => a + d.scored_calls, 0);
  const partly = days.filter((d) => d.partial_only_calls > 0);
  check('no call has a total (no LLM): scored 0', scored === 0, days);
  check('the calls are partly scored', partly.length > 0, days);
  for (const d of days) {
    const row = `table.days tr[data-day="${d.date}"]`;
    const cells = await page.$$eval(`${row} td.partly, ${row} td.partly-avg`, (els) => els.map((e) => e.textContent.trim()));
    check(`${d.date}: partly scored ${d.partial_only_calls}, average ${scoreText(d.avg_partial_only_score)}`,
      JSON.stringify(cells) === JSON.stringify([String(d.partial_only_calls), scoreText(d.avg_partial_only_score)]), cells);
    if (d.partial_only_calls > 0)
      check(`${d.date}: the partial scores kept out of the scored average`, d.avg_score === null && d.scored_calls === 0, d);
  }
  const heads = await page.$$eval('table.days th[scope=col]', (els) => els.map((e) => e.textContent.trim()));
  check('the summary labels them "Partly scored" and "Partial average"', heads.includes('Partly scored') && heads.includes('Partial average'), heads);

  // the leaderboard: every agent listed, none ranked, with their partly scored calls
  const lb = await get('api/qa/leaderboard?days=7&min_calls=1&partial=1');
  check('the leaderboard lists the agents of partly scored calls', lb.length >= 3 && lb.every((a) => a.partial_only_calls > 0), lb);
  check('none of them ranked, none with an average score', lb.every((a) => a.rank === null && a.avg_score === null && a.calls === 0), lb);
  const shown = await page.$$eval('table.leaderboard tr[data-agent]', (els) => els.map((e) => e.dataset.agent));
  check('the page lists the same agents in the same order', JSON.stringify(shown) === JSON.stringify(lb.map((a) => a.agent_user)), shown);
  for (const a of lb) {
    const row = `table.leaderboard tr[data-agent="${a.agent_user}"]`;
    const got = await page.$$eval(`${row} td`, (els) => els.map((e) => e.textContent.trim()));
    const want = ['—', String(a.partial_only_calls), scoreText(a.avg_partial_only_score)];
    check(`${a.agent_user}: rank —, partly scored ${want[1]}, average ${want[2]}`,
      got[0] === want[0] && got[got.length - 2] === want[1] && got[got.length - 1] === want[2], got);
  }
  const empty = await page.$$eval('section[aria-labelledby=qa-h] .empty', (els) => els.map((e) => e.textContent));
  check('no "nothing scored" message', empty.length === 0, empty);

  // an agent's page: the partly scored calls apart, as the API gives them
  if (lb.length) {
    const who = lb[0].agent_user;
    const ag = await get(`api/qa/agent/${encodeURIComponent(who)}?days=7`);
    await load(`#/agent/${encodeURIComponent(who)}`, 'dd.partly');
    const partly = await page.$eval('dd.partly', (e) => e.textContent.trim());
    const want = `${ag.partial_only_calls} calls, average ${scoreText(ag.avg_partial_only_score)}`;
    check(`${who}'s page: partly scored ${want}, no average score`, partly === want && ag.avg_score === null, [partly, want, ag.avg_score]);
  }

  // the calls list: the badges drawn
  await load('#/calls', 'tr[data-call]');
  for (const id of clipped) {
    const b = await page.$$eval(`tr[data-call="${id}"] .badge.b-clipping`, (els) => els.map((e) => ({
      svg: e.querySelectorAll('svg.icon').length, text: e.textContent.trim() })));
    check(`${id}: the clipping badge is a drawn icon and its word`, b.length === 1 && b[0].svg === 1 && b[0].text === 'Clipping', b);
  }
  const badges = await page.$$eval('.badge', (els) => els.map((e) => ({ svg: e.querySelectorAll('svg').length, text: e.textContent.trim() })));
  check('every badge carries a drawn icon and no symbol glyph', badges.length > 0 && badges.every((b) => b.svg === 1 && /^[\x20-\x7E]+$/.test(b.text)), badges);

  // the other views a newcomer opens; no icon glyph in any
  for (const [hash, sel] of [['#/flagged', 'li.qitem'], [`#/call/${clipped[0] || ''}`, '.badge'], ['#/ops', 'h1'], ['#/live', '.live-view[data-ready=yes]'], ['#/qa', 'section[aria-labelledby=qa-h] h2']]) {
    await load(hash, sel);
    const text = await page.evaluate(() => document.body.innerText);
    const m = text.match(GLYPH);
    check(`${hash}: no symbol glyph used as an icon`, !m, m && m[0]);
    const css = await page.evaluate(() => [...document.querySelectorAll('*')]
      .flatMap((e) => [getComputedStyle(e, '::before').content, getComputedStyle(e, '::after').content]));
    const drawn = css.filter((c) => GLYPH.test(c));
    check(`${hash}: no icon drawn with a glyph in CSS`, drawn.length === 0, drawn);
  }
  check('no request of a page load answered 404', notFound.length === 0, notFound);
} catch (e) {
  check('the dashboard', false, e.message);
}
check('no console or page error', problems.length === 0, problems);
await ctx.close();
await browser.close();
console.log(`1..${n}`);
process.exit(bad.length ? 1 : 0);
