#!/usr/bin/env python3
"""mkmix.py - two-speaker mono calls made from real recordings of one talker each, with the
truth as RTTM: the material the diarization is scored on (docs/diarization.md).

    mkmix.py --shared DIR --out DIR --set dev|heldout|single [--seed N] [--calls N]

The corpus calls' legs are stitched from several recordings, so a leg is not one speaker; these
mixes take each talker from recordings of that talker only:
  - speech/: the Codec 2 off-air speaker (vk5qi), the LibriVox reader (three utterances);
  - quality/: the P.862 originals (each or*.wav file one talker, but for three pairs of files
    that are one voice each: see TALKERS),
    the P.862 talkers af1 and am1 (two files each), VCTK p239 (WARP-Q);
  - conversations/: the two talkers of the pyannote call, cut by its RTTM (overlaps left out).
The talkers are split in two fixed sets: `dev` (tuned on) and `heldout` (looked at last).

A call: 8-16 turns in a random order (either talker first), each turn 1-5 s of the talker's
utterances in sequence (utterances are the talker's audio cut at pauses of 150 ms), gaps of
-0.4..1.5 s between turns (a negative gap overlaps), and a backchannel (0.3-0.8 s of the
listener) inside one turn in ten. Levels: both talkers at -26 dBFS active level, then the second
at 0, +6 or -6 dB. Both go through the same channel: a 300-3400 Hz band-pass and one codec
(16-bit PCM, u-law or GSM 06.10 in WAV), so the channel does not tell the talkers apart.
`single` and `single-heldout`: calls of one talker only (the one-speaker rule), from the dev
and the held-out talkers.

Truth: for the pyannote talkers, their RTTM turns as placed; for the others, each placed turn's
speech, 10 ms frames over the talker's threshold (35 dB under its
loud frames, 10 dB over its floor) with gaps
under 0.3 s filled and runs under 0.1 s dropped, as RTTM (SPEAKER id 1 start dur <NA> <NA> spk).
Writes DIR/ID.wav, DIR/ID.rttm and DIR/mixes.tsv (ID, codec, gain_db, talkers). The same
arguments give the same files: sox runs in its repeatable mode (-R: the dither of its
conversions is seeded). Python 3 standard library and sox.
"""
import argparse
import array
import math
import os
import random
import subprocess
import sys
import tempfile

RATE = 8000
FRAME = 80  # 10 ms

# (talker id, files under SHARED/corpus); pyannote talkers are cut below.
TALKERS = {
    "vk5qi": ["speech/codec2_vk5qi.wav"],
    "librivox": ["speech/ps_librivox_0870.wav", "speech/ps_librivox_0880.wav",
                 "speech/ps_librivox_0890.wav"],
    "af1": ["quality/p862_u_af1s01.wav", "quality/p862_u_af1s03.wav"],
    "am1": ["quality/p862_u_am1s01.wav", "quality/p862_u_am1s02.wav"],
    "p239": ["quality/warpq_p239_021_ref.wav"],
}
for n in ("105", "129", "137", "155", "161", "170", "179", "221"):
    TALKERS["or" + n] = ["quality/p862_or%s.wav" % n]
# The P.862 originals name no talker; three pairs of files are one voice each (their MFCC
# statistics are as close as a talker's own two halves, and far closer than any other pair),
# so each pair is one talker here.
for a, b in (("109", "114"), ("134", "154"), ("166", "229")):
    TALKERS["or%s+%s" % (a, b)] = ["quality/p862_or%s.wav" % a, "quality/p862_or%s.wav" % b]
TALKERS["pyannote90"] = ["speaker90"]
TALKERS["pyannote91"] = ["speaker91"]

# Held out: looked at only after the method was fixed.
HELDOUT = ["or134+154", "or166+229", "or221", "af1", "pyannote91", "or109+114"]


def sox_read(path, extra=()):
    """The file as 8 kHz mono int16 samples."""
    out = subprocess.run(["sox", "-R", path, "-t", "raw", "-e", "signed", "-b", "16", "-c", "1",
                          "-r", str(RATE), "-"] + list(extra), check=True,
                         stdout=subprocess.PIPE).stdout
    a = array.array("h")
    a.frombytes(out)
    if sys.byteorder != "little":
        a.byteswap()
    return [x / 32768.0 for x in a]


def frame_db(x):
    out = []
    for i in range(0, len(x) - FRAME + 1, FRAME):
        s = sum(v * v for v in x[i:i + FRAME]) / FRAME
        out.append(10 * math.log10(s + 1e-12))
    return out


