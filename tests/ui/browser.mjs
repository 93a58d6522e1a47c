// Debian's Chromium driven by playwright-core, as the machine allows: headless, no sandbox when
// root, no background networking (the closed network refuses it), a fresh profile.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../ui/package.json'));
const { chromium } = require('playwright-core');

export async function launch() {
  const args = ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-default-apps', '--mute-audio',
    '--autoplay-policy=no-user-gesture-required'];
  if (process.getuid && process.getuid() === 0) args.push('--no-sandbox');
  return chromium.launch({
    executablePath: process.env.CALLQA_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args,
  });
}

// How long a page may take to show what a test waits for before the test calls it a hang (a
// loaded machine only makes it come later): every wait's default.
export const HANG_MS = 120000;

// Sign in on the login screen PAGE shows, as USER with PASSWORD (what follows is the caller's to
// wait for: the view, or its refusal).
export async function signIn(page, user, password) {
  await page.waitForSelector('#username');
  await page.fill('#username', user);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
}

// A page that records console errors, page errors and failed requests.
export async function watchedPage(browser, opts = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 }, ...opts });
  ctx.setDefaultTimeout(HANG_MS);
  const page = await ctx.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return { ctx, page, problems };
}
