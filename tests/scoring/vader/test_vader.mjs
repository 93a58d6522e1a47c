// test_vader.mjs - callqa's VADER (src/scoring/sc_vader.c, through vader_probe) against the
// reference, the npm package vader-sentiment 1.1.3 (installed by the build from
// tests/scoring/vader/package-lock.json), on: the examples of VADER's README and of the package's
// own tests; rule-by-rule cases (negation, "never so", "without", "but", "least", "kind of",
// idioms, ALL CAPS, '!' and '?'); each lexicon entry alone and in two sentences; sentences
// generated from the lexicon and the rules' word lists (seeded); and every segment of the 30
// Harper Valley bank calls (ASR `transcript` and `human_transcript`). Every compound must agree
// within 1e-3 (the reference rounds it to 4 decimals), and so must the neg, neu and pos shares
// (rounded to 3 decimals by the reference). The C side reads the lexicon file of the
// installed package, after its sha256 is checked against the pin (scoring.h, scripts/fetch-models).
// Then Spearman's rho between the reference's compound and the corpus's own emotion model
// (positive - negative), per segment.
//   usage: node test_vader.mjs VADER_PROBE SOURCE_DIR SHARED_DIR
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [probe, src, shared] = process.argv.slice(2);
if (!probe || !src || !shared) {
  console.error('usage: node test_vader.mjs VADER_PROBE SOURCE_DIR SHARED_DIR');
  process.exit(2);
}
const here = path.dirname(new URL(import.meta.url).pathname);
const pkgDir = path.join(here, 'node_modules', 'vader-sentiment');
if (!fs.existsSync(path.join(pkgDir, 'package.json'))) {
  console.log('FAIL: tests/scoring/vader/node_modules is missing (the build runs npm ci there)');
  process.exit(1);
}
const require = createRequire(path.join(here, 'package.json'));
const vader = require('vader-sentiment');
const version = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
const fail = (msg) => {
  console.log(`FAIL: ${msg}`);
  process.exit(1);
};
if (version !== '1.1.3') fail(`vader-sentiment is ${version}, not the pinned 1.1.3`);

// the lexicon's pin, the same in the three places that name it
const lexPath = path.join(pkgDir, 'vader_lexicon.txt');
const lexBytes = fs.readFileSync(lexPath);
const sha = createHash('sha256').update(lexBytes).digest('hex');
const pinH = /SC_VADER_SHA256 "([0-9a-f]{64})"/.exec(
  fs.readFileSync(path.join(src, 'src/scoring/scoring.h'), 'utf8'));
const pinF = /VADER_SHA=([0-9a-f]{64})/.exec(
  fs.readFileSync(path.join(src, 'scripts/fetch-models'), 'utf8'));
if (!pinH || !pinF) fail('the lexicon sha256 pin is missing in scoring.h or scripts/fetch-models');
if (sha !== pinH[1] || sha !== pinF[1])
  fail(`the lexicon's sha256 ${sha} is not the pin (scoring.h ${pinH[1]}, fetch-models ${pinF[1]})`);

