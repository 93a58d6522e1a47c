// The quickstart's calls in the dashboard (shoot_quickstart.sh): the calls list, for the README.
//   node shoot_quickstart.mjs BASE_URL OUT_DIR
import { launch, watchedPage } from './browser.mjs';

const [base, out] = process.argv.slice(2);
const browser = await launch();
const { ctx, page, problems } = await watchedPage(browser, { colorScheme: 'light' });
await page.setViewportSize({ width: 1280, height: 760 });
await page.goto(`${base}/#/calls`);
await page.waitForSelector('table tbody tr', { timeout: 15000 });
await page.waitForTimeout(500);
await page.screenshot({ path: `${out}/quickstart.png` });
await ctx.close();
await browser.close();
if (problems.length) console.error(problems.join('\n'));
process.exit(problems.length ? 1 : 0);
