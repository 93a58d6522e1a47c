#!/usr/bin/env python3
"""check_transcript.py - callqa's transcript of one call against its audio, its labels and what
the fake ASR server (fake_asr.py) received and answered.

    check_transcript.py --report R.json --log DIR --call NAME
                        [--labels ../shared/corpus/calls/labels.json] [--tolerance-ms 20]
                        [--stm FILE] [--hallucinations] [--root DIR]

R.json    the one-line JSON object `callqa analyze --json --transcribe ...` printed for the call
          (schema: docs/report.md; the `transcript` block below).
DIR       the fake's --log directory, holding this call's requests only: requests.jsonl,
          req-NNNN.wav, injected.jsonl, server.json.
NAME      the call's name in labels.json (calls[].name, e.g. call04_hold_music); a call the
          labels do not have (e.g. a conversation) skips checks 4 and 5.
--root    the directory the report's leg `source` paths are relative to (default: the current
          directory; the labels' corpus directory is tried next).

The transcript block (all times in seconds on the call's clock):
    {"engine", "model", "language", "audio_sent_sec", "audio_recorded_sec", "requests",
     "legs": [{"leg": inbound|outbound|mix, "role": customer|agent|mixed,
               "speaker": the role's name, or S1|S2 (a diarized mono mix: two legs `mix`),
               "chunks": [{"start", "end", "file", "sent": [[s, e], ...]}],
               "segments": [{"start", "end", "text", "text_norm", "words": [{"word", "start",
                             "end", "probability"?, "flags"}], "flags"}]}],
     "turns": [...], "guard": {..., "dropped": [{"role", "start", "end", "text", "reason"}]},
     "warnings": [...]}
A chunk's audio is the leg's audio resampled to 16 kHz inside its `sent` intervals and digital
zeros elsewhere; chunk time t is call time `start` + t. A leg `mix` is the report's `inbound`
(both legs S1 and S2 of a diarized mix are; check 5 covers their chunks together).

Checks (one line each, with its figures; exit status 1 when one fails, 2 on bad input):
  0 chunks     the transcript's legs and chunks match the report and what the fake received:
               every chunk was received, every received file is a chunk, each chunk's name is
               {speaker}_{start:.3f}_{end:.3f}.wav of its start/end, at most 30 s, every retry of a
               chunk carried the same bytes, and the audio lies inside the chunk's `sent`.
  1 format     every request's audio is 16 kHz mono PCM16 and requests.jsonl has no violation
               and no request to an unexpected path.
  2 clock      each non-zero stretch of each received chunk (zero runs of 5 ms or more separate
               stretches) is found in the leg's audio (decoded with sox and resampled to 16 kHz
               the same way) by normalised cross-correlation of up to 1 s of it (the part with
               the most energy), searched within +-100 ms of where the chunk says it is (a
               decimated search, then full rate): the lag must be within the tolerance and the
               correlation >= 0.9. Stretches under 50 ms, or quieter than -60 dBFS, cannot be
               placed and are counted apart.
  3 speech     every non-zero stretch lies inside the leg's speech_segments widened by the
               transcript's plan.pad_sec (the padding callqa adds for transcription), +-10 ms.
  4 nonspeech  the sent audio overlaps each labelled hold music, ringback, busy, SIT, DTMF (and
               fax) segment of the leg by at most 50 ms; a mono mix (role mixed) against both
               legs' labels. IVR prompts are neither: callqa leaves them out by default, and a
               setting may include them.
  5 coverage   of the leg's labelled speech minus those non-speech labels, at least 95 % lies
               inside the sent audio (the figure per leg). A speech label spans one whole clip,
               pauses inside it included (a P.862 clip is two sentences 2 s apart), so the
               figure is taken over the label's active speech: where the clean source clip
               (the label's `src`, peak-normalised to -6 dBFS) has 20 ms frames over -45 dBFS
               (the level labels.json trims clips at), gaps under 300 ms bridged. The clip is
               found in the leg by cross-correlation within +-1.5 s of the label's start (10 ms
               envelopes, then the waveform), since the label's start is the trimmed clip's and
               the trim point is not given. The figure over the whole label spans is printed
               too.
  6 words      every transcript word that the guard did not flag (neither the word nor its
               segment) is a word the fake sent for that chunk, at call time = chunk start + the
               fake's time, within the tolerance; where the fake sent no timed words (groq,
               vllm, nogranularity, whisper.cpp without token times) the unflagged segments are
               checked instead. A word the fake sent that is neither in the transcript nor in
               guard.dropped is lost, and fails the check. The fake's answers are read from its
               log (`sent`), the last successful answer per chunk.
  7 halluc     (--hallucinations; the fake in halluc mode) every line of injected.jsonl is in
               guard.dropped or is a flagged word or segment: same text (normalised) and time
               within 50 ms; for the word past the chunk's end, the time clamped to the chunk's
               end counts too. Prints injected / dropped / flagged / missed; missed must be 0.
  8 stm        (--stm FILE; the fake in stm mode) of the words the fake sent, at most 2 % are
               flagged, dropped or lost.

Pure Python 3 standard library, with sox for decoding the legs.
"""
import argparse
import itertools
import json
import math
import operator
import os
import re
import subprocess
import sys
import time
from array import array

import numpy as np

RATE = 16000
ZERO_RUN = 80              # samples (5 ms): a run of zeros this long separates stretches
MIN_PLACE = 800            # samples (50 ms): shorter stretches are not correlated
QUIET_RMS = 32768 * 10 ** (-60 / 20)
SEARCH = 1600              # samples (100 ms) either side
WINDOW = RATE              # up to 1 s of a stretch is correlated
DECIM = 8
MIN_CORR = 0.9
SPEECH_TOL = 0.010
NONSPEECH_MAX = 0.050
COVERAGE_MIN = 95.0
HALLUC_TOL = 0.050
STM_MAX_PCT = 2.0
NONSPEECH = ("music", "ringback", "busy", "sit", "dtmf", "fax")
CHUNK_NAME = re.compile(r"^(agent|customer|mixed|S1|S2)_(\d+\.\d{3})_(\d+\.\d{3})\.wav$")