def pyannote_talker(shared, name):
    wav = os.path.join(shared, "corpus/conversations/pyannote_sample.wav")
    rttm = os.path.join(shared, "corpus/conversations/pyannote_sample.rttm")
    x = sox_read(wav)
    segs = {}
    for line in open(rttm):
        f = line.split()
        segs.setdefault(f[7], []).append((float(f[3]), float(f[3]) + float(f[4])))
    own = segs[name]
    others = [s for k, v in segs.items() if k != name for s in v]
    pieces = []
    for s, e in own:
        cuts = [(s, e)]
        for os_, oe in others:
            nxt = []
            for a, b in cuts:
                if oe <= a or os_ >= b:
                    nxt.append((a, b))
                    continue
                if os_ > a:
                    nxt.append((a, os_))
                if oe < b:
                    nxt.append((oe, b))
            cuts = nxt
        for a, b in cuts:
            if b - a >= 0.4:
                pieces.append(x[int(a * RATE):int(b * RATE)])
    return pieces


def talker_audio(shared, tid):
    if tid.startswith("pyannote"):
        return pyannote_talker(shared, TALKERS[tid][0])
    return [sox_read(os.path.join(shared, "corpus", f)) for f in TALKERS[tid]]


def active_db(x):
    """The level of the loudest 50 % of 10 ms frames (a plain active level)."""
    d = sorted(frame_db(x), reverse=True)
    d = d[:max(1, len(d) // 2)]
    return 10 * math.log10(sum(10 ** (v / 10) for v in d) / len(d))


def utterances(pieces):
    """The talker's audio cut at pauses of 150 ms or more (10 ms frames 35 dB under its
    level and 10 dB over its floor), each utterance with 50 ms of its context."""
    out = []
    for x in pieces:
        d = frame_db(x)
        if not d:
            continue
        sp = [v > threshold(d) for v in d]
        i, n = 0, len(sp)
        runs = []
        while i < n:
            if not sp[i]:
                i += 1
                continue
            j = i
            while j < n and sp[j]:
                j += 1
            runs.append([i, j])
            i = j
        merged = []
        for r in runs:
            if merged and r[0] - merged[-1][1] < 15:
                merged[-1][1] = r[1]
            else:
                merged.append(r)
        for a, b in merged:
            if b - a < 15:
                continue
            s = max(0, (a - 5) * FRAME)
            e = min(len(x), (b + 5) * FRAME)
            out.append(x[s:e])
    return out


def threshold(d):
    """Speech frames of one recording: 35 dB under its loud frames (95th percentile), and at
    least 10 dB over its floor (10th percentile)."""
    o = sorted(d)
    return max(o[int(len(o) * 0.95)] - 35, o[int(len(o) * 0.10)] + 10)


def speech_spans(x, start_sec, level_db, thr):
    """The truth for a placed piece: its 10 ms frames over level_db - 35 dB, gaps under 0.3 s
    filled, runs under 0.1 s dropped (thr: the talker's threshold, moved by the gain); in seconds on the call's clock."""
    d = frame_db(x)
    sp = [v > max(level_db - 35, thr) for v in d]
    runs, i = [], 0
    while i < len(sp):
        if not sp[i]:
            i += 1
            continue
        j = i
        while j < len(sp) and sp[j]:
            j += 1
        runs.append([i, j])
        i = j
    merged = []
    for r in runs:
        if merged and r[0] - merged[-1][1] < 30:
            merged[-1][1] = r[1]
        else:
            merged.append(r)
    return [(start_sec + a * 0.01, start_sec + b * 0.01) for a, b in merged if b - a >= 10]


def gain(x, db):
    g = 10 ** (db / 20)
    return [v * g for v in x]


class Talker:
    def __init__(self, tid, utts):
        self.tid = tid
        self.utts = utts
        self.next = 0

    def take(self, rng, sec):
        """Utterances in sequence (wrapping) until `sec` of audio."""
        out = []
        while sum(len(u) for u in out) < sec * RATE or not out:
            out.append(self.utts[self.next % len(self.utts)])
            self.next += 1
            if sum(len(u) for u in out) > 6 * RATE:
                break
        flat = []
        self.last_spans = []
        for i, u in enumerate(out):
            if i:
                flat.extend([0.0] * int(rng.uniform(0.1, 0.3) * RATE))
            self.last_spans.append((len(flat), len(flat) + len(u)))
            flat.extend(u)
        return flat


def spans_of(pieces, x, start_sec):
    """The pieces take() put into x (cut to its length), on the call's clock."""
    return [(start_sec + a / RATE, start_sec + min(b, len(x)) / RATE)
            for a, b in pieces if a < len(x)]


def make_call(rng, talkers, n_turns, gain_db):
    """Place the turns; returns (samples, [(spk, start, end)])."""
    first = rng.randrange(len(talkers))
    order = [(first + i) % len(talkers) for i in range(n_turns)] if len(talkers) == 2 \
        else [0] * n_turns
    # a talker keeps the floor now and then (two turns in a row after a pause)
    if len(talkers) == 2:
        for i in range(2, n_turns):
            if rng.random() < 0.15:
                order[i] = order[i - 1]
    levels = [-26.0, -26.0 + gain_db]
    placed = []  # (spk, start_sample, samples)
    t = int(rng.uniform(0.3, 1.0) * RATE)
    for i, spk in enumerate(order):
        x = talkers[spk].take(rng, rng.uniform(1.0, 5.0))
        if i:
            g = rng.uniform(-0.4, 1.5) if rng.random() < 0.15 else rng.uniform(0.2, 1.5)
            if order[i] == order[i - 1]:
                g = abs(g) + 0.5
            t = max(0, t + int(g * RATE))
        placed.append((spk, t, x, list(talkers[spk].last_spans)))
        if len(talkers) == 2 and rng.random() < 0.1 and len(x) > 2 * RATE:
            b = talkers[1 - spk].take(rng, 0.3)[:int(rng.uniform(0.3, 0.8) * RATE)]
            placed.append((1 - spk, t + int(rng.uniform(0.5, len(x) / RATE - 0.9) * RATE), b,
                           list(talkers[1 - spk].last_spans)))
        t += len(x)
    total = t + int(rng.uniform(0.5, 1.0) * RATE)
    mix = [0.0] * total
    truth = []
    for spk, s, x, pieces in placed:
        lv = levels[spk] if len(talkers) == 2 else levels[0]
        xa = gain(x, lv - talkers[spk].level)
        for k, v in enumerate(xa):
            if s + k < total:
                mix[s + k] += v
        if talkers[spk].rttm:  # a turn of RTTM pieces: the pieces, less the pauses between
            for a, b in spans_of(pieces, x, s / RATE):
                truth.append((talkers[spk].tid, a, b))
            continue
        thr = talkers[spk].thr + lv - talkers[spk].level
        for a, b in speech_spans(xa, s / RATE, lv, thr):
            truth.append((talkers[spk].tid, a, b))
    return mix, truth


def write_wav(mix, path, codec, tmp):
    raw = os.path.join(tmp, "mix.raw")
    a = array.array("h", [max(-32768, min(32767, int(round(v * 32768)))) for v in mix])
    if sys.byteorder != "little":
        a.byteswap()
    with open(raw, "wb") as f:
        f.write(a.tobytes())
    enc = {"pcm": ["-e", "signed", "-b", "16"], "ulaw": ["-e", "u-law", "-b", "8"],
           "gsm": ["-e", "gsm-full-rate"]}[codec]
    subprocess.run(["sox", "-R", "-t", "raw", "-e", "signed", "-b", "16", "-c", "1", "-r",
                    str(RATE), raw] + enc + [path, "sinc", "300-3400"], check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--set", choices=["dev", "heldout", "single", "single-heldout"],
                    required=True)
    ap.add_argument("--seed", type=int, default=38)
    ap.add_argument("--calls", type=int, default=24)
    a = ap.parse_args()
    rng = random.Random("%s:%d" % (a.set, a.seed))
    os.makedirs(a.out, exist_ok=True)
    if a.set in ("dev", "single"):
        ids = [t for t in TALKERS if t not in HELDOUT]
    else:
        ids = list(HELDOUT)
    pool = {}
    for tid in ids:
        pieces = talker_audio(a.shared, tid)
        # the pyannote talkers' pieces are their RTTM turns: speech as labelled, kept whole
        rttm = tid.startswith("pyannote")
        utts = pieces if rttm else utterances(pieces)
        tk = Talker(tid, utts)
        tk.rttm = rttm
        tk.level = active_db([v for u in utts for v in u])
        tk.thr = max(threshold(frame_db(p)) for p in pieces)
        pool[tid] = tk
    codecs = ["pcm", "ulaw", "gsm"]
    gains = [0.0, 6.0, -6.0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for c in range(a.calls):
            if a.set.startswith("single"):
                tids = [ids[c % len(ids)]]
                g = 0.0
            else:
                tids = rng.sample(ids, 2)
                g = gains[c % 3]
            codec = codecs[(c // 3) % 3]
            for tid in tids:
                pool[tid].next = rng.randrange(len(pool[tid].utts))
            mix, truth = make_call(rng, [pool[t] for t in tids], rng.randint(8, 16), g)
            cid = "%s%02d" % (a.set, c)
            write_wav(mix, os.path.join(a.out, cid + ".wav"), codec, tmp)
            with open(os.path.join(a.out, cid + ".rttm"), "w") as f:
                for spk, s, e in sorted(truth, key=lambda r: r[1]):
                    f.write("SPEAKER %s 1 %.3f %.3f <NA> <NA> %s <NA> <NA>\n" %
                            (cid, s, e - s, spk))
            rows.append("%s\t%s\t%+.0f\t%s" % (cid, codec, g, ",".join(tids)))
    with open(os.path.join(a.out, "mixes.tsv"), "w") as f:
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