// ---- the texts --------------------------------------------------------------------------------
const examples = [
  // VADER's README: the demo and the "tricky" sentences
  'VADER is smart, handsome, and funny.',
  'VADER is smart, handsome, and funny!',
  'VADER is very smart, handsome, and funny.',
  'VADER is VERY SMART, handsome, and FUNNY.',
  'VADER is VERY SMART, handsome, and FUNNY!!!',
  'VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!',
  'VADER is not smart, handsome, nor funny.',
  'The book was good.',
  'At least it isn\'t a horrible book.',
  'The book was only kind of good.',
  'The plot was good, but the characters are uncompelling and the dialog is not great.',
  'Today SUX!',
  'Today only kinda sux! But I\'ll get by, lol',
  'Make sure you :) or :D today!',
  'Catch utf-8 emoji such as such as 💘 and 💋 and 😁',
  'Not bad at all',
  'Sentiment analysis has never been good.',
  'Sentiment analysis has never been this good!',
  'Most automated sentiment analysis tools are shit.',
  'With VADER, sentiment analysis is the shit!',
  'Other sentiment analysis tools can be quite bad.',
  'On the other hand, VADER is quite bad ass',
  'VADER is such a badass!',
  'Without a doubt, excellent idea.',
  'Roger Dodger is one of the most compelling variations on this theme.',
  'Roger Dodger is at least compelling as a variation on the theme.',
  'Roger Dodger is one of the least compelling variations on this theme.',
  'Not such a badass after all.',
  'Without a doubt, an excellent idea.',
  // the package's README and tests
  'VADER is very smart, handsome, and funny',
  'The book was kind of good.',
  // one rule at a time
  'It was never so good', 'It was never this bad', 'never so very good', 'I am never this happy!',
  'it is so good', 'this good', 'not so good', 'not very good', 'isn\'t good', 'Isn\'t good',
  'Not good', 'NOT good', 'not GOOD at all', 'without doubt a great idea', 'hardly good',
  'kind of good', 'KIND OF good', 'kind-of good', 'sort of nice', 'sort of nice thing',
  'it was the bomb', 'yeah right, great', 'that will cut the mustard', 'the kiss of death here',
  'living hand to mouth', 'bad ass', 'The shit', 'the least bit good', 'at least good',
  'very least good', 'least good', 'Least good', 'the LEAST good', 'good but bad', 'bad BUT good',
  'good but', 'but good', 'good, but not great', 'good!', 'good!!', 'good!!!!!!', 'bad!!!',
  'good?', 'good??', 'good???', 'good????', 'bad??', 'good?!?', 'okay', 'ok', 'OK', 'lol', 'LOL',
  ':)', ':-)', ':(', '(:', ':D', ':-Þ', ':Þ', ':-þ', 'xd', 'x-d', 'd:', 'fav', 'muah', 'sob',
  '"good"', '(good)', '\'good\'', 'good.', '.good', 'good...', 'good,bad', 'good-bad', 'g',
  '', ' ', '!!!', '??', 'a b c', 'I love it', 'I LOVE it', 'I LOVE IT', 'LOVE', 'I don\'t love it',
  'I dont love it', 'can\'t stand it', 'fed up', 'really really good', 'extremely BAD service',
  'EXTREMELY bad service', 'the service was not bad at all, thank you!',
  'thank you so much for your help', 'this is ridiculous, I want to close my account',
  'I\'m not happy with this at all', 'great great great', 'no', 'no problem', 'not a problem',
  'good\u00a0bad', 'good\u2028bad', 'good\u3000great', 'good\tbad\nugly', '\u212Aill', 'ＧＯＯＤ',
  'GOOD bad', 'Good Bad', 'ÉTÉ good', 'é good', 'İ love', 'LOVE 😁', '😁😁 good',
];

// every lexicon entry, alone and in two sentences (its last line wins, as in the reference)
const lexicon = [];
for (const line of lexBytes.toString('utf8').split('\n')) {
  if (!line) continue;
  const w = line.split('\t')[0];
  lexicon.push(w);
}
const lexTexts = [];
for (const w of lexicon) {
  lexTexts.push(w, `not very ${w.toUpperCase()} at all!`,
    `it was kind of ${w}, but the ${w} was never so ${w}??`);
}

// sentences generated from the lexicon and the rules' words (a seeded generator)
let seed = 38;
const rnd = (n) => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed % n;
};
const extra = ['but', 'BUT', 'never', 'so', 'this', 'not', 'no', 'kind', 'of', 'least', 'at',
  'very', 'the', 'shit', 'bomb', 'yeah', 'right', 'without', 'doubt', 'isn\'t', 'don\'t', 'sort',
  'kinda', 'really', 'extremely', 'barely', 'hardly', 'i', 'you', 'it', 'was', 'and', 'a', 'to',
  'cut', 'mustard', 'kiss', 'death', 'hand', 'mouth', 'bad', 'ass', 'just', 'enough'];
const punct = ['', '', '', '', ',', '.', '!', '?', '!!', '??', '...', ':', '"', '\'', '-', '!?!'];
const generated = [];
for (let i = 0; i < 20000; i++) {
  const n = 1 + rnd(12);
  const ws = [];
  for (let j = 0; j < n; j++) {
    let w = rnd(3) === 0 ? lexicon[rnd(lexicon.length)] : extra[rnd(extra.length)];
    if (rnd(6) === 0) w = w.toUpperCase();
    else if (rnd(10) === 0) w = w[0].toUpperCase() + w.slice(1);
    if (rnd(4) === 0) w += punct[rnd(punct.length)];
    if (rnd(12) === 0) w = punct[rnd(punct.length)] + w;
    ws.push(w);
  }
  generated.push(ws.join(rnd(8) === 0 ? '  ' : ' '));
}

// the bank calls
const txDir = path.join(shared, 'transcripts', 'transcript');
const segs = [];
const haveCorpus = fs.existsSync(txDir);
if (haveCorpus) {
  for (const f of fs.readdirSync(txDir).filter((f) => f.endsWith('.json')).sort()) {
    for (const s of JSON.parse(fs.readFileSync(path.join(txDir, f), 'utf8'))) segs.push(s);
  }
}
const corpusTexts = [];
for (const s of segs) corpusTexts.push(String(s.transcript ?? ''), String(s.human_transcript ?? ''));

