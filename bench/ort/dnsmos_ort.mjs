// bench/ort/dnsmos_ort.mjs - the peer of `bench/stages.sh dnsmos-peer`: the published DNSMOS
// script's two ONNX graphs (sig_bak_ovr.onnx on each 9.01 s window, model_v8.onnx on its mel
// features) run by onnxruntime (the onnxruntime-node package's libonnxruntime.so) at one
// thread, one graph run per window as the script does.
//
//   node dnsmos_ort.mjs MODEL_DIR/dnsmos FILE.wav FEATURE_DIR RUNS
//
// FEATURE_DIR: bench/dnsmos_peer_features.py's CASE.starts and CASE.f32 for the cases "windowed"
// (consecutive windows) and "reference" (the literal script: a window every second). Each case
// is run once untimed (warm-up), then RUNS times; prints, per case, the median wall and CPU
// seconds of the graph runs alone (the features are made beforehand, untimed) and then one JSON
// line of every window's scores.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ort from "onnxruntime-node";

const [modelDir, wavPath, featDir, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 3);
const WIN = 144160;
const POLY = {
  sig: [-0.08397278, 1.22083953, 0.0052439],
  bak: [-0.13166888, 1.60915514, -0.39604546],
  ovrl: [-0.06766283, 1.11546468, 0.04602535],
};
const poly = (p, x) => p[0] * x * x + p[1] * x + p[2];

// A RIFF WAVE file of 16-bit PCM or 32-bit float mono, as float64 samples.
function readWav(path) {
  const b = readFileSync(path);
  if (b.toString("ascii", 0, 4) !== "RIFF" || b.toString("ascii", 8, 12) !== "WAVE")
    throw new Error(`${path}: not a WAVE file`);
  let fmt = null;
  for (let o = 12; o + 8 <= b.length; ) {
    const id = b.toString("ascii", o, o + 4), n = b.readUInt32LE(o + 4);
    if (id === "fmt ")
      fmt = { tag: b.readUInt16LE(o + 8), ch: b.readUInt16LE(o + 10), rate: b.readUInt32LE(o + 12),
              bits: b.readUInt16LE(o + 22) };
    if (id === "data") {
      if (!fmt || fmt.ch !== 1 || fmt.rate !== 16000) throw new Error(`${path}: need mono 16 kHz`);
      const k = fmt.bits / 8, m = Math.floor(Math.min(n, b.length - o - 8) / k);
      const x = new Float64Array(m);
      for (let i = 0; i < m; i++)
        x[i] = fmt.bits === 16 ? b.readInt16LE(o + 8 + 2 * i) / 32768 : b.readFloatLE(o + 8 + 4 * i);
      return x;
    }
    o += 8 + n + (n & 1);
  }
  throw new Error(`${path}: no data`);
}

const opts = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: "sequential",
               graphOptimizationLevel: "all" };
const p835 = await ort.InferenceSession.create(join(modelDir, "sig_bak_ovr.onnx"), opts);
const p808 = await ort.InferenceSession.create(join(modelDir, "model_v8.onnx"), opts);

let x = readWav(wavPath);
while (x.length < WIN) { // the script's doubling of a short clip
  const y = new Float64Array(2 * x.length);
  y.set(x), y.set(x, x.length);
  x = y;
}

async function score(starts, feats) {
  const out = [];
  for (let w = 0; w < starts.length; w++) {
    const seg = Float32Array.from(x.subarray(starts[w], starts[w] + WIN));
    const a = await p835.run({ [p835.inputNames[0]]: new ort.Tensor("float32", seg, [1, WIN]) });
    const f = feats.subarray(w * 900 * 120, (w + 1) * 900 * 120);
    const b = await p808.run({ [p808.inputNames[0]]: new ort.Tensor("float32", f, [1, 900, 120]) });
    const raw = a[p835.outputNames[0]].data, mos = b[p808.outputNames[0]].data[0];
    out.push({ start: starts[w], sig: poly(POLY.sig, raw[0]), bak: poly(POLY.bak, raw[1]),
               ovrl: poly(POLY.ovrl, raw[2]), p808: mos });
  }
  return out;
}

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const audioSec = x.length / 16000;
for (const c of ["windowed", "reference"]) {
  const starts = readFileSync(join(featDir, `${c}.starts`), "ascii").trim().split("\n").map(Number);
  const fb = readFileSync(join(featDir, `${c}.f32`));
  const feats = new Float32Array(fb.buffer, fb.byteOffset, fb.length / 4);
  let scores = await score(starts, feats); // warm-up
  const wall = [], cpu = [];
  for (let r = 0; r < runs; r++) {
    const w0 = process.hrtime.bigint(), c0 = process.cpuUsage();
    scores = await score(starts, feats);
    const c1 = process.cpuUsage(c0);
    wall.push(Number(process.hrtime.bigint() - w0) / 1e9);
    cpu.push((c1.user + c1.system) / 1e6);
  }
  const tw = median(wall), tc = median(cpu);
  console.log(`onnxruntime ${c} threads 1: audio ${audioSec.toFixed(1)} s, ${starts.length} windows, ` +
              `wall ${tw.toFixed(3)} s (${(tw / audioSec).toFixed(4)} s per audio s), cpu ` +
              `${tc.toFixed(3)} s (${(tc / audioSec).toFixed(4)} per audio s)`);
  console.log(JSON.stringify({ case: c, windows: scores }));
}
