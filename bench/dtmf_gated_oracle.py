#!/usr/bin/env python3
"""bench/dtmf_gated_oracle.py - how far the gated fit of the DTMF receiver (src/dsp/dtmf.c) could
go if it knew each digit's true span: the 880 digits of tests/dsp/test_dtmf_speech.c (mixed as
in bench/dtmf_harmonic_oracle.py), each fitted by least squares with the 8 DTMF tones gated to
the digit's true 50 ms:
  - "plain": on the signal over the 50 ms;
  - "comb": on the voice-cancelled signal y[m] = x[m] - (x[m-T] + x[m+T] + x[m-2T] + x[m+2T]) / 4
    (T, the local period, every 5 ms: the lag of least symmetric comb residual over 20 ms of
    the signal with the 8 DTMF frequencies notched and differenced, voiced under 0.35; x read
    at fractional lags on an 8-times upsampled copy) over the 50 ms and 30 ms either side, with
    the gated tones put through the same comb (near the gate's ends the comb does not null a
    tone even on a voice harmonic).
Printed per level: is the digit's row and column the strongest of their groups; the same fit on
the speech alone at the same windows. The receiver itself has no true span: it fits the runs
its frames make, which is where it falls short of this.

  usage: bench/dtmf_gated_oracle.py   (after scripts/build; Debian's python3-numpy and
         python3-scipy; about 30 s on 2 CPUs)
"""
import multiprocessing
import os
import sys

import numpy as np
import scipy.signal as signal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dtmf_harmonic_oracle as O  # noqa: E402  (the mixtures and the summary)

RATE = 8000
N = 400
UP = 8
TF = np.array(O.ROW + O.COL, float)
SEG, PW, TMIN, TMAX = 40, 160, 16, 116
REACH = 240  # samples either side of the gate: two periods of the lowest voice


def notched(x):
    y = x.copy()
    for f in TF:
        b, a = signal.iirnotch(f, 8, RATE)
        y = signal.filtfilt(b, a, y)
    return np.diff(y, prepend=y[0])


def periods(x):
    """The local period (samples, fractional) of each 5 ms segment; 0 where unvoiced."""
    z = notched(x)
    lags = np.arange(TMIN, TMAX + 1)
    t = np.zeros(len(x) // SEG)
    for s in range(len(t)):
        a = s * SEG + SEG // 2 - PW // 2
        if a - TMAX < 0 or a + PW + TMAX > len(z):
            continue
        w = z[a:a + PW]
        e = w @ w
        if e <= 1e-12:
            continue
        r = np.array([np.sum((w - 0.5 * (z[a - k:a - k + PW] + z[a + k:a + k + PW])) ** 2)
                      for k in lags]) / e
        i = int(np.argmin(r))
        if r[i] >= 0.35:
            continue
        t[s] = lags[i]
        if 0 < i < len(lags) - 1:
            d = r[i - 1] - 2 * r[i] + r[i + 1]
            if d > 0:
                t[s] += 0.5 * (r[i - 1] - r[i + 1]) / d
    return t


def comb(x, t):
    xu = signal.resample_poly(x, UP, 1)
    y = x.copy()
    for s in np.nonzero(t)[0]:
        m = np.arange(s * SEG, min(len(x), (s + 1) * SEG))
        acc = np.zeros(len(m))
        for k in (1, 2):
            d = int(round(UP * k * t[s]))
            lo, hi = UP * m - d, UP * m + d
            if lo[0] < 0 or hi[-1] >= len(xu):
                break
            acc += xu[lo] + xu[hi]
        else:
            y[m] = x[m] - acc / 4
    return y


def gated_basis(a, lo, hi, t):
    """Each DTMF tone gated to [a, a + N), through the comb, over samples lo..hi (complex)."""
    m = np.arange(lo, hi).astype(float)
    tm = t[(np.arange(lo, hi) // SEG).clip(0, len(t) - 1)]
    w = 2 * np.pi * TF[:, None] / RATE

    def gate(u):
        return ((u >= a) & (u < a + N)).astype(float)

    b = gate(m)[None, :] * np.exp(1j * w * m)
    for k in (1, 2):
        for sgn in (-1, 1):
            u = m + sgn * k * tm
            b -= np.where(tm > 0, 0.25 * gate(u)[None, :] * np.exp(1j * w * u), 0)
    return b


def fit(y, b):
    a = np.concatenate([b.real, b.imag], axis=0).T
    c = np.linalg.lstsq(a, y, rcond=1e-9)[0]
    r = y - a @ c
    return np.hypot(c[:8], c[8:]), (r @ r) / len(y)


def one_file(name):
    x = O.load(name)
    level = O.active_level(x)
    rows = []
    for lv in O.LEVELS:
        y, digits, amp = O.mix(x, level + lv)
        t = periods(y)
        yc = comb(y, t)
        if lv == 0:
            xc = comb(x, t)
        for a, c in digits:
            lo, hi = a - REACH, a + N + REACH
            b = gated_basis(a, lo, hi, t)
            plain = np.exp(1j * 2 * np.pi * TF[:, None] / RATE * np.arange(a, a + N))
            rows.append(("comb", lv, c, amp, *fit(yc[lo:hi], b)))
            rows.append(("plain", lv, c, amp, *fit(y[a:a + N], plain)))
            if lv == 0:
                rows.append(("comb", "speech", c, amp, *fit(xc[lo:hi], b)))
                rows.append(("plain", "speech", c, amp, *fit(x[a:a + N], plain)))
    return rows


def main():
    if len(sys.argv) != 1:
        sys.exit(__doc__)
    rows = []
    with multiprocessing.Pool(2) as pool:
        for r in pool.imap_unordered(one_file, O.FILES):
            rows += r
    for kind in ("plain", "comb"):
        print("== %s" % kind)
        O.summary([r[1:] for r in rows if r[0] == kind])


if __name__ == "__main__":
    main()
