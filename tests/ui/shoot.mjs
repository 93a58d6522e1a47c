// Screenshots of each view (docs/screenshots/), at 1366x768, light and dark.
//   node shoot.mjs BASE_URL OUT_DIR
import { mkdir } from 'node:fs/promises';
import { launch, watchedPage } from './browser.mjs';

const [base, out] = process.argv.slice(2);
await mkdir(out, { recursive: true });
const views = [
  ['calls', '#/calls', '.calls tbody tr'],
  ['call', '#/call/R04', '.span.k-hold'],
  ['call-transcript', '#/call/R10', '.turn'],
  ['call-network', '#/call/R02', 'svg.ladder .msg'],
  ['qa', '#/qa?days=14', 'table'],
  ['flagged', '#/flagged?days=30', '.qitem'],
  ['agent', '#/agent/ann', '.chart'],
  ['ops', '#/ops', '.tiles'],
];
const browser = await launch();
let bad = 0;
for (const theme of ['light', 'dark']) {
  const { ctx, page, problems } = await watchedPage(browser, { colorScheme: theme });
  if (process.env.TOKEN) { // sign in once per context
    await page.goto(`${base}/#/calls`);
    await page.waitForSelector('#token');
    await page.fill('#token', process.env.TOKEN);
    await page.click('button[type=submit]');
    await page.waitForSelector('.calls tbody tr');
  }
  for (const [name, hash, sel] of views) {
    await page.goto(`${base}/${hash}`);
    await page.waitForSelector(sel, { timeout: 10000 });
    await page.waitForTimeout(400);
    await page.screenshot({ path: `${out}/${name}${theme === 'dark' ? '-dark' : ''}.png`, fullPage: true });
  }
  if (problems.length) { bad++; console.error(problems.join('\n')); }
  await ctx.close();
}
await browser.close();
process.exit(bad ? 1 : 0);
