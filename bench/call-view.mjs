// bench/call-view.mjs - the dashboard's call view of one call in headless Chromium (Debian's,
// driven by playwright-core), timed inside the page:
//   cold   a new browser context opens BASE/#/call/ID: HTML, scripts, the call, its report and
//          its level envelope fetched, the timeline drawn. Ready = both legs' level canvases,
//          the spans and the panels are in the document; the time is performance.now() then
//          (milliseconds from the navigation's start).
//   warm   the same page goes to the calls list and back to the call (the scripts cached, the
//          data fetched again): from the hash change to ready.
//   zoom   "+ Zoom in" clicked: from the click to the next frame painted with the new range.
//   play   the recording plays for PLAY_MS: the intervals between animation frames while the
//          playhead moves (p50, p99, max) and the long tasks (> 50 ms) the page reported.
//   usage: node bench/call-view.mjs BASE ID RUNS   (prints one JSON object per run, then ends)
import { launch } from '../tests/ui/browser.mjs';

const [BASE, ID, RUNS_] = process.argv.slice(2);
const RUNS = +RUNS_ || 10;
const PLAY_MS = +(process.env.PLAY_MS || 5000);
if (!BASE || !ID) {
  console.error('usage: node bench/call-view.mjs BASE ID RUNS');
  process.exit(2);
}

// performance.now() once the view is ready, else false (a function: the page's CSP forbids eval)
const READY = () => document.querySelectorAll('.lane-track.env canvas').length === 2 &&
  document.querySelectorAll('.span').length > 0 && !!document.querySelector('.turns, .panel') &&
  performance.now();

const browser = await launch();
const errors = [];
try {
  for (let r = 0; r < RUNS; r++) {
    const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.addInitScript(() => {
      window.__long = [];
      new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push(e.duration); })
        .observe({ type: 'longtask', buffered: true });
    });
    await page.goto(`${BASE}/#/call/${encodeURIComponent(ID)}`);
    const cold = await page.waitForFunction(READY, null, { polling: 'raf', timeout: 30000 })
      .then((h) => h.jsonValue());
    const spans = await page.evaluate(() => document.querySelectorAll('.span').length);
    const coldLong = await page.evaluate(() => window.__long.splice(0));

    await page.evaluate(() => { location.hash = '#/calls'; });
    await page.waitForSelector('tbody tr', { timeout: 30000 });
    const t0 = await page.evaluate((id) => { const t = performance.now(); location.hash = `#/call/${encodeURIComponent(id)}`; return t; }, ID);
    const t1 = await page.waitForFunction(READY, null, { polling: 'raf', timeout: 30000 })
      .then((h) => h.jsonValue());

    const zoom = await page.evaluate(() => new Promise((resolve) => {
      const range = document.querySelector('.tl-range');
      const before = range.textContent;
      const button = [...document.querySelectorAll('.tl-head button')].find((b) => /Zoom in/.test(b.textContent));
      const t = performance.now();
      button.click();
      const wait = () => (range.textContent !== before
        ? requestAnimationFrame(() => resolve(performance.now() - t)) : requestAnimationFrame(wait));
      requestAnimationFrame(wait);
    }));
    await page.evaluate(() => { window.__long.splice(0); });

    const play = await page.evaluate((ms) => new Promise((resolve, reject) => {
      const a = document.querySelector('audio');
      if (!a) { reject(new Error('no audio element')); return; }
      a.muted = true;
      a.currentTime = 100;
      a.play().then(() => {
        const gaps = [];
        let last = performance.now();
        const start = last;
        const frame = (now) => {
          gaps.push(now - last);
          last = now;
          if (now - start < ms) requestAnimationFrame(frame);
          else {
            const moved = a.currentTime;
            a.pause();
            const head = document.querySelector('.playhead');
            gaps.shift();
            gaps.sort((x, y) => x - y);
            const q = (f) => gaps[Math.min(gaps.length - 1, Math.ceil(f * gaps.length) - 1)];
            resolve({ frames: gaps.length, p50: q(0.5), p99: q(0.99), max: gaps[gaps.length - 1],
              long: window.__long.length, longMax: Math.max(0, ...window.__long),
              audio_sec: moved - 100, playhead: !!head });
          }
        };
        requestAnimationFrame(frame);
      }, reject);
    }), PLAY_MS);
    console.log(JSON.stringify({ run: r, cold_ms: cold, spans, cold_long: coldLong.length,
      cold_long_max: Math.max(0, ...coldLong), warm_ms: t1 - t0, zoom_ms: zoom, play }));
    await ctx.close();
  }
} finally {
  await browser.close();
}
if (errors.length) {
  console.error(`page errors: ${errors.join(' | ')}`);
  process.exit(1);
}
