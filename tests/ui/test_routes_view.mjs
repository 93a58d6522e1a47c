// The Routes views in a real browser against `callqa serve` on the store test_routes_view.sh
// filled: three carriers over five weeks, telco_b's MOS 0.6 lower from DEGRADED on. Each check
// prints one line; the first failure ends the run with exit 1.
//   environment: BASE (the service's URL), TOKEN, AGENT_USER and AGENT_PASSWORD (an agent, who
//   is refused), DEGRADED (when telco_b's MOS fell, ISO UTC), SHOTS (a folder for screenshots, or
//   empty)
import { mkdir } from 'node:fs/promises';
import { HANG_MS, launch, watchedPage, signIn } from './browser.mjs';

const { BASE, TOKEN, AGENT_USER, AGENT_PASSWORD, DEGRADED, SHOTS } = process.env;
function check(name, ok, detail = '') {
  if (!ok) {
    console.log(`FAIL: ${name}${detail ? ': ' + detail : ''}`);
    process.exit(1);
  }
  console.log(`ok: ${name}${detail ? ' (' + detail + ')' : ''}`);
}
async function until(page, fn, arg, what, ms = HANG_MS) {
  try {
    await page.waitForFunction(fn, arg, { timeout: ms });
  } catch {
    check(what, false, 'not within ' + ms + ' ms; the page says: '
      + (await page.evaluate(() => document.querySelector('main')?.innerText.slice(0, 400)).catch(() => '?')));
  }
}
const degraded = Date.parse(DEGRADED) / 1000;
const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const dDay = new Date(degraded * 1000);
const sinceText = `since ${MON[dDay.getUTCMonth()]} ${dDay.getUTCDate()} `;
const rows = (page) => page.$$eval('table.routes tbody tr', (trs) => trs.map((tr) => tr.dataset.route));

async function tokenSignIn(page, hash) {
  await page.goto(`${BASE}/${hash}`);
  await page.waitForSelector('#token');
  await page.fill('#token', TOKEN);
  await page.click('button[type=submit]');
}

const browser = await launch();
const { ctx, page, problems } = await watchedPage(browser);
await tokenSignIn(page, '#/routes?dim=carrier&days=14');
await until(page, () => document.querySelectorAll('table.routes tbody tr').length === 3, null, 'the carriers are listed');
check('the Routes view is in the navigation, current', await page.$eval('nav a[href="#/routes"]', (a) => a.getAttribute('aria-current')) === 'page');

// the list: the degraded carrier first, with its change as a badge
{
  const order = await rows(page);
  check('the carriers, the degraded one first', order.length === 3 && order[0] === 'telco_b'
    && order.includes('telco_a') && order.includes('telco_c'), order.join(', '));
  const b = await page.$eval('tr[data-route="telco_b"]', (tr) => ({
    badges: [...tr.querySelectorAll('.chg')].map((x) => ({ fig: x.dataset.figure, dir: x.dataset.direction, since: x.dataset.since, text: x.textContent })),
    mos: tr.querySelector('td[data-fig="mos"]').textContent,
    worse: [...tr.querySelectorAll('.worse-figs li')].map((l) => l.dataset.figure),
  }));
  const badge = b.badges.find((x) => x.fig === 'mos' && x.dir === 'worse');
  const size = badge && /MOS −0\.(\d\d)/.exec(badge.text);
  check("telco_b's badge: MOS −0.6 (NISQA v2) since the hour it fell", badge && size && +size[1] >= 50 && +size[1] <= 70
    && badge.text.includes('NISQA v2') && badge.text.includes(sinceText)
    && Math.abs(Date.parse(badge.since) / 1000 - degraded) <= 6 * 3600, badge ? `${badge.text}; since ${badge.since}` : JSON.stringify(b.badges));
  check("telco_b's MOS beside its model, its worsening listed", /^\d\.\d\d MOS/.test(b.mos) && b.mos.includes('NISQA v2')
    && b.worse.includes('mos'), `${b.mos}; worse: ${b.worse.join(',')}`);
  const others = await page.$$eval('tr[data-route="telco_a"] .chg, tr[data-route="telco_c"] .chg', (x) => x.length);
  check('the steady carriers have no change badge', others === 0, `${others}`);
}

