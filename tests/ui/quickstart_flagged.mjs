// The dashboard the quickstart serves, as its user meets it (tests/cli/test_quickstart.sh): the
// login screen takes the printed user and password, and the flagged queue lists exactly the
// sample calls built to be flagged.
//   node quickstart_flagged.mjs BASE_URL USER PASSWORD FLAGGED_ID[,FLAGGED_ID...]
import { launch, watchedPage, signIn } from './browser.mjs';

const [base, user, password, ids] = process.argv.slice(2);
const want = ids.split(',').sort();
const browser = await launch();
const { ctx, page, problems } = await watchedPage(browser);
let bad = [];
try {
  await page.goto(`${base}/`);
  await signIn(page, user, password);
  await page.waitForSelector('nav');
  await page.goto(`${base}/#/flagged`);
  await page.waitForSelector('li.qitem');
  const got = (await page.$$eval('li.qitem', (els) => els.map((e) => e.dataset.call))).sort();
  if (JSON.stringify(got) !== JSON.stringify(want)) bad.push(`flagged queue: ${got} (want ${want})`);
  const reason = await page.textContent(`li.qitem[data-call="${want[0]}"] p.sub`);
  if (!/below 60/.test(reason || '')) bad.push(`the flag's reason not shown: ${reason}`);
} catch (e) {
  bad.push(`${e.message}`);
}
bad = bad.concat(problems);
await ctx.close();
await browser.close();
if (bad.length) console.error(bad.join('\n'));
else console.log(`the flagged queue lists ${want.join(', ')}, with the reason`);
process.exit(bad.length ? 1 : 0);