def speaker(tl):
    """Whose speech a transcript leg holds: its speaker (S1, S2 of a diarized mono mix, else
    the role's name), or its role in a block without speakers."""
    return tl.get("speaker") or tl.get("role")


class BadInput(Exception):
    pass


# ----------------------------------------------------------------------------- intervals

def union(iv):
    out = []
    for a, b in sorted((a, b) for a, b in iv if b > a):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def measure(iv):
    return sum(b - a for a, b in iv)


def intersect(x, y):
    """Intersection of two unions (sorted, disjoint)."""
    out, i, j = [], 0, 0
    while i < len(x) and j < len(y):
        a, b = max(x[i][0], y[j][0]), min(x[i][1], y[j][1])
        if b > a:
            out.append((a, b))
        if x[i][1] < y[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(x, y):
    """x minus y, both unions."""
    out = []
    for a, b in x:
        cur = a
        for c, d in y:
            if d <= cur or c >= b:
                continue
            if c > cur:
                out.append((cur, c))
            cur = max(cur, d)
            if cur >= b:
                break
        if cur < b:
            out.append((cur, b))
    return out


# ----------------------------------------------------------------------------- audio

def read_wav16(path):
    """Samples of a PCM16 WAV file (the first channel), as array('h')."""
    with open(path, "rb") as f:
        data = f.read()
    if data[0:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise BadInput("%s: not a WAV file" % path)
    pos, ch, bits, out = 12, None, None, None
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        if cid == b"fmt ":
            ch = int.from_bytes(data[pos + 10:pos + 12], "little")
            bits = int.from_bytes(data[pos + 22:pos + 24], "little")
        elif cid == b"data":
            if bits != 16 or not ch:
                raise BadInput("%s: not PCM16" % path)
            raw = data[pos + 8:pos + 8 + size]
            out = array("h")
            out.frombytes(raw[:len(raw) // (2 * ch) * 2 * ch])
            if sys.byteorder != "little":
                out.byteswap()
            if ch > 1:
                out = out[0::ch]
            break
        pos += 8 + size + (size & 1)
    if out is None:
        raise BadInput("%s: no data chunk" % path)
    return out, data


def decode_leg(path, channel):
    """The leg's audio at 16 kHz as array('h'): sox, channel CH of a stereo file."""
    cmd = ["sox", "-D", "-V1", path, "-t", "raw", "-e", "signed-integer", "-b", "16", "-L",
           "-c", "1", "-", "remix", str(max(1, channel)), "rate", "-v", str(RATE)]
    try:
        p = subprocess.run(cmd, capture_output=True, check=False)
    except OSError as e:
        raise BadInput("cannot run sox: %s" % e) from None
    if p.returncode != 0:
        raise BadInput("sox could not decode %s: %s" % (path, p.stderr.decode(errors="replace")))
    a = array("h")
    a.frombytes(p.stdout[:len(p.stdout) // 2 * 2])
    if sys.byteorder != "little":
        a.byteswap()
    return a


def stretches(samples, raw_bytes=None):
    """Non-zero stretches [(a, b)) in samples: zero runs of ZERO_RUN or more separate them."""
    b = raw_bytes if raw_bytes is not None else samples.tobytes()
    n = len(samples)
    gaps = []
    for m in re.finditer(b"\x00{%d,}" % (2 * ZERO_RUN - 1), b):
        a, e = (m.start() + 1) // 2, m.end() // 2
        if e - a >= ZERO_RUN:
            gaps.append((a, e))
    out, cur = [], 0
    for a, e in gaps:
        if a > cur:
            out.append((cur, a))
        cur = e
    if cur < n:
        out.append((cur, n))
    # trim zeros at the edges (runs shorter than ZERO_RUN stay inside)
    res = []
    for a, e in out:
        while a < e and samples[a] == 0:
            a += 1
        while e > a and samples[e - 1] == 0:
            e -= 1
        if e > a:
            res.append((a, e))
    return res


def dot(x, y):
    """Sum of products, in order (floats: as Python adds them)."""
    return sum(map(operator.mul, x, y))


def idot(x, y):
    """Sum of products of integer sequences (samples, block sums), exact (int64: the sums here
    stay under 2^47)."""
    return int(np.dot(np.asarray(x, dtype=np.int64), np.asarray(y, dtype=np.int64)))


def loudest(samples, a, b, w):
    """Start of the w-sample window of [a, b) with the most energy (10 ms steps)."""
    if b - a <= w:
        return a
    blk = 160
    nb = (b - a) // blk
    seg = np.asarray(samples[a:a + nb * blk], dtype=np.int64).reshape(nb, blk)
    e = [int(v) for v in np.einsum("ij,ij->i", seg, seg)]
    k = w // blk
    acc = list(itertools.accumulate(e, initial=0))
    best = max(range(0, nb - k + 1), key=lambda i: acc[i + k] - acc[i])
    return a + best * blk


def place(x, leg, p, search=SEARCH):
    """(lag in samples, correlation) of x in leg near index p (+-search), or None."""
    w = len(x)
    lo, hi = max(0, p - search), min(len(leg) - w, p + search)
    if hi < lo:
        return None
    y = leg[lo:hi + w]
    # decimated search: block sums of DECIM samples
    xa, ya = np.asarray(x, dtype=np.int64), np.asarray(y, dtype=np.int64)
    xd = xa[:(w // DECIM) * DECIM].reshape(-1, DECIM).sum(axis=1)
    yd = ya[:(len(y) // DECIM) * DECIM].reshape(-1, DECIM).sum(axis=1)
    nd = len(xd)
    exd = int(np.dot(xd, xd))
    pd = [0] + [int(v) for v in np.cumsum(yd * yd)]
    # every lag's sum of products at once (exact integers), each correlation as before
    xy = [int(v) for v in np.correlate(yd, xd, "valid")] if nd and len(yd) >= nd else []
    cands = []
    for k in range(0, (hi - lo) // DECIM + 1):
        if k + nd > len(yd):
            break
        ey = pd[k + nd] - pd[k]
        c = xy[k] / math.sqrt(exd * ey) if exd > 0 and ey > 0 else 0.0
        cands.append((c, k))
    if not cands:
        return None
    # refine the three best local peaks at full rate
    peaks = [cands[i] for i in range(len(cands))
             if (i == 0 or cands[i][0] >= cands[i - 1][0]) and
             (i == len(cands) - 1 or cands[i][0] >= cands[i + 1][0])]
    peaks = sorted(peaks, reverse=True)[:3]
    ex = int(np.dot(xa, xa))
    py = [0] + [int(v) for v in np.cumsum(ya * ya)]
    best, seen = None, set()
    for _, k in peaks:
        for q in range(max(0, k * DECIM - 2 * DECIM), min(hi - lo, k * DECIM + 2 * DECIM) + 1):
            if q in seen:
                continue
            seen.add(q)
            ey = py[q + w] - py[q]
            c = int(np.dot(xa, ya[q:q + w])) / math.sqrt(ex * ey) if ex > 0 and ey > 0 else 0.0
            if best is None or c > best[1]:
                best = (lo + q - p, c)
    return best


def active_regions(samples, thr_ms):
    """Regions [(a, b)) in seconds where 20 ms frames have a mean square over thr_ms, gaps
    under 300 ms bridged, regions under 100 ms dropped (the fake's voiced-region rule)."""
    flen = RATE // 50
    nfr = len(samples) // flen
    fr = np.asarray(samples[:nfr * flen], dtype=np.int64).reshape(nfr, flen)
    on = [int(v) / flen > thr_ms for v in np.einsum("ij,ij->i", fr, fr)]
    runs, i = [], 0
    while i < nfr:
        if on[i]:
            j = i
            while j < nfr and on[j]:
                j += 1
            if runs and i - runs[-1][1] < 15:
                runs[-1][1] = j
            else:
                runs.append([i, j])
            i = j
        else:
            i += 1
    return [(a * 0.02, b * 0.02) for a, b in runs if b - a >= 5]


def clip_activity(samples):
    """(offset s, [(a, b)] s) of a clean clip as labels.json places it: peak-normalised to -6
    dBFS; active where 20 ms frames are over -45 dBFS (the level the labels trim the clip's
    edges at); offset: its first sample over that level (a first guess of where the label
    starts in the clip)."""
    peak = max((abs(v) for v in samples), default=0)
    if peak == 0:
        return 0.0, []
    gain = 32768 * 10 ** (-6 / 20) / peak
    lvl = 32768 * 10 ** (-45 / 20) / gain          # -45 dBFS after the gain, in clip units
    first = next((i for i, v in enumerate(samples) if abs(v) > lvl), 0)
    return first / RATE, active_regions(samples, lvl * lvl)


def envelope(samples, a, n):
    """RMS of n 10 ms frames from sample a (0 outside the samples)."""
    out = []
    for i in range(n):
        f = samples[max(0, a + i * 160):max(0, a + (i + 1) * 160)]
        out.append(math.sqrt(idot(f, f) / 160) if len(f) else 0.0)
    return out


def align_clip(clip, leg, guess):
    """Where the clip sits in the leg: (call-time shift d, correlation, how) such that clip time
    t is call time t + d, searched within +-1.5 s of `guess` on 10 ms RMS envelopes, then at
    full rate (+-20 ms) on the clip's loudest second."""
    ne, span = len(clip) // 160, 150
    ec = envelope(clip, 0, ne)
    g = int(round(guess * 100))
    el = envelope(leg, (g - span) * 160, ne + 2 * span)
    mc = sum(ec) / max(1, ne)
    xc = [v - mc for v in ec]
    nx = math.sqrt(dot(xc, xc)) or 1.0
    best = (-2.0, 0)
    for k in range(2 * span + 1):
        w = el[k:k + ne]
        m = sum(w) / max(1, ne)
        yw = [v - m for v in w]
        ny = math.sqrt(dot(yw, yw))
        c = dot(xc, yw) / (nx * ny) if ny > 0 else -1.0
        if c > best[0]:
            best = (c, k)
    d_env = (g - span + best[1]) / 100.0
    i0 = loudest(clip, 0, len(clip), min(RATE, len(clip)))
    x = clip[i0:i0 + min(RATE, len(clip))]
    r = place(x, leg, int(round(d_env * RATE)) + i0, 320)
    if r is not None and r[1] >= 0.5:
        return d_env + r[0] / RATE, r[1], "waveform"
    return d_env, best[0], "envelope"


# ----------------------------------------------------------------------------- text

def norm(text):
    t = re.sub(r"[^\w\s']", "", (text or "").lower().replace("-", " "))
    return " ".join(t.replace("'", "").split())


# ----------------------------------------------------------------------------- the checker

class Checker:
    def __init__(self, args):
        self.args = args
        self.tol = args.tolerance_ms / 1000.0
        self.results = []
        self.report = self.load_report(args.report)
        self.tr = self.report.get("transcript")
        self.log = self.load_log(args.log)
        sj = os.path.join(args.log, "server.json")
        self.server = json.load(open(sj, encoding="utf-8")) if os.path.exists(sj) else {}
        self.legs_audio = {}
        self.clips = {}
        self.aligned = []

    def line(self, ok, num, name, text):
        tag = {True: "PASS", False: "FAIL", None: "SKIP"}[ok]
        print("%s %s %-9s %s" % (tag, num, name, text))
        sys.stdout.flush()
        self.results.append(ok)

    @staticmethod
    def load_report(path):
        try:
            with open(path, encoding="utf-8") as f:
                lines = [x for x in f.read().splitlines() if x.strip()]
        except OSError as e:
            raise BadInput("cannot read the report: %s" % e) from None
        if len(lines) != 1:
            raise BadInput("%s: want one JSON line, found %d" % (path, len(lines)))
        try:
            return json.loads(lines[0])
        except ValueError as e:
            raise BadInput("%s: not JSON: %s" % (path, e)) from None

    @staticmethod
    def load_log(d):
        p = os.path.join(d, "requests.jsonl")
        if not os.path.exists(p):
            raise BadInput("%s: no requests.jsonl (is it the fake's --log directory?)" % d)
        with open(p, encoding="utf-8") as f:
            return [json.loads(x) for x in f if x.strip()]

    def source_path(self, src):
        cands = [src] if os.path.isabs(src) else [
            os.path.join(self.args.root, src),
            os.path.join(os.path.dirname(os.path.abspath(self.args.report)), src),
            os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(self.args.labels))),
                         src)]
        for c in cands:
            if os.path.exists(c):
                return c
        raise BadInput("leg source %s not found (tried %s); give --root" % (src, ", ".join(cands)))

    def leg_audio(self, rl):
        key = (rl["source"], rl.get("channel", 0))
        if key not in self.legs_audio:
            self.legs_audio[key] = decode_leg(self.source_path(rl["source"]), key[1])
        return self.legs_audio[key]

    # -- the call's structure

    def setup(self):
        rep = self.report
        self.rlegs = {"inbound": rep.get("inbound"), "outbound": rep.get("outbound")}
        self.tlegs = []
        self.chunks = {}      # file -> (tleg, rleg, chunk)
        for tl in self.tr.get("legs") or []:
            name = "inbound" if tl.get("leg") == "mix" else tl.get("leg")
            rl = self.rlegs.get(name)
            if rl is None:
                raise BadInput("transcript leg %r has no report leg" % tl.get("leg"))
            self.tlegs.append((tl, rl))
            for c in tl.get("chunks") or []:
                self.chunks[c["file"]] = (tl, rl, c)
        self.tr_reqs = [r for r in self.log if r.get("endpoint") == "transcribe"]
        self.by_file = {}
        for r in sorted(self.tr_reqs, key=lambda r: r["n"]):
            fn = (r.get("file") or {}).get("filename")
            if fn is not None:
                self.by_file.setdefault(fn, []).append(r)
        # the received audio, once per file (the last copy), and its non-zero stretches
        self.received = {}
        for fn, rs in self.by_file.items():
            path = os.path.join(self.args.log, rs[-1]["file"]["saved"])
            try:
                samples, raw = read_wav16(path)
            except BadInput:
                samples, raw = None, None
            copies = set()
            for r in rs:
                with open(os.path.join(self.args.log, r["file"]["saved"]), "rb") as f:
                    copies.add(f.read())
            st = stretches(samples, None) if samples is not None else []
            self.received[fn] = {"samples": samples, "stretches": st, "copies": len(copies)}

    def call_stretches(self, fn):
        """The file's non-zero stretches on the call's clock."""
        _, _, c = self.chunks[fn]
        return [(c["start"] + a / RATE, c["start"] + b / RATE)
                for a, b in self.received[fn]["stretches"]]

    def sent_union(self, rl):
        iv = []
        for fn, (tl, r, c) in self.chunks.items():
            if r is rl and fn in self.received:
                iv += self.call_stretches(fn)
        return union(iv)

    # -- 0 chunks

    def check_chunks(self):
        bad = []
        not_received = [fn for fn in self.chunks if fn not in self.by_file]
        unknown = [fn for fn in self.by_file if fn not in self.chunks]
        differ = [fn for fn, r in self.received.items() if r["copies"] > 1]
        outside, worst_out, n_st = 0, 0.0, 0
        for fn, (tl, rl, c) in self.chunks.items():
            m = CHUNK_NAME.match(fn)
            if not m or m.group(1) != speaker(tl) or \
                    abs(float(m.group(2)) - c["start"]) > 0.0005 or \
                    abs(float(m.group(3)) - c["end"]) > 0.0005:
                bad.append("%s: name does not match speaker %s, %.4f-%.4f" %
                           (fn, speaker(tl), c["start"], c["end"]))
            if c["end"] - c["start"] > 30.0 + 0.01:
                bad.append("%s: %.3f s long" % (fn, c["end"] - c["start"]))
            if fn not in self.received:
                continue
            sent = union([(s, e) for s, e in c.get("sent") or []])
            for a, b in self.call_stretches(fn):
                n_st += 1
                ex = measure(subtract([(a, b)], union([(s - SPEECH_TOL, e + SPEECH_TOL)
                                                       for s, e in sent])))
                if ex > 1.5 / RATE:
                    outside += 1
                    worst_out = max(worst_out, ex)
        sent_sec = sum(e - s for _, _, c in self.chunks.values() for s, e in c.get("sent") or [])
        measured = sum(measure(self.call_stretches(fn)) for fn in self.chunks if fn in self.received)
        ok = not (bad or not_received or unknown or differ or outside)
        self.line(ok, "0", "chunks",
                  "%d legs, %d chunks, %d received (%d requests); not received %d, unknown files "
                  "%d, retries with other bytes %d, bad names/lengths %d; %d stretches, %d outside "
                  "their chunk's sent (worst %.1f ms); sent %.3f s (report audio_sent_sec %s), "
                  "non-zero audio %.3f s" %
                  (len(self.tlegs), len(self.chunks), len(self.received), len(self.tr_reqs),
                   len(not_received), len(unknown), len(differ), len(bad), n_st, outside,
                   worst_out * 1000, sent_sec, self.tr.get("audio_sent_sec"), measured))
        for x in (bad + ["not received: " + f for f in not_received] +
                  ["received, not in the report: " + f for f in unknown] +
                  ["retried with other audio: " + f for f in differ])[:10]:
            print("    " + x)

    # -- 1 format

    def check_format(self):
        with_audio = [r for r in self.tr_reqs if r.get("file")]
        fmt_ok = [r for r in with_audio
                  if (r["file"].get("wav") or {}).get("rate") == RATE and
                  r["file"]["wav"].get("channels") == 1 and r["file"]["wav"].get("bits") == 16 and
                  r["file"]["wav"].get("format_tag") == 1]
        viol = [(r["n"], v) for r in self.log for v in r.get("violations") or []]
        unexpected = [r for r in self.log if "unexpected path" in (r.get("violations") or [])]
        ok = len(fmt_ok) == len(with_audio) and not viol
        self.line(ok, "1", "format",
                  "%d requests (%d transcription, %d with audio): 16 kHz mono PCM16 %d/%d; "
                  "violations %d; unexpected paths %d" %
                  (len(self.log), len(self.tr_reqs), len(with_audio), len(fmt_ok),
                   len(with_audio), len(viol), len(unexpected)))
        for n, v in viol[:10]:
            print("    request %d: %s" % (n, v))

    # -- 2 clock

    def check_clock(self):
        t0 = time.monotonic()
        placed, short, quiet, bad, worst, low = 0, 0, 0, [], 0, 1.0
        for fn in sorted(self.received):
            if fn not in self.chunks or self.received[fn]["samples"] is None:
                continue
            tl, rl, c = self.chunks[fn]
            leg = self.leg_audio(rl)
            x_all = self.received[fn]["samples"]
            base = int(round(c["start"] * RATE))
            for a, b in self.received[fn]["stretches"]:
                if b - a < MIN_PLACE:
                    short += 1
                    continue
                s0 = loudest(x_all, a, b, min(WINDOW, b - a))
                x = x_all[s0:s0 + min(WINDOW, b - a)]
                if math.sqrt(dot(x, x) / len(x)) < QUIET_RMS:
                    quiet += 1
                    continue
                r = place(x, leg, base + s0)
                if r is None:
                    bad.append("%s at %.3f s: outside the leg's audio" % (fn, c["start"] + a / RATE))
                    continue
                lag, corr = r
                placed += 1
                if abs(lag) > abs(worst):
                    worst = lag
                low = min(low, corr)
                if abs(lag) / RATE > self.tol + 1e-9 or corr < MIN_CORR:
                    bad.append("%s stretch %.3f-%.3f s: lag %+.1f ms, correlation %.3f" %
                               (fn, c["start"] + a / RATE, c["start"] + b / RATE,
                                lag * 1000 / RATE, corr))
        dt = time.monotonic() - t0
        self.line(not bad and (placed > 0 or not self.received), "2", "clock",
                  "%d stretches placed, %d off (lag over %.0f ms or correlation under %.2f); "
                  "worst lag %+.1f ms, lowest correlation %.3f; not placed: %d under 50 ms, %d "
                  "under -60 dBFS; %.1f s" %
                  (placed, len(bad), self.tol * 1000, MIN_CORR, worst * 1000 / RATE,
                   low if placed else float("nan"), short, quiet, dt))
        for x in bad[:10]:
            print("    " + x)

    # -- 3 speech

    def check_speech(self):
        n, bad, worst = 0, [], 0.0
        # the VAD's segments, widened as the transcript's plan says it widened them
        plan = (self.tr or {}).get("plan") or {}
        pad = float(plan.get("pad_sec") or 0.0)
        for tl, rl in self.tlegs:
            segs = union([(s["start"] - pad - SPEECH_TOL, s["end"] + pad + SPEECH_TOL)
                          for s in rl.get("speech_segments") or []])
            for fn, (t, r, c) in sorted(self.chunks.items()):
                if t is not tl or fn not in self.received:
                    continue
                for a, b in self.call_stretches(fn):
                    n += 1
                    ex = measure(subtract([(a, b)], segs))
                    if ex > 1.5 / RATE:
                        bad.append("%s: %.3f-%.3f s has %.1f ms outside speech_segments" %
                                   (fn, a, b, ex * 1000))
                        worst = max(worst, ex)
        self.line(not bad, "3", "speech",
                  "%d stretches, %d with audio outside the leg's speech_segments widened by the "
                  "plan's pad_sec (%.0f ms, +-%.0f ms); worst %.1f ms"
                  % (n, len(bad), pad * 1000, SPEECH_TOL * 1000, worst * 1000))
        for x in bad[:10]:
            print("    " + x)

    # -- 4, 5 labels

    def labels(self):
        if not self.args.labels or not os.path.exists(self.args.labels):
            return None, "no labels file %s" % self.args.labels
        with open(self.args.labels, encoding="utf-8") as f:
            lab = json.load(f)
        for c in lab.get("calls", []):
            if c.get("name") == self.args.call:
                return c, None
        return None, "%s has no call named %s" % (self.args.labels, self.args.call)

    def label_activity(self, labs, rl):
        """The active speech inside the speech labels, on the call's clock: each label's clean
        source clip (its `src`, relative to the corpus directory), found in the leg's audio by
        cross-correlation near the label's start, tells where inside the label the talker
        talks, whatever gain or noise the call added."""
        out = []
        corpus = os.path.dirname(os.path.dirname(os.path.abspath(self.args.labels)))
        leg = self.leg_audio(rl)
        for s in labs:
            if s["type"] != "speech":
                continue
            src = os.path.join(corpus, s["src"])
            if src not in self.clips:
                if not os.path.exists(src):
                    raise BadInput("labelled clip %s not found" % src)
                clip = decode_leg(src, 1)
                self.clips[src] = (clip, clip_activity(clip))
            clip, (off, regions) = self.clips[src]
            d, corr, how = align_clip(clip, leg, s["start"] - off)
            self.aligned.append((how, corr, d - (s["start"] - off)))
            for a, b in regions:
                a, b = max(a + d, s["start"]), min(b + d, s["end"])
                if b > a:
                    out.append((a, b))
        return union(out)

    @staticmethod
    def leg_labels(call, role):
        roles = ("customer", "agent") if role == "mixed" else (role,)
        return [s for r in roles for s in call["legs"].get(r, [])]

    def check_labels(self):
        call, why = self.labels()
        if call is None:
            self.line(None, "4", "nonspeech", why)
            self.line(None, "5", "coverage", why)
            return
        types = sorted({s["type"] for leg in call["legs"].values() for s in leg})
        nonsp = [t for t in types if t in NONSPEECH]
        other = [t for t in types if t not in NONSPEECH and t != "speech"]
        n_lab, bad, worst, per_type = 0, [], 0.0, {}
        cover, cov_bad = [], False
        for name in ("inbound", "outbound"):
            rl = self.rlegs.get(name)
            if rl is None:
                continue
            role = rl.get("role")
            sent = self.sent_union(rl)
            labs = self.leg_labels(call, role)
            ns = [s for s in labs if s["type"] in NONSPEECH]
            for s in ns:
                n_lab += 1
                ov = measure(intersect(sent, [(s["start"], s["end"])]))
                per_type[s["type"]] = max(per_type.get(s["type"], 0.0), ov)
                worst = max(worst, ov)
                if ov > NONSPEECH_MAX + 1e-9:
                    bad.append("%s %s %.3f-%.3f s: %.0f ms sent" %
                               (role, s["type"], s["start"], s["end"], ov * 1000))
            nsu = union([(s["start"], s["end"]) for s in ns])
            spans = subtract(union([(s["start"], s["end"]) for s in labs
                                    if s["type"] == "speech"]), nsu)
            speech = subtract(self.label_activity(labs, rl), nsu)
            tot, tot_spans = measure(speech), measure(spans)
            if tot <= 0:
                cover.append("%s %s: no labelled speech" % (name, role))
                continue
            pct = 100.0 * measure(intersect(speech, sent)) / tot
            pct_spans = 100.0 * measure(intersect(spans, sent)) / tot_spans
            cover.append("%s %s %.1f %% of %.2f s active (%.1f %% of the %.2f s label spans)" %
                         (name, role, pct, tot, pct_spans, tot_spans))
            if pct < COVERAGE_MIN:
                cov_bad = True
        self.line(not bad, "4", "nonspeech",
                  "label types %s; non-speech %s (ivr and others not checked: %s); %d labels, "
                  "%d overlapped by more than %.0f ms; worst %.0f ms %s" %
                  (",".join(types) or "-", ",".join(nonsp) or "none", ",".join(other) or "none",
                   n_lab, len(bad), NONSPEECH_MAX * 1000, worst * 1000,
                   " ".join("%s=%.0fms" % (k, v * 1000) for k, v in sorted(per_type.items()))))
        for x in bad[:10]:
            print("    " + x)
        wf = [a for a in self.aligned if a[0] == "waveform"]
        self.line(not cov_bad, "5", "coverage",
                  "labelled active speech (minus non-speech labels) inside sent audio, at least "
                  "%.0f %%: %s; %d clips placed (%d by waveform, lowest correlation %.2f; %d by "
                  "envelope alone), largest shift from the first-sample guess %+.0f ms" %
                  (COVERAGE_MIN, "; ".join(cover) or "no legs", len(self.aligned), len(wf),
                   min((a[1] for a in wf), default=float("nan")), len(self.aligned) - len(wf),
                   max((a[2] for a in self.aligned), key=abs, default=0.0) * 1000))

    # -- the fake's answers and the transcript's words

    def answers(self):
        """file -> the last successful answer's `sent` (chunk-relative)."""
        out = {}
        for fn, rs in self.by_file.items():
            for r in rs:
                if r.get("status") == 200 and r.get("sent") is not None:
                    out[fn] = r["sent"]
        return out

    def expected(self):
        """Per transcript leg: the words and segments the fake sent, on the call's clock."""
        ans = self.answers()
        exp = []
        for tl, rl in self.tlegs:
            words, segs, untimed = [], [], []
            for c in tl.get("chunks") or []:
                a = ans.get(c["file"])
                if a is None:
                    continue
                t0 = c["start"]
                for s in a["segments"]:
                    segs.append({"start": t0 + s["start"], "end": t0 + s["end"],
                                 "norm": norm(s["text"]), "chunk": c})
                if a.get("word_times") and a.get("words"):
                    for w in a["words"]:
                        words.append({"start": t0 + w["start"], "end": t0 + w["end"],
                                      "norm": norm(w["word"]), "chunk": c, "text": w["word"]})
                else:
                    untimed.append(c)
                    for w in a.get("words") or []:
                        words.append({"start": None, "end": None, "norm": norm(w["word"]),
                                      "chunk": c, "text": w["word"]})
            exp.append((tl, rl, words, segs, untimed))
        return exp

    @staticmethod
    def chunk_of(tl, t):
        """The chunk holding call time t: the one it lies inside, else one within 50 ms (a
        chunk cut from a long stretch ends where the next begins)."""
        chunks = tl.get("chunks") or []
        for c in chunks:
            if c["start"] <= t < c["end"]:
                return c
        for c in chunks:
            if c["start"] - 0.05 <= t <= c["end"] + 0.05:
                return c
        return None

    @staticmethod
    def tr_words(tl):
        """[(word, segment, flagged)] of a transcript leg."""
        out = []
        for s in tl.get("segments") or []:
            for w in s.get("words") or []:
                out.append((w, s, bool(w.get("flags")) or bool(s.get("flags"))))
        return out

    def dropped(self, tl):
        return [d for d in (self.tr.get("guard") or {}).get("dropped") or []
                if (d.get("speaker") or d.get("role")) == speaker(tl)]

    def fate(self, tl, e, tol, used):
        """What became of a word the fake sent: kept, flagged, dropped or lost. Each transcript
        word answers for one sent word (`used` holds the ids of those taken)."""
        c = e["chunk"]
        for w, s, fl in self.tr_words(tl):
            if id(w) in used or norm(w.get("word")) != e["norm"]:
                continue
            ws = w.get("start")
            if e["start"] is None:
                hit = c["start"] - tol <= s["start"] <= c["end"] + tol
            elif ws is None:
                hit = False
            else:
                hit = abs(ws - e["start"]) <= tol or (
                    fl and e["start"] > c["end"] and abs(ws - c["end"]) <= tol)
            if hit:
                used.add(id(w))
                return "flagged" if fl else "kept"
        if e["start"] is None:      # an untimed word: anywhere in its chunk
            def at(a, b):
                return c["start"] - tol <= a and b <= c["end"] + tol
        else:                       # a timed word (clamped to its chunk's end)
            t = min(e["start"], c["end"])

            def at(a, b):
                return a - tol <= t <= b + tol
        for s in tl.get("segments") or []:
            if not s.get("words") and e["norm"] in norm(s.get("text")).split() and \
                    at(s["start"], s["end"]):
                return "flagged" if s.get("flags") else "kept"
        for d in self.dropped(tl):
            if e["norm"] in norm(d.get("text")).split() and at(d["start"], d["end"]):
                return "dropped"
        return "lost"

    # -- 6 words

    def check_words(self):
        content = self.server.get("content", "?")
        if not self.server:
            self.line(None, "6", "words", "no server.json in the log directory")
            return
        tol = self.tol + 1e-6
        n_w, n_ok, n_untimed, n_s, n_s_ok, bad = 0, 0, 0, 0, 0, []
        worst = 0.0
        lost = []
        for tl, rl, words, segs, untimed in self.expected():
            timed_words = [e for e in words if e["start"] is not None]
            for w, s, fl in self.tr_words(tl):
                if fl or not norm(w.get("word")):
                    continue
                ws, we = w.get("start"), w.get("end")
                t = ws if ws is not None else s["start"]
                c = self.chunk_of(tl, t)
                if c is not None and c in untimed:
                    n_untimed += 1
                    continue
                n_w += 1
                if ws is None or we is None:
                    bad.append("%s word %r has no times" % (speaker(tl), w.get("word")))
                    continue
                m = [e for e in timed_words if e["norm"] == norm(w.get("word")) and
                     abs(e["start"] - ws) <= tol and abs(e["end"] - we) <= tol]
                if not m:
                    near = min(timed_words, key=lambda e: abs(e["start"] - ws), default=None)
                    bad.append("%s word %r %.3f-%.3f s: none sent there%s" % (
                        speaker(tl), w.get("word"), ws, we,
                        "" if near is None else " (nearest %r %.3f-%.3f s)" %
                        (near["text"], near["start"], near["end"])))
                    continue
                n_ok += 1
                worst = max(worst, min(max(abs(e["start"] - ws), abs(e["end"] - we)) for e in m))
            # segments of chunks whose answer had no timed words
            for s in tl.get("segments") or []:
                c = self.chunk_of(tl, s["start"])
                if c is None or c not in untimed or s.get("flags"):
                    continue
                n_s += 1
                m = [e for e in segs if e["chunk"] is c and e["norm"] == norm(s.get("text")) and
                     abs(e["start"] - s["start"]) <= tol and abs(e["end"] - s["end"]) <= tol]
                if m:
                    n_s_ok += 1
                    worst = max(worst, min(max(abs(e["start"] - s["start"]),
                                               abs(e["end"] - s["end"])) for e in m))
                else:
                    bad.append("%s segment %r %.3f-%.3f s: none sent there" %
                               (speaker(tl), s.get("text"), s["start"], s["end"]))
            used = set()
            for e in words:
                if self.fate(tl, e, max(tol, HALLUC_TOL), used) == "lost":
                    lost.append("%s %r %s" % (speaker(tl), e["text"], "untimed" if e["start"]
                                              is None else "%.3f s" % e["start"]))
        ok = not bad and not lost
        self.line(ok, "6", "words",
                  "content %s: %d unflagged words with server times, %d on the clock within %.0f "
                  "ms; %d unflagged segments of chunks without word times, %d on the clock; "
                  "worst %.1f ms; %d words of untimed answers not checked alone; %d sent words "
                  "lost (neither in the transcript nor dropped)" %
                  (content, n_w, n_ok, self.tol * 1000, n_s, n_s_ok, worst * 1000, n_untimed,
                   len(lost)))
        for x in (bad + ["lost: " + x for x in lost])[:10]:
            print("    " + x)

    # -- 7 hallucinations

    def check_halluc(self):
        if not self.server.get("halluc"):
            self.line(False, "7", "halluc", "the fake did not run in halluc mode (server.json)")
            return
        p = os.path.join(self.args.log, "injected.jsonl")
        items, seen = [], set()
        with open(p, encoding="utf-8") as f:
            for x in f:
                if not x.strip():
                    continue
                it = json.loads(x)
                k = (it["file"], it["kind"], it["text"], it["t_start"])
                if k not in seen:
                    seen.add(k)
                    items.append(it)
        kinds = {}
        n_drop, n_flag, missed = 0, 0, []
        for it in items:
            kinds[it["kind"]] = kinds.get(it["kind"], 0) + 1
            if it["file"] not in self.chunks:
                missed.append("%s: chunk %s not in the report" % (it["text"], it["file"]))
                continue
            tl, rl, c = self.chunks[it["file"]]
            s, e = c["start"] + it["t_start"], c["start"] + it["t_end"]
            f = self.halluc_fate(tl, c, it, s, e)
            if f == "dropped":
                n_drop += 1
            elif f == "flagged":
                n_flag += 1
            else:
                missed.append("%s %s %r %.3f-%.3f s" % (speaker(tl), it["kind"], it["text"], s, e))
        # nothing injected passes only when nothing was sent (a call without speech)
        self.line(not missed and (items != [] or not self.chunks), "7", "halluc",
                  "injected %d (%s), dropped %d, flagged %d, missed %d" %
                  (len(items), ", ".join("%s %d" % kv for kv in sorted(kinds.items())) or "none",
                   n_drop, n_flag, len(missed)))
        for x in missed[:10]:
            print("    missed: " + x)

    def halluc_fate(self, tl, c, it, s, e):
        """dropped, flagged or missed: an injected item against guard.dropped, the flagged
        segments and the flagged words; the word past the chunk's end may have been clamped."""
        t = norm(it["text"])
        spans = [(s, e)]
        if it["kind"] == "past_end":
            spans.append((min(s, c["end"]), min(e, c["end"])))

        def near(a, b):
            return any(abs(a - x) <= HALLUC_TOL and abs(b - y) <= HALLUC_TOL for x, y in spans)

        def covers(a, b):
            return any(a - HALLUC_TOL <= x and y <= b + HALLUC_TOL for x, y in spans)

        for d in self.dropped(tl):
            dt = norm(d.get("text"))
            if (dt == t and near(d["start"], d["end"])) or \
                    (re.search(r"(^| )%s( |$)" % re.escape(t), dt) and covers(d["start"], d["end"])):
                return "dropped"
        for sg in tl.get("segments") or []:
            if sg.get("flags") and norm(sg.get("text")) == t and near(sg["start"], sg["end"]):
                return "flagged"
        words = [(w, fl) for w, sg, fl in self.tr_words(tl)
                 if w.get("start") is not None and norm(w.get("word"))]
        for x, y in spans:
            got = [(w, fl) for w, fl in words if x - HALLUC_TOL <= w["start"] and
                   (w["end"] if w.get("end") is not None else w["start"]) <= y + HALLUC_TOL]
            if got and " ".join(norm(w["word"]) for w, _ in got) == t and all(f for _, f in got):
                return "flagged"
        return "missed"

    # -- 8 stm

    def check_stm(self):
        if self.server.get("content") != "stm":
            self.line(False, "8", "stm", "the fake did not run in stm mode (server.json)")
            return
        ref = {}
        n_lines = 0
        with open(self.args.stm, encoding="utf-8") as f:
            for x in f:
                w = x.split()
                if len(w) < 6 or x.startswith(";;"):
                    continue
                n_lines += 1
                rest = w[5:]
                if rest[0].startswith("<") and rest[0].endswith(">"):
                    rest = rest[1:]
                for t in rest:
                    if norm(t):
                        ref[norm(t)] = ref.get(norm(t), 0) + 1
        fates = {"kept": 0, "flagged": 0, "dropped": 0, "lost": 0}
        foreign, total, bad_list = 0, 0, []
        tol = max(self.tol, HALLUC_TOL)
        for tl, rl, words, segs, untimed in self.expected():
            used = set()
            for e in words:
                total += 1
                if e["norm"] not in ref:
                    foreign += 1
                f = self.fate(tl, e, tol, used)
                fates[f] += 1
                if f != "kept":
                    bad_list.append("%s %s %r %s" % (f, speaker(tl), e["text"], "" if e["start"]
                                                    is None else "%.3f s" % e["start"]))
        n_bad = fates["flagged"] + fates["dropped"] + fates["lost"]
        pct = 100.0 * n_bad / total if total else 0.0
        ok = total > 0 and pct <= STM_MAX_PCT and foreign == 0
        self.line(ok, "8", "stm",
                  "STM %d lines, %d words; the fake sent %d words (%d not in the STM): kept %d, "
                  "flagged %d, dropped %d, lost %d: %.2f %% flagged/dropped/lost (at most %.0f %%)"
                  % (n_lines, sum(ref.values()), total, foreign, fates["kept"], fates["flagged"],
                     fates["dropped"], fates["lost"], pct, STM_MAX_PCT))
        for x in bad_list[:10]:
            print("    " + x)

    def run(self):
        if not isinstance(self.tr, dict):
            self.line(False, "-", "report", "the report has no transcript block")
            return 1
        self.setup()
        print("call %s: %s, transcript engine %s, fake %s %s content %s%s" % (
            self.args.call, self.report.get("file"), self.tr.get("engine"),
            self.server.get("protocol", "?"), self.server.get("variant") or
            ("token-times" if self.server.get("token_times") else ""),
            self.server.get("content", "?"), " + halluc" if self.server.get("halluc") else ""))
        self.check_chunks()
        self.check_format()
        self.check_clock()
        self.check_speech()
        self.check_labels()
        self.check_words()
        if self.args.hallucinations:
            self.check_halluc()
        if self.args.stm:
            self.check_stm()
        fails = sum(1 for r in self.results if r is False)
        print("%s: %d checks failed" % (self.args.call, fails) if fails else
              "%s: all checks passed" % self.args.call)
        return 1 if fails else 0


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--report", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--call", required=True)
    ap.add_argument("--labels", default="../shared/corpus/calls/labels.json")
    ap.add_argument("--tolerance-ms", type=float, default=20.0)
    ap.add_argument("--stm")
    ap.add_argument("--hallucinations", action="store_true")
    ap.add_argument("--root", default=".")
    args = ap.parse_args()
    if not os.path.isabs(args.labels) and not os.path.exists(args.labels):
        alt = os.path.join(here, "..", "..", args.labels)
        if os.path.exists(alt):
            args.labels = alt
    try:
        return Checker(args).run()
    except BadInput as e:
        print("check_transcript: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