// a figure not measured: "—" titled "not measured", never 0; the numbers with their units
{
  const c = await page.$eval('tr[data-route="telco_c"]', (tr) => Object.fromEntries(['attempts', 'answered', 'net_mos', 'loss', 'mos', 'one_way', 'score']
    .map((k) => { const td = tr.querySelector(`td[data-fig="${k}"]`); const na = td.querySelector('.na'); return [k, { text: td.textContent.trim(), na: na ? na.title : null }]; })));
  check("telco_c (no capture, no attempts): attempts, answered, network MOS and loss are — (not measured)",
    ['attempts', 'answered', 'net_mos', 'loss'].every((k) => c[k].text === '—' && c[k].na === 'not measured'), JSON.stringify(c));
  check("telco_c's measured figures carry their units", /^\d\.\d\d MOS/.test(c.mos.text) && c.mos.text.includes('NISQA v2')
    && / %$/.test(c.one_way.text) && / \/ 100$/.test(c.score.text), `${c.mos.text} | ${c.one_way.text} | ${c.score.text}`);
  const a = await page.$eval('tr[data-route="telco_a"]', (tr) => [tr.querySelector('td[data-fig="net_mos"]').textContent, tr.querySelector('td[data-fig="answered"]').textContent]);
  check("telco_a's network MOS beside its model, its answered share in %", /^\d\.\d\d MOS/.test(a[0]) && a[0].includes('ITU-T G.107 E-model')
    && /^\d+\.\d %$/.test(a[1]), a.join(' | '));
}

// the period selector: the URL holds it; over 7 days the change began before the period, and
// telco_b still comes first by its MOS against the week before
await page.selectOption('#rt-days', '7');
await until(page, () => location.hash === '#/routes?dim=carrier&days=7'
  && document.querySelector('table.routes caption')?.textContent.includes('7 days'), null, 'the period selector sets days=7 in the URL');
await until(page, () => document.querySelector('table.routes tbody tr')?.dataset.route === 'telco_b', null, 'telco_b first over 7 days');
{
  const w = await page.$$eval('tr[data-route="telco_b"] .worse-figs li', (ls) => ls.map((l) => [l.dataset.figure, l.textContent,
    l.querySelector('abbr')?.title]));
  check('over 7 days telco_b is first by its MOS against the week before', w.some(([f, t, a]) => f === 'mos' && /MOS → \d\.\d\d MOS \(\d+\.\d SE\)/.test(t)
    && a === 'standard errors worse than the period before'), w.map((x) => x[1]).join(' / '));
}
await page.goto(`${BASE}/#/routes?dim=carrier&days=14`);
await until(page, () => document.querySelector('table.routes tbody tr .chg') !== null, null, 'back to 14 days');

