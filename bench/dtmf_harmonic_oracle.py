#!/usr/bin/env python3
"""bench/dtmf_harmonic_oracle.py - how far a least-squares fit of the voice's harmonics and the
eight DTMF tones could separate a digit from the speech under it, given the digit's true window.

The mixtures are those of tests/dsp/test_dtmf_speech.c: sequences of all 16 symbols (50 ms
tones, 50 ms gaps, both frequencies at equal level, their sum's RMS at the speech's P.56 active
level + 0, -7 or -12 dB) every 1.9 s along seven corpus speech files (resampled to 8 kHz here by
scipy, not soxr; each file's active level is callqa's, `analyze --only levels` on that signal).

For each digit, on its own 50 ms (400 samples, the true alignment: an oracle no receiver has),
the signal band-passed to 560-1780 Hz is fitted by least squares with
  - the harmonics k f0 of a voice whose f0 glides linearly (phase 2 pi k (f0 t + b t^2 / 2)),
    those between 470 and 1880 Hz, f0 searched over 300 log-spaced values from 65 to 420 Hz
    and b over -500, 0 and +500 Hz/s, keeping the fit of least residual;
  - a cosine and a sine at each of the 8 DTMF frequencies.
The amplitude fitted at each DTMF frequency is then read as the receiver would: is the digit's
row (column) the strongest of its group, by how much (dominance), and how strong against the
fit's residual (SNR). The same fit on the speech alone at the same 880 windows shows how tone-like
the voice can look. The fit is the same however the voice moves; no threshold is tuned here.

  usage: bench/dtmf_harmonic_oracle.py [--jobs N]   (after scripts/build; needs Debian's
         python3-numpy and python3-scipy; about 30 minutes on 2 CPUs)
Prints the summary per level; docs/events.md ("DTMF under speech") quotes it.
"""
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile

import numpy as np
import scipy.io.wavfile as wavfile
import scipy.signal as signal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.environ.get("CQ_SHARED", os.path.join(ROOT, "..", "shared")) + "/corpus/"
CALLQA = os.environ.get("CQ", os.path.join(ROOT, "build", "callqa"))
FILES = ["speech/codec2_vk5qi.wav", "speech/ps_librivox_0870.wav", "speech/ps_librivox_0890.wav",
         "conversations/pyannote_sample.wav", "conversations/paa_diarizationexample2.wav",
         "ivr_prompts/ast_en_basic_pbx_ivr_main.wav", "quality/p862_or105.wav"]
LEVELS = (0, -7, -12)
KEYS = "123A456B789C*0#D"
SYMBOLS = "0123456789*#ABCD"
ROW = [697, 770, 852, 941]
COL = [1209, 1336, 1477, 1633]
RATE = 8000
N = 400  # 50 ms: one digit
TONE_F = np.array(ROW + COL, float)
F0S = np.exp(np.linspace(np.log(65), np.log(420), 300))
GLIDES = (-500, 0, 500)
T = np.arange(N) / RATE
TC = T - T.mean()
TONE_BASIS = np.concatenate([np.cos(2 * np.pi * TONE_F[:, None] * T).T,
                             np.sin(2 * np.pi * TONE_F[:, None] * T).T], axis=1)
BANDPASS = signal.firwin(129, [560, 1780], pass_zero=False, fs=RATE)


