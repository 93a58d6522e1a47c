// The mono calls' views (shoot_mono.sh), light and dark, full page.
//   node shoot_mono.mjs BASE_URL OUT_DIR
import { launch, watchedPage } from './browser.mjs';

const [base, out] = process.argv.slice(2);
const views = [
  ['call-mono', '#/call/MONO-SAMPLE', '.lane[aria-label="Speakers (diarization)"]'],
  ['call-mono-pyannote', '#/call/MONO-PYANNOTE', '.lane[aria-label="Speakers (diarization)"]'],
];
const browser = await launch();
let bad = 0;
for (const theme of ['light', 'dark']) {
  const { ctx, page, problems } = await watchedPage(browser, { colorScheme: theme });
  for (const [name, hash, sel] of views) {
    await page.goto(`${base}/${hash}`);
    await page.waitForSelector(sel, { timeout: 15000 });
    await page.waitForTimeout(500);
    await page.screenshot({ path: `${out}/${name}${theme === 'dark' ? '-dark' : ''}.png`, fullPage: true });
  }
  if (problems.length) { bad++; console.error(problems.join('\n')); }
  await ctx.close();
}
await browser.close();
process.exit(bad ? 1 : 0);