// a click on the row opens the route
await page.click('tr[data-route="telco_b"] td[data-fig="calls"]');
await until(page, () => location.hash === '#/route/carrier:telco_b?days=30', null, 'a click on the row opens #/route/carrier:telco_b?days=30');
await until(page, () => document.querySelector('svg.route-chart .change-mark, .route-view .error, .route-view .not-found') !== null, null,
  'the route chart with a change marker');
{
  const err = await page.$eval('.route-view', (v) => v.querySelector('.error, .not-found')?.textContent || null);
  check("the route's page loads", err === null, err);
  const h = await page.$eval('#route-h', (e) => e.textContent);
  check("the route's page names it", h === 'Carrier telco_b', h);
  const m = await page.$eval('svg.route-chart', (svg) => {
    const g = svg.querySelector('.change-mark');
    const line = g.querySelector('line.at');
    return { fig: svg.dataset.figure, x0: +svg.dataset.x0, x1: +svg.dataset.x1, left: +svg.dataset.left, right: +svg.dataset.right,
      since: g.dataset.since, dir: g.dataset.direction, figure: g.dataset.figure, x: +line.getAttribute('x1'), text: g.querySelector('text').textContent,
      marks: svg.querySelectorAll('.change-mark').length, path: svg.querySelector('path.series').getAttribute('d').length,
      by: document.querySelector('#route-by').value };
  });
  check('the chart shows MOS per hour (the figure of its worse change)', m.fig === 'mos' && m.by === 'hour' && m.path > 1000, `${m.fig}, ${m.by}`);
  const since = Date.parse(m.since) / 1000;
  const want = m.left + ((since - m.x0) / (m.x1 - m.x0)) * (m.right - m.left);
  const dayStart = Math.floor(degraded / 86400) * 86400;
  const xDay0 = m.left + ((dayStart - m.x0) / (m.x1 - m.x0)) * (m.right - m.left);
  const xDay1 = m.left + ((dayStart + 86400 - m.x0) / (m.x1 - m.x0)) * (m.right - m.left);
  check('one change marker, worse, on MOS, at its start, within the day the MOS fell', m.marks === 1 && m.dir === 'worse' && m.figure === 'mos'
    && Math.abs(m.x - want) < 1 && m.x >= xDay0 && m.x < xDay1 && Math.abs(since - degraded) <= 6 * 3600,
    `since ${m.since}, x ${m.x.toFixed(1)} in [${xDay0.toFixed(1)}, ${xDay1.toFixed(1)})`);
  const lv = /(\d\.\d\d) MOS → (\d\.\d\d) MOS/.exec(m.text);
  check('the marker is labelled before → after', lv && +lv[1] > 3.9 && +lv[1] < 4.2 && +lv[2] > 3.3 && +lv[2] < 3.6, m.text);
  const label = await page.$eval('svg.route-chart', (svg) => svg.getAttribute('aria-label'));
  check("the chart's label says what it shows and its change", label.includes('MOS (NISQA v2) per hour') && label.includes('worse since'), label);
}
// per day: the same change, on the day axis
await page.selectOption('#route-by', 'day');
await until(page, () => location.hash.includes('by=day') && document.querySelectorAll('svg.route-chart circle').length >= 28, null, 'the chart per day');
{
  const m = await page.$eval('svg.route-chart', (svg) => ({ x0: +svg.dataset.x0, x1: +svg.dataset.x1, since: svg.querySelector('.change-mark')?.dataset.since,
    days: svg.querySelectorAll('circle').length }));
  check('per day: 30 days, the change marked at the same start', m.days === 30 && Date.parse(m.since) / 1000 >= m.x0
    && Date.parse(m.since) / 1000 < m.x1 && Math.abs(Date.parse(m.since) / 1000 - degraded) <= 6 * 3600, `${m.days} days, since ${m.since}`);
}
// the changes, with their method and example calls
{
  const c = await page.$$eval('table.changes tbody tr', (trs) => trs.map((tr) => ({ fig: tr.dataset.figure, dir: tr.dataset.direction,
    method: tr.querySelector('.method').textContent, ex: [...tr.querySelectorAll('.examples a')].map((a) => a.getAttribute('href')) })));
  const mos = c.find((x) => x.fig === 'mos' && x.dir === 'worse');
  check("the change is listed with its method and example calls", mos && mos.method.includes('CUSUM') && mos.ex.length >= 1
    && mos.ex.every((h) => /^#\/call\/RB\d+$/.test(h)), JSON.stringify(mos || c));
}
// the hang-up causes
{
  const k = await page.$$eval('table.causes tbody tr', (trs) => trs.map((tr) => `${tr.dataset.kind}:${tr.dataset.cause}:${tr.children[2].textContent}`));
  check('the hang-up causes: dial status, Q.850 and SIP, each with its attempts', ['dialstatus:ANSWER', 'dialstatus:NOANSWER', 'q850:16', 'q850:19', 'sip:486']
    .every((p) => k.some((x) => x.startsWith(p + ':') && / attempts$/.test(x))), k.join(' | '));
}
// a figure with no value on this route: "—", not a chart of zeros
await page.selectOption('#route-fig', 'dnsmos');
await until(page, () => location.hash.includes('fig=dnsmos'), null, 'the figure selector sets fig=dnsmos');
await until(page, () => document.querySelector('.no-values .na') !== null, null, 'DNSMOS: not measured');
{
  const n = await page.$eval('.no-values', (p) => ({ text: p.textContent, title: p.querySelector('.na').title, svg: document.querySelectorAll('svg.route-chart').length }));
  check('a figure without values shows — (not measured), no chart', n.text.startsWith('—') && n.title === 'not measured' && n.svg === 0
    && n.text.includes('DNSMOS P.835 OVRL'), n.text);
}
await page.selectOption('#route-fig', 'net_mos');
await until(page, () => document.querySelector('svg.route-chart')?.dataset.figure === 'net_mos', null, 'the network MOS chart');
check('a figure without a change has no marker', (await page.$$('svg.route-chart .change-mark')).length === 0);
check('no console errors in the Routes views', problems.length === 0, problems.join('; '));
// an example call opens the call view (a call stored without its report: the call view's
// requests for it answer 404, which the browser logs)
{
  await page.selectOption('#route-fig', 'mos');
  await until(page, () => document.querySelector('svg.route-chart .change-mark') !== null, null, 'back to MOS');
  const id = await page.$eval('table.changes tbody tr[data-figure="mos"] .examples a', (a) => a.dataset.call);
  await page.click(`table.changes tbody tr[data-figure="mos"] .examples a[data-call="${id}"]`);
  await until(page, (x) => location.hash === `#/call/${x}` && document.querySelector('#call-h')?.textContent === `Call ${x}`, id, 'the example call opens');
  check('an example call of the change opens the call view', true, id);
  await page.goBack();
  await until(page, () => document.querySelector('table.worst a') !== null, null, 'back on the route');
}
// the worst calls of the last day, one click from the route
{
  const w = await page.$$eval('table.worst tr', (trs) => Object.fromEntries(trs.map((tr) => [tr.dataset.worst, [...tr.querySelectorAll('a')].map((a) => a.dataset.call)])));
  // every call of the last day has a MOS and a capture (its loss): those two lists are never empty
  check('the worst calls of the last day by MOS, loss, one-way and dead air', ['mos', 'loss', 'one_way', 'dead_air'].every((k) => w[k])
    && w.mos.length >= 1 && w.loss.length >= 1 && w.mos.every((id) => /^RB\d+$/.test(id)), JSON.stringify(w));
  await page.click(`table.worst tr[data-worst="mos"] a[data-call="${w.mos[0]}"]`);
  await until(page, (x) => document.querySelector('#call-h')?.textContent === `Call ${x}`, w.mos[0], "the worst call's view");
  check("the worst call by MOS opens in one click", true, w.mos[0]);
}

// the dimension selector: servers, campaigns, trunks
await page.goto(`${BASE}/#/routes?dim=carrier&days=14`);
await until(page, () => document.querySelectorAll('table.routes tbody tr').length === 3, null, 'the carriers again');
for (const [dim, want] of [['server', ['10.0.0.1', '10.0.0.2']], ['campaign', ['RENEW', 'SALES', 'SUPPORT']], ['trunk', ['198.51.100.10', '198.51.100.20']]]) {
  await page.selectOption('#rt-dim', dim);
  await until(page, (d) => location.hash === `#/routes?dim=${d}&days=14` && document.querySelector('table.routes caption')?.textContent.startsWith(
    { server: 'Dialer server', campaign: 'Campaign', trunk: 'Trunk' }[d]), dim, `the dimension selector sets dim=${dim}`);
  const got = (await rows(page)).sort();
  check(`the ${dim} routes`, JSON.stringify(got) === JSON.stringify(want), got.join(', '));
}
{
  const t = await page.$eval('tr[data-route="198.51.100.20"]', (tr) => [tr.querySelector('td[data-fig="attempts"] .na')?.title,
    tr.querySelectorAll('.chg[data-figure="mos"][data-direction="worse"]').length]);
  check("telco_b's trunk: its MOS change too; attempts not measured on a trunk", t[0] === 'not measured' && t[1] === 1, JSON.stringify(t));
}
{
  const other = problems.filter((x) => !/status of 404/.test(x));
  check('no other console errors', other.length === 0, other.join('; '));
}
await ctx.close();

// an agent may not see routes: no Routes link, and the view says so in words
{
  const { ctx: c2, page: p2, problems: pr2 } = await watchedPage(browser);
  await p2.goto(`${BASE}/#/routes`);
  await signIn(p2, AGENT_USER, AGENT_PASSWORD);
  await until(p2, () => document.querySelector('[data-refused="403"]') !== null, null, "the agent's Routes view says it is refused");
  const t = await p2.$eval('[data-refused="403"]', (e) => e.textContent);
  const nav = await p2.$('nav a[href="#/routes"]');
  check('an agent: no Routes in the navigation, the view says why in words', nav === null && t.includes('You may not see the routes')
    && t.includes('403'), t);
  await p2.goto(`${BASE}/#/route/carrier:telco_b`);
  await until(p2, () => document.querySelector('[data-refused="403"]')?.textContent.includes('this route'), null, "the agent's route page says it is refused");
  check('an agent: a route page refused in words', true);
  // a 403 is an answer, not a page error; the browser logs the failed request itself
  const other = pr2.filter((x) => !x.includes('403'));
  check("no other errors in the agent's views", other.length === 0, other.join('; '));
  await c2.close();
}

// screenshots, light and dark
if (SHOTS) {
  await mkdir(SHOTS, { recursive: true });
  for (const theme of ['light', 'dark']) {
    const { ctx: c3, page: p3 } = await watchedPage(browser, { colorScheme: theme });
    await tokenSignIn(p3, '#/routes?dim=carrier&days=14');
    await p3.waitForSelector('table.routes tbody tr .chg');
    await p3.waitForTimeout(300);
    await p3.screenshot({ path: `${SHOTS}/routes${theme === 'dark' ? '-dark' : ''}.png`, fullPage: true });
    await p3.goto(`${BASE}/#/route/carrier:telco_b?days=30`);
    await p3.waitForSelector('svg.route-chart .change-mark');
    await p3.waitForTimeout(300);
    await p3.screenshot({ path: `${SHOTS}/route${theme === 'dark' ? '-dark' : ''}.png`, fullPage: true });
    await c3.close();
  }
  console.log(`ok: screenshots in ${SHOTS}`);
}
await browser.close();
console.log('all routes view checks passed');