def freqs(c):
    i = KEYS.index(c)
    return ROW[i // 4], COL[i % 4]


def load(name):
    rate, x = wavfile.read(CORPUS + name)
    if x.ndim > 1:
        x = x[:, 0]
    x = x.astype(np.float64) / 32768.0
    return x if rate == RATE else signal.resample_poly(x, RATE, rate)


def active_level(x):
    with tempfile.NamedTemporaryFile(suffix=".wav") as f:
        wavfile.write(f.name, RATE, x.astype(np.float32))
        out = subprocess.run([CALLQA, "analyze", "-q", "--json", "--only", "levels", f.name],
                             capture_output=True, text=True, check=True).stdout
    return json.loads(out)["inbound"]["active_level_db"]


def mix(x, level_db):
    """The test's mixture: (signal, [(start sample, symbol)], each sine's amplitude)."""
    amp = 10 ** (level_db / 20)
    y = x.copy()
    digits = []
    q = 0
    while int((0.3 + q * 1.9 + 0.2) * RATE) + 32 * N <= len(x):
        s0 = int((0.3 + q * 1.9) * RATE)
        for d in range(16):
            c = SYMBOLS[(d + q) % 16]
            lo, hi = freqs(c)
            a = s0 + d * 2 * N
            y[a:a + N] += amp * (np.sin(2 * np.pi * lo * T) + np.sin(2 * np.pi * hi * T))
            digits.append((a, c))
        q += 1
    return np.clip(y, -1, 1), digits, amp


def fit(w):
    """Amplitudes at the 8 DTMF frequencies and the residual's power, of the best fit."""
    best = (np.inf, None)
    for f0 in F0S:
        ks = np.arange(max(1, int(np.ceil(470 / f0))), int(1880 / f0) + 1)
        for b in GLIDES:
            ph = 2 * np.pi * np.outer(f0 * TC + 0.5 * b * TC * TC, ks)
            a = np.concatenate([np.cos(ph), np.sin(ph), TONE_BASIS], axis=1)
            c = np.linalg.lstsq(a, w, rcond=1e-6)[0]
            r = w - a @ c
            e = r @ r
            if e < best[0]:
                best = (e, c[-16:])
    e, c = best
    return np.hypot(c[:8], c[8:]), e / N


def one_file(name):
    x = load(name)
    level = active_level(x)
    xb = signal.filtfilt(BANDPASS, [1.0], x)
    rows = []
    for lv in LEVELS:
        y, digits, amp = mix(x, level + lv)
        yb = signal.filtfilt(BANDPASS, [1.0], y)
        for a, c in digits:
            rows.append((lv, c, amp, *fit(yb[a:a + N])))
            if lv == 0:
                rows.append(("speech", c, amp, *fit(xb[a:a + N])))
    return name, level, rows


def db(v):
    return 20 * np.log10(np.maximum(v, 1e-12))


def summary(rows):
    by = {}
    for lv, c, amp, am, res in rows:
        lo, hi = freqs(c)
        ri, ci = ROW.index(lo), 4 + COL.index(hi)
        r, k = np.sort(am[:4])[::-1], np.sort(am[4:])[::-1]
        by.setdefault(lv, []).append(dict(
            right=np.argmax(am[:4]) == ri and 4 + np.argmax(am[4:]) == ci,
            dom=min(db(r[0] / r[1]), db(k[0] / k[1])),
            snr=db(min(r[0], k[0]) / np.sqrt(2 * res)),
            tone=min(db(am[ri] / amp), db(am[ci] / amp))))
    for lv in list(LEVELS) + ["speech"]:
        f = by[lv]
        dom = np.array([v["dom"] for v in f])
        snr = np.array([v["snr"] for v in f])
        if lv == "speech":
            print("speech alone (%d windows): dominance 50/95/99/100th percentile %s dB; "
                  "weaker tone's SNR %s dB" % (len(f), np.percentile(dom, [50, 95, 99, 100]).round(1),
                                               np.percentile(snr, [50, 95, 99, 100]).round(1)))
            continue
        tone = np.array([v["tone"] for v in f])
        right = sum(v["right"] for v in f)
        print("%+d dB: row and column the strongest of their groups in %d/%d (%.1f %%); "
              "dominance 0/1/5/50th percentile %s dB; weaker tone's SNR %s dB; weaker tone's "
              "fitted amplitude against the true one %s dB"
              % (lv, right, len(f), 100.0 * right / len(f), np.percentile(dom, [0, 1, 5, 50]).round(1),
                 np.percentile(snr, [0, 1, 5, 50]).round(1), np.percentile(tone, [0, 1, 5, 50]).round(1)))


def main():
    jobs = 2
    if len(sys.argv) == 3 and sys.argv[1] == "--jobs":
        jobs = int(sys.argv[2])
    elif len(sys.argv) != 1:
        sys.exit(__doc__)
    with multiprocessing.Pool(jobs) as pool:
        rows = []
        for name, level, r in pool.imap_unordered(one_file, FILES):
            print("%s: active level %.1f dB, %d digits" % (name, level, len(r) // 4), flush=True)
            rows += r
    summary(rows)


if __name__ == "__main__":
    main()