const groups = [['examples', examples], ['lexicon entries', lexTexts], ['generated', generated],
  ['bank-call segments (ASR and human)', corpusTexts]];
const texts = groups.flatMap(([, t]) => t);

// ---- both implementations ---------------------------------------------------------------------
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vader-'));
const t0 = process.hrtime.bigint();
fs.writeFileSync(path.join(tmp, 'texts.json'), JSON.stringify(texts));
let cOut;
try {
  cOut = JSON.parse(execFileSync(probe, [lexPath, path.join(tmp, 'texts.json')],
    { maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'inherit'] }).toString());
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
const cSec = Number(process.hrtime.bigint() - t0) / 1e9;
if (cOut.length !== texts.length) fail(`the probe gave ${cOut.length} scores for ${texts.length} texts`);
const refAll = texts.map((t) => vader.SentimentIntensityAnalyzer.polarity_scores(t));
const ref = refAll.map((r) => r.compound);
let shareWorst = 0, shareBad = 0;
for (let i = 0; i < texts.length; i++) {
  for (const [k, j] of [['neg', 1], ['neu', 2], ['pos', 3]]) {
    const d = Math.abs(cOut[i][j] - refAll[i][k]);
    if (d > shareWorst) shareWorst = d;
    if (d > 1e-3 && ++shareBad <= 10) console.log(`  ${k} differs: ${JSON.stringify(texts[i])}: C ${cOut[i][j]}, npm ${refAll[i][k]}`);
  }
}
for (let i = 0; i < cOut.length; i++) cOut[i] = cOut[i][0];

let at = 0, worst = 0, worstText = '', bad = 0, exact = 0;
for (const [name, group] of groups) {
  let gmax = 0;
  for (let i = 0; i < group.length; i++, at++) {
    const d = Math.abs(cOut[at] - ref[at]);
    if (Number(cOut[at].toFixed(4)) === ref[at]) exact++;
    if (d > gmax) gmax = d;
    if (d > worst) [worst, worstText] = [d, texts[at]];
    if (d > 1e-3) {
      bad++;
      if (bad <= 20) console.log(`  differ (${name}): ${JSON.stringify(texts[at])}: C ${cOut[at]}, npm ${ref[at]}`);
    }
  }
  console.log(`${name}: ${group.length} texts, max |C - npm| = ${gmax.toExponential(2)}`);
}
console.log(`all: ${texts.length} texts, max |C - npm| = ${worst.toExponential(2)}` +
  (worstText ? ` (${JSON.stringify(worstText.slice(0, 60))})` : '') +
  `; equal at the reference's 4 decimals: ${exact}; C side ${cSec.toFixed(2)} s with the probe`);
console.log(`neg, neu, pos: max |C - npm| = ${shareWorst.toExponential(2)} (the reference rounds them to 3 decimals)`);
if (bad) fail(`${bad} texts differ by more than 1e-3`);
if (shareBad) fail(`${shareBad} neg, neu or pos shares differ by more than 1e-3`);

// ---- Spearman's rho against the corpus's emotion model ----------------------------------------
const ranks = (a) => {
  const idx = a.map((v, i) => [v, i]).sort((x, y) => x[0] - y[0]);
  const r = new Array(a.length);
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1][0] === idx[i][0]) j++;
    for (let k = i; k <= j; k++) r[idx[k][1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
};
const pearson = (x, y) => {
  const n = x.length, mx = x.reduce((a, b) => a + b, 0) / n, my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
};
if (!haveCorpus) {
  console.log(`SKIP: ${txDir} is missing (the examples, the lexicon and the generated texts agreed)`);
  process.exit(77);
}
for (const field of ['transcript', 'human_transcript']) {
  const x = [], y = [];
  let nonzero = 0;
  for (const s of segs) {
    const t = String(s[field] ?? '').trim();
    if (!t || !Array.isArray(s.emotion) || s.emotion.length !== 3) continue;
    const c = vader.SentimentIntensityAnalyzer.polarity_scores(t).compound;
    nonzero += c !== 0;
    x.push(c);
    y.push(s.emotion[2] - s.emotion[0]);
  }
  const rho = pearson(ranks(x), ranks(y));
  console.log(`spearman rho (VADER compound of ${field} vs emotion positive - negative): ` +
    `${rho.toFixed(3)} over ${x.length} segments of ${segs.length} (${nonzero} with a non-zero compound)`);
}
console.log('PASS');
