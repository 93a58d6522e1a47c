#!/usr/bin/env python3
"""fake_asr.py - a protocol-faithful fake Whisper-class transcription server for callqa's tests.

    fake_asr.py --protocol openai|whispercpp --log DIR --port-file F [--mode MODE[,MODE...]]
                [--key KEY] [--fail SPEC] [--stm FILE] [--script FILE] [--loading N]
                [--max-body BYTES] [--rttm FILE [--rttm-tol SEC]]

It listens on 127.0.0.1 (port 0: the kernel picks one), writes the port to F (F.tmp, then a
rename), and serves until SIGTERM or SIGINT, then exits 0. Python 3 standard library only.

What it records (DIR)
---------------------
requests.jsonl  one JSON object per request, written when the answer is out (flushed per line):
                n, method, path, query, endpoint (transcribe, health or null), fields (the form
                fields received; repeated fields as lists), file (filename, content_type, bytes,
                wav: the parsed header, role/start/end parsed from the filename, saved: the
                req-NNNN.wav it was saved to), auth (ok, missing, wrong or not_required: never the
                key nor the header's value), violations (strings: whatever is not as the real
                protocol requires), fault (the --fail kind applied, or null), status (null when
                the socket was closed without an answer), response (what kind of body was sent),
                t_received/t_answered (wall-clock seconds when the request line arrived and when
                the answer had been written, or its writing failed; t_answered null without an
                answer),
                sent (the segments and words the answer carried, chunk-relative, exactly as
                sent; words null when the answer had none, word_times false when the words had
                no real times), injected (see halluc below), audio (the parts of the chunk that
                are not digital zeros, on the call's clock, to 5 ms: what callqa sent of the
                leg; the rest of a chunk is zeros), truth (with --rttm, below).
req-NNNN.wav    each received audio file, NNNN = the request's n.
injected.jsonl  one line per injected hallucination: file, role, n, kind, text, start/end on the
                call's clock (the chunk's start from its filename + the chunk time) and
                chunk_start/chunk_end/t_start/t_end (chunk time as sent).
server.json     the configuration the fake runs with (no key).

Options: --key KEY requires `Authorization: Bearer KEY` (401 with OpenAI's bodies otherwise;
with --protocol whispercpp it stands for a reverse proxy in front of the server, whisper.cpp
itself has no key); --loading N (whispercpp) answers 503 to the first N /health requests and
to transcription requests until then; --max-body BYTES (default 64 MiB) answers 413 beyond it.

One speaker per request (--rttm FILE: the reference speakers of the one call sent, as NIST RTTM
SPEAKER lines, e.g. tests/dsp/mkmix.py's): each request's `truth` is {speakers: seconds
of its audio (above) in the reference speech of each speaker where that speaker alone speaks,
farther than 0.25 s (md-eval's collar) from any reference boundary; second_sec: the seconds of
all but the speaker with the most; one_speaker: second_sec <= --rttm-tol SEC (default 0.5)}. A
request for a diarized speaker (S1, S2) whose audio holds two reference speakers beyond that is
logged here, and the test says whether that is callqa's cutting or the diarization's error.

Sources of truth for the wire formats
-------------------------------------
OpenAI (API reference "Create transcription" and "The transcription object (Verbose JSON)"):
  POST {base}/audio/transcriptions, multipart/form-data with `file`, `model` (required),
  `language` (ISO 639-1), `prompt`, `response_format` (json, text, srt, verbose_json, vtt),
  `temperature`, `timestamp_granularities[]` (word and/or segment; only with verbose_json).
  verbose_json is {task, language, duration, text, segments[{id, seek, start, end, text, tokens,
  temperature, avg_logprob, compression_ratio, no_speech_prob}], words[{word, start, end}]};
  `language` is the full English name ("english") although the request takes ISO 639-1; `words`
  is there only when `word` was asked for (`segments` always). Errors are {"error": {message, type, param, code}}: 401
  invalid_api_key ("Incorrect API key provided: sk-ab***wxyz. ...", the key masked), 401 with
  code null when no key was sent ("You didn't provide an API key..."), 400
  invalid_request_error, 429 rate_limit_exceeded with Retry-After, 500 server_error, 404
  "Invalid URL (POST /path)". Times are given to 0.001 s here.
  Variants (--mode): `groq` (Groq's endpoint: never `words`, even when asked for; in 2024 it
  answered a 400 instead, which `nogranularity` covers), `vllm`
  (vLLM's /v1/audio/transcriptions: no `words`; avg_logprob and compression_ratio are -1 in
  every segment, as vLLM fills them), `nogranularity` (servers, e.g. some faster-whisper
  front ends, that refuse word timestamps: a 400 whose message names timestamp_granularities
  when `word` is asked for; segments alone succeed).
whisper.cpp (examples/server/server.cpp of ggml-org/whisper.cpp, the `vjson_format` branch):
  POST /inference, multipart `file`, `response_format`, `temperature`, `language`, `prompt`
  (and more tuning fields, listed in WHISPERCPP_FIELDS). verbose_json is {task, language (the
  full name), duration (a C float), text (each segment's text + "\\n"), segments[{id, text,
  start, end, tokens, words, temperature, avg_logprob}]}: segment times are t0 * 0.01 with t0
  in centiseconds (so 0.5700000000000001 happens); `words` are the segment's text tokens
  (sub-word pieces: a piece starting with a space begins a word; "," and "." are pieces of
  their own) with start/end = t0/t1 * 0.01, t_dtw and probability. Servers that do not compute
  token timestamps send t0 = t1 = -1, i.e. start = end = -0.01 (the default here; --mode
  token-times gives real token times, as servers that set token_timestamps for verbose_json
  do). No compression_ratio, no no_speech_prob (newer servers add no_speech_prob; not emulated).
  Errors come as HTTP 200 with {"error": "..."}: "no 'file' field in the request", "failed to
  read WAV file" (read_wav wants 16 kHz, 16-bit, 1 or 2 channels), "failed to process audio".
  GET /health answers 200 {"status":"ok"}, or 503 {"status":"loading model"} while the model
  loads (--loading N: the first N health requests; transcription requests during that time
  also get 503). Other paths get whisper.cpp's 404 "File Not Found (/path)".

What callqa must send (checked here; a violation is logged, the request is still answered)
  16 kHz mono PCM16 WAV (RIFF/WAVE, `fmt ` with format tag 1, 1 channel, 16000 Hz, 16 bits,
  block align 2, byte rate 32000, a `data` chunk whose size matches the bytes present) of at
  most 30.01 s, named {role}_{start:.3f}_{end:.3f}.wav (role agent, customer or mixed, or the
  speaker S1 or S2 of a diarized mono mix; start and
  end on the call's clock, end - start = the audio's length); response_format verbose_json; a
  Content-Length body (chunked uploads get 411); no unknown fields. Bodies over --max-body
  (default 64 MiB) get 413.

Content (--mode words|stm|script, plus halluc)
  The chunk's audio is cut in 20 ms frames; a frame is voiced when its RMS is above -45 dBFS;
  voiced frames with gaps under 300 ms merge into regions; regions under 100 ms are dropped.
  words   one segment per region with one word per 0.4 s of it (alpha, bravo, ... cycling),
          evenly spread inside the region; a comma after every 4th word, a full stop at the end.
  stm     with --stm FILE (NIST STM: file channel speaker start end [<label>] text): every STM
          line that overlaps the chunk (start/end from its filename) is a segment, its times
          made chunk-relative and clamped to the chunk; its words are spread evenly over the
          line's span, and the words whose middle lies outside the chunk are left out. In a
          chunk of one diarized speaker (S1, S2) the other speaker's turns are zeros, which a
          recogniser does not hear: there the words whose middle lies in zeros are left out.
  script  with --script FILE (tests/privacy/mkcorpus.py's script.json: calls, each with its
          legs' words said {w, s, e, u} on the call's clock and each leg's level per 20 ms
          frame): many calls against one server. The request names only the role and the
          chunk's span, so the fake listens for the call: the five legs of that role whose
          words' 20 ms frames agree best (Jaccard) with the chunk's voiced frames (over -45
          dBFS) at the chunk's place on the clock are compared by the correlation of their
          frame levels with the chunk's, and the best is taken (logged as `script`: call,
          score, second best score and call). Each utterance (u) of that leg with its words'
          middles inside the chunk is a segment ending in "."; the words are those said, with
          the number modes below. script.jsonl in DIR logs each answer's words on the call's
          clock with `src`, the indices of the words said that each came from, and `how`.
          Number modes (only with script): a number phrase is a run of number words (digits,
          "oh", teens, tens, hundred, thousand, double/triple + a digit, "and" inside an
          amount) with gaps under 0.7 s.
            spelled     as said ("four one one one").
            written     as Whisper writes them: 16 digits "4111-1111-1111-1111", "4111 1111
                        1111 1111" (four words), "4111111111111111" or "4,111,111,111,111,111";
                        15 "3782 822463 10005"; 9 "123-45-6789"; 10 "555-123-4567"; 11 "07700
                        900123"; other runs of 5+ one word or with thousands' commas; amounts
                        "4,111" / "250"; spelled letters and digits "GB82 WEST 1234 ..." and
                        spoken emails "john.smith@gmail.com", each half of the time.
            homophones  spelled, with "four" as "for", "two" as "to"/"too", "eight" as "ate",
                        "one" as "won", each 40 % of the time.
            mixed       each number phrase one of the three (fixed by the call, leg,
                        utterance and the phrase's place), plus written letters and emails.
          jitter  each segment's words shifted by one offset of up to +/-0.25 s, and each word's
                  start and end by up to +/-0.05 s more (so at most 0.3 s), kept in order.
  halluc  typical Whisper hallucinations on non-speech, on top of the content: in each
          unvoiced stretch of 0.8 s or more (digital zeros included) a known phrase (cycling
          from a start that the chunk's filename picks), except the second such stretch, which
          gets a repetition loop; and one word 1.5 s past the chunk's end. Each is logged in
          `injected` and injected.jsonl. The injections carry the same confidence figures as
          speech, except the loop's compression_ratio (2.8, as Whisper reports repetitions).

Faults (--fail SPEC: KIND[:COUNT],...; applied in order to the transcription requests that get
past the key check; a KIND without COUNT applies to every later request)
  429 (Retry-After: 1, OpenAI's rate-limit body), 500, html (200 text/html page), badjson (200,
  truncated JSON), empty (200 verbose_json with "text":"" and no segments), huge (200, a valid
  20 MiB JSON), timeout (600 s before an ordinary answer; SIGTERM ends the wait), close (the
  socket is closed, no answer), error200 (200 {"error":"failed to read WAV file"}, whisper.cpp's
  way).

Everything is deterministic: no randomness, the answer depends only on the request.
"""
import argparse
import hmac
import json
import operator
import os
import re
import signal
import socket
import struct
import sys
import threading
import time
import zlib
from array import array
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

RATE = 16000
MAX_CHUNK_SEC = 30.0
CHUNK_NAME = re.compile(r"^(agent|customer|mixed|S1|S2)_(\d+\.\d{3})_(\d+\.\d{3})\.wav$")
AUDIO_FRAME_SEC = 0.005  # the resolution of `audio`: the parts of a chunk that are not zeros
RTTM_COLLAR_SEC = 0.25   # around each reference boundary, as md-eval's collar
NATO = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
        "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
        "sierra", "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu"]
PHRASES = ["Thank you for watching.", "Thanks for watching!",
           "Subtitles by the Amara.org community", "Please subscribe to my channel.",
           "Thank you."]
LOOPS = ["you you you you you you you you", "I'm sorry. I'm sorry. I'm sorry. I'm sorry."]
PAST_END_WORD = "Bye."
PAST_END_SEC = 1.5
OPENAI_FIELDS = {"file", "model", "language", "prompt", "response_format",
                 "timestamp_granularities[]", "temperature"}
WHISPERCPP_FIELDS = {"file", "response_format", "temperature", "language", "prompt",
                     "temperature_inc", "offset_t", "offset_n", "duration", "max_context",
                     "max_len", "best_of", "beam_size", "audio_ctx", "word_thold",
                     "entropy_thold", "logprob_thold", "debug_mode", "translate", "diarize",
                     "tinydiarize", "split_on_word", "no_timestamps", "detect_language",
                     "suppress_nst", "no_speech_thold", "no_context"}
LANGUAGES = {"en": "english", "es": "spanish", "fr": "french", "de": "german", "it": "italian",
             "pt": "portuguese", "nl": "dutch", "pl": "polish", "ru": "russian", "ja": "japanese",
             "zh": "chinese", "ko": "korean", "ar": "arabic", "hi": "hindi", "tr": "turkish",
             "sv": "swedish", "da": "danish", "fi": "finnish", "no": "norwegian", "uk": "ukrainian"}
FAULTS = ("429", "500", "html", "badjson", "empty", "huge", "timeout", "close", "error200")
VARIANTS = {"openai": ("openai", "groq", "vllm", "nogranularity"), "whispercpp": ("token-times",)}
CONTENTS = ("words", "stm", "script")
NUMBERS = ("spelled", "written", "homophones", "mixed")
HUGE_BYTES = 20 * 1024 * 1024
TIMEOUT_SEC = 600.0  # longer than any client's limit in the tests: only the client's cut ends it
DRAIN_MAX = 256 * 1024 * 1024  # a body over --max-body is read and dropped up to this


# ----------------------------------------------------------------------------- WAV

def parse_wav(data):
    """(header dict, violations, samples or None) of a WAV file's bytes.

    header: format_tag, channels, rate, bits, block_align, byte_rate, frames, duration.
    samples: the audio as ints (channels averaged) when it is 16-bit PCM; None otherwise.
    """
    hdr = {"format_tag": None, "channels": None, "rate": None, "bits": None,
           "block_align": None, "byte_rate": None, "frames": None, "duration": None}
    v = []
    if len(data) < 12 or data[0:4] != b"RIFF" or data[8:12] != b"WAVE":
        v.append("not a RIFF/WAVE file")
        return hdr, v, None
    riff = struct.unpack_from("<I", data, 4)[0]
    if riff + 8 != len(data):
        v.append("RIFF size %d + 8 != file size %d" % (riff, len(data)))
    pos, fmt, dat = 12, None, None
    while pos + 8 <= len(data):
        cid = data[pos:pos + 4]
        size = struct.unpack_from("<I", data, pos + 4)[0]
        body = pos + 8
        if cid == b"fmt " and fmt is None:
            if size < 16 or body + 16 > len(data):
                v.append("fmt chunk too short (%d bytes)" % size)
            else:
                fmt = struct.unpack_from("<HHIIHH", data, body)
        elif cid == b"data" and dat is None:
            present = len(data) - body
            if size > present:
                v.append("data chunk says %d bytes, %d present" % (size, present))
            dat = (body, min(size, present))
        pos = body + size + (size & 1)
    if fmt is None:
        v.append("no fmt chunk")
        return hdr, v, None
    tag, ch, rate, byte_rate, align, bits = fmt
    hdr.update(format_tag=tag, channels=ch, rate=rate, bits=bits, block_align=align,
               byte_rate=byte_rate)
    want = {"format_tag": 1, "channels": 1, "rate": RATE, "bits": 16, "block_align": 2,
            "byte_rate": 2 * RATE}
    for k, w in want.items():
        if hdr[k] != w:
            v.append("%s %s, want %s" % (k, hdr[k], w))
    if dat is None:
        v.append("no data chunk")
        return hdr, v, None
    off, n = dat
    if align:
        if n % align:
            v.append("data size %d not a multiple of block align %d" % (n, align))
        hdr["frames"] = n // align
        if rate:
            hdr["duration"] = hdr["frames"] / rate
            if hdr["duration"] > MAX_CHUNK_SEC + 0.01:
                v.append("duration %.3f s over %.0f s" % (hdr["duration"], MAX_CHUNK_SEC))
    if tag != 1 or bits != 16 or not ch or not rate or align != 2 * ch:
        return hdr, v, None
    raw = array("h")
    raw.frombytes(data[off:off + (n // align) * align])
    if sys.byteorder != "little":
        raw.byteswap()
    if ch == 1:
        return hdr, v, raw
    mix = array("h", (int(sum(raw[i:i + ch]) / ch) for i in range(0, len(raw), ch)))
    return hdr, v, mix


def voiced_regions(samples, rate):
    """Regions [(start, end)] s where the audio is voiced: 20 ms frames with RMS over -45
    dBFS, gaps under 300 ms merged, regions under 100 ms dropped."""
    flen = max(1, rate // 50)
    thr = (32768.0 * 10 ** (-45 / 20)) ** 2
    n = len(samples)
    nfr = (n + flen - 1) // flen
    voiced = []
    for i in range(nfr):
        f = samples[i * flen:(i + 1) * flen]
        voiced.append(sum(map(operator.mul, f, f)) / len(f) > thr)
    runs, i = [], 0
    while i < nfr:
        if voiced[i]:
            j = i
            while j < nfr and voiced[j]:
                j += 1
            runs.append([i, j])
            i = j
        else:
            i += 1
    merged = []
    for r in runs:
        if merged and (r[0] - merged[-1][1]) * 0.02 < 0.3 - 1e-9:
            merged[-1][1] = r[1]
        else:
            merged.append(r)
    dur = n / rate
    return [(a * 0.02, min(b * 0.02, dur)) for a, b in merged if (b - a) * 0.02 >= 0.1 - 1e-9]


def audio_parts(samples, rate):
    """[(start, end)] s of the chunk that are not digital zeros, in 5 ms frames (zero runs
    shorter than a frame inside speech do not split a part)."""
    flen = max(1, int(rate * AUDIO_FRAME_SEC))
    out = []
    n = len(samples)
    for i in range(0, n, flen):
        if any(samples[i:i + flen]):
            a, b = i / rate, min(n, i + flen) / rate
            if out and abs(out[-1][1] - a) < 1e-9:
                out[-1][1] = b
            else:
                out.append([a, b])
    return [(a, b) for a, b in out]


def parse_rttm(path):
    """{speaker: [(start, end)]} of an RTTM file's SPEAKER lines."""
    spk = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            w = line.split()
            if len(w) >= 8 and w[0] == "SPEAKER":
                s, d = float(w[3]), float(w[4])
                spk.setdefault(w[7], []).append((s, s + d))
    return spk


def inter(a, b):
    """The intersection of two sorted lists of disjoint spans."""
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        s, e = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if e > s:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def union(spans):
    out = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def minus(a, b):
    """Sorted disjoint spans a without the spans b."""
    out = []
    b = union(b)
    for s, e in a:
        for bs, be in b:
            if be <= s or bs >= e:
                continue
            if bs > s:
                out.append((s, bs))
            s = max(s, be)
            if s >= e:
                break
        if e > s:
            out.append((s, e))
    return out


def rttm_scorable(spk):
    """{speaker: spans where that speaker alone speaks, farther than the collar from any
    reference boundary}."""
    allspans = [x for v in spk.values() for x in v]
    collars = [(t - RTTM_COLLAR_SEC, t + RTTM_COLLAR_SEC) for s, e in allspans for t in (s, e)]
    out = {}
    for name, v in spk.items():
        mine = union(v)
        others = [x for o, w in spk.items() if o != name for x in w]
        out[name] = minus(minus(mine, others), collars)
    return out


def truth_of(scorable, parts, c0, tol):
    spans = [(c0 + a, c0 + b) for a, b in parts]
    secs = {k: round(sum(e - s for s, e in inter(spans, v)), 3) for k, v in scorable.items()}
    ranked = sorted(secs.values(), reverse=True)
    second = round(sum(ranked[1:]), 3)
    return {"speakers": secs, "second_sec": second, "one_speaker": second <= tol}


def unvoiced_stretches(regions, dur):
    out, t = [], 0.0
    for a, b in regions:
        if a > t:
            out.append((t, a))
        t = max(t, b)
    if dur > t:
        out.append((t, dur))
    return out


# ----------------------------------------------------------------------------- content

def split_token(tok):
    """'Hello?' -> ('Hello', '?'); '"Hi' -> ('Hi', ''); ',' -> ('', ',')."""
    m = re.match(r"^[\"'(\[]*(.*?)([.,!?;:\"')\]]*)$", tok)
    return m.group(1), m.group(2)


def words_of(text):
    """[(word, trailing punctuation)] of a text."""
    out = []
    for tok in text.split():
        w, after = split_token(tok)
        if w:
            out.append([w, after])
        elif out:
            out[-1][1] += after
    return out


def spread(words, s, e, fill=0.8):
    """[{w, after, s, e}] with the words evenly over [s, e], each `fill` of its slot."""
    n = len(words)
    if n == 0:
        return []
    slot = (e - s) / n
    pad = slot * (1 - fill) / 2
    return [{"w": w, "after": a, "s": s + i * slot + pad, "e": s + (i + 1) * slot - pad}
            for i, (w, a) in enumerate(words)]


def seg_text(seg):
    return " " + " ".join(w["w"] + w["after"] for w in seg["words"])


def content_words(regions):
    segs, k = [], 0
    for rs, re_ in regions:
        n = max(1, int(round((re_ - rs) / 0.4)))
        ws = []
        for i in range(n):
            after = "." if i == n - 1 else ("," if i % 4 == 3 else "")
            ws.append((NATO[k % len(NATO)], after))
            k += 1
        segs.append({"start": rs, "end": re_, "words": spread(ws, rs, re_), "kind": "speech"})
    return segs


def parse_stm(path):
    lines = []
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith(";;"):
                continue
            w = line.split()
            if len(w) < 5:
                raise ValueError("%s:%d: an STM line has at least 5 fields" % (path, no))
            try:
                s, e = float(w[3]), float(w[4])
            except ValueError:
                raise ValueError("%s:%d: start/end are not numbers" % (path, no)) from None
            rest = w[5:]
            if rest and rest[0].startswith("<") and rest[0].endswith(">"):
                rest = rest[1:]
            if w[2].upper().startswith("IGNORE_TIME_SEGMENT") or not rest:
                continue
            lines.append((s, e, " ".join(rest)))
    return lines


def content_stm(stm, c0, c1, heard=None):
    """Segments of the STM lines overlapping the call-clock span [c0, c1], chunk-relative;
    with `heard` (chunk-relative spans), only the words whose middle lies in them."""
    segs = []
    for s, e, text in stm:
        if e <= c0 or s >= c1:
            continue
        ws = [w for w in spread(words_of(text), s, e) if c0 <= (w["s"] + w["e"]) / 2 < c1]
        if heard is not None:
            ws = [w for w in ws
                  if any(a <= (w["s"] + w["e"]) / 2 - c0 < b for a, b in heard)]
        if not ws:
            continue
        for w in ws:
            w["s"] = min(max(w["s"], c0), c1) - c0
            w["e"] = min(max(w["e"], c0), c1) - c0
        segs.append({"start": max(s, c0) - c0, "end": min(e, c1) - c0, "words": ws,
                     "kind": "speech"})
    return segs


def hallucinations(regions, dur, filename):
    """Injected segments: phrases and a loop in unvoiced stretches >= 0.8 s, a word past the
    end. The first phrase is picked by the filename, so that each chunk's answer is fixed."""
    k = zlib.crc32(filename.encode("utf-8", "replace"))
    out = []
    stretches = [(a, b) for a, b in unvoiced_stretches(regions, dur) if b - a >= 0.8 - 1e-9]
    for i, (a, b) in enumerate(stretches):
        if i == 1:
            text, kind = LOOPS[k % len(LOOPS)], "loop"
        else:
            text, kind = PHRASES[k % len(PHRASES)], "phrase"
            k += 1
        s, e = a + 0.1, b - 0.1
        out.append({"start": s, "end": e, "words": spread(words_of(text), s, e, 0.9),
                    "kind": kind, "display": text})
    s = dur + PAST_END_SEC
    out.append({"start": s, "end": s + 0.3, "words": spread(words_of(PAST_END_WORD), s, s + 0.3),
                "kind": "past_end", "display": PAST_END_WORD})
    return out


# ----------------------------------------------------------------------------- script

NUM_DIGIT = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
             "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}
NUM_TEEN = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
            "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
NUM_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
            "eighty": 80, "ninety": 90}
HOMOPHONES = {"four": ["for"], "two": ["to", "too"], "eight": ["ate"], "one": ["won"]}
TLD_WORDS = {"com", "net", "org", "io", "uk", "co", "de", "us"}
RENDERINGS = ("spelled", "written", "homophones")
FRAME = 0.02


def hrng(*key):
    """A random generator fixed by the key (the answer depends only on the request)."""
    import random
    return random.Random(zlib.crc32("\x1f".join(str(k) for k in key).encode("utf-8")))


def load_script(path):
    """The calls of a --script file (tests/privacy/mkcorpus.py's script.json): per call and
    role, the words said [{w, s, e, u}], the 20 ms frames they cover, and the leg's level per
    20 ms frame (env, dBFS)."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    legs = []
    for c in doc["calls"]:
        for role, leg in c["legs"].items():
            ws = leg["words"]
            if not ws:
                continue
            frames = set()
            for w in ws:
                frames.update(range(int(w["s"] / FRAME), int(w["e"] / FRAME) + 1))
            legs.append({"call": c["id"], "role": role, "words": ws, "frames": frames,
                         "env": leg.get("env", [])})
    return legs


def frame_levels(samples, rate):
    """The level of each 20 ms frame, dBFS (digital silence: -100)."""
    import math
    flen = max(1, rate // 50)
    out = []
    for i in range(0, len(samples), flen):
        f = samples[i:i + flen]
        p = sum(map(operator.mul, f, f)) / len(f)
        out.append(10 * math.log10(p / 32768.0 ** 2) if p > 0 else -100.0)
    return out


def corr(a, b):
    n = min(len(a), len(b))
    if n < 2:
        return 0.0
    a, b = a[:n], b[:n]
    ma, mb = sum(a) / n, sum(b) / n
    sab = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    saa = sum((x - ma) ** 2 for x in a)
    sbb = sum((y - mb) ** 2 for y in b)
    return sab / (saa * sbb) ** 0.5 if saa > 0 and sbb > 0 else 0.0


def match_leg(legs, role, c0, samples, rate):
    """(leg, score, second best score, its call): the script's leg of this role that sounds
    like the chunk. The five legs whose words' 20 ms frames agree best (Jaccard) with the
    chunk's voiced frames (over -45 dBFS), on the call's clock, are compared by the correlation
    of their frames' levels with the chunk's; the best correlation wins."""
    lev = frame_levels(samples, rate)
    base = int(round(c0 / FRAME))
    got = {base + i for i, x in enumerate(lev) if x > -45}
    lo, hi = base, base + len(lev)
    ranked = []
    for leg in legs:
        if role not in ("mixed", "S1", "S2") and leg["role"] != role:  # S1, S2: of a mix
            continue
        want = {f for f in leg["frames"] if lo <= f < hi}
        union = len(got | want)
        ranked.append((len(got & want) / union if union else 0.0, leg["call"], leg))
    ranked.sort(key=lambda x: (-x[0], x[1]))
    scored = []
    for jac, _, leg in ranked[:5]:
        env = leg["env"][lo:hi]
        env = env + [-100.0] * (len(lev) - len(env))
        scored.append((corr([max(x, -70.0) for x in lev], [max(x, -70.0) for x in env])
                       if leg["env"] else jac, leg))
    scored.sort(key=lambda x: -x[0])
    if not scored:
        return None, 0.0, 0.0, None
    other = [x for x in scored[1:] if x[1]["call"] != scored[0][1]["call"]]
    return (scored[0][1], scored[0][0], other[0][0] if other else 0.0,
            other[0][1]["call"] if other else None)


def number_phrases(ws):
    """[(i, j)]: maximal runs ws[i:j] of number words (digits, oh, teens, tens, hundred,
    thousand, double/triple + digit, "and" inside an amount), the gap between two words under
    0.7 s. "oh" counts only beside another number word."""
    def isnum(k):
        w = ws[k]["w"].lower()
        if w in NUM_DIGIT or w in NUM_TEEN or w in NUM_TENS or w in ("hundred", "thousand"):
            return True
        if w in ("double", "triple") and k + 1 < len(ws) and ws[k + 1]["w"] in NUM_DIGIT:
            return True
        if w == "and" and 0 < k < len(ws) - 1 and ws[k - 1]["w"] in ("hundred", "thousand") \
                and (ws[k + 1]["w"] in NUM_DIGIT or ws[k + 1]["w"] in NUM_TEEN or
                     ws[k + 1]["w"] in NUM_TENS):
            return True
        return False
    out, i = [], 0
    while i < len(ws):
        if not isnum(i):
            i += 1
            continue
        j = i + 1
        while j < len(ws) and isnum(j) and ws[j]["s"] - ws[j - 1]["e"] < 0.7:
            j += 1
        if j - i > 1 or ws[i]["w"] != "oh":
            out.append((i, j))
        i = j
    return out


def phrase_value(ws):
    """('digits', [(digit, word index)...]) or ('amount', int) for a number phrase."""
    names = [w["w"].lower() for w in ws]
    if "hundred" in names or "thousand" in names:
        total, cur = 0, 0
        for n in names:
            if n in NUM_DIGIT:
                cur += int(NUM_DIGIT[n])
            elif n in NUM_TEEN:
                cur += NUM_TEEN[n]
            elif n in NUM_TENS:
                cur += NUM_TENS[n]
            elif n == "hundred":
                cur = (cur or 1) * 100
            elif n == "thousand":
                total += (cur or 1) * 1000
                cur = 0
        return "amount", total + cur
    out, k = [], 0
    while k < len(names):
        n = names[k]
        if n in ("double", "triple"):
            d = NUM_DIGIT[names[k + 1]]
            out += [(d, k), (d, k + 1)] + ([(d, k + 1)] if n == "triple" else [])
            k += 2
            continue
        if n in NUM_TENS:
            if k + 1 < len(names) and names[k + 1] in NUM_DIGIT and names[k + 1] not in ("zero",
                                                                                        "oh"):
                out += [(str(NUM_TENS[n])[0], k), (NUM_DIGIT[names[k + 1]], k + 1)]
                k += 2
                continue
            out += [(c, k) for c in str(NUM_TENS[n])]
        elif n in NUM_TEEN:
            out += [(c, k) for c in str(NUM_TEEN[n])]
        elif n in NUM_DIGIT:
            out.append((NUM_DIGIT[n], k))
        k += 1
    return "digits", out


def written_groups(n, rng):
    """How Whisper writes a run of n digits: group sizes, and the joiner ('-', ' ' for
    separate words, ',' for thousands, '' for one word)."""
    if n == 16:
        return [4, 4, 4, 4], rng.choice(["-", " ", "", ","])
    if n == 15:
        return [4, 6, 5], rng.choice(["-", " "])
    if n in (13, 14, 19):
        return [4] * (n // 4) + ([n % 4] if n % 4 else []), rng.choice([" ", "-", ""])
    if n == 9:
        return [3, 2, 4], rng.choice(["-", ""])
    if n == 10:
        return [3, 3, 4], rng.choice(["-", " ", ""])
    if n == 11:
        return [5, 6], rng.choice([" ", ""])
    if n >= 5:
        return [n], rng.choice(["", ","])
    return [n], ""


def write_digits(ds, rng):
    """[(text, [word indices])] of a digit run written as Whisper writes it."""
    groups, joiner = written_groups(len(ds), rng)
    if joiner == ",":  # thousands: 4,111,111,111,111,111
        s = "".join(d for d, _ in ds)
        head = len(s) % 3 or 3
        parts = [s[:head]] + [s[k:k + 3] for k in range(head, len(s), 3)]
        return [(",".join(parts), sorted({k for _, k in ds}))]
    out, p = [], 0
    for g in groups:
        out.append(("".join(d for d, _ in ds[p:p + g]), sorted({k for _, k in ds[p:p + g]})))
        p += g
    if joiner == " ":
        return out
    return [(joiner.join(t for t, _ in out), sorted({k for _, ks in out for k in ks}))]


def render_segment(ws, modes, key):
    """The words an ASR writes for the words said ws (one utterance): [{w, s, e, src, how}]
    with src the indices into ws. Numbers spelled, written or with homophones, as modes say
    (`mixed`: each number phrase picks one, by the key)."""
    out = []
    phrases = number_phrases(ws)
    starts = {i: j for i, j in phrases}
    i = 0
    while i < len(ws):
        if i not in starts:
            out.append({"w": ws[i]["w"], "s": ws[i]["s"], "e": ws[i]["e"], "src": [i],
                        "how": "word"})
            i += 1
            continue
        j = starts[i]
        rng = hrng(key, i)
        how = rng.choice(RENDERINGS) if "mixed" in modes else \
            next((m for m in RENDERINGS if m in modes), "spelled")
        kind, val = phrase_value(ws[i:j])
        if how == "written":
            if kind == "amount":
                items = [(format(val, ",") if val >= 1000 and rng.random() < 0.7 else str(val),
                          list(range(j - i)))]
            else:
                items = write_digits(val, rng)
            for text, ks in items:
                src = [i + k for k in ks]
                out.append({"w": text, "s": ws[src[0]]["s"], "e": ws[src[-1]]["e"], "src": src,
                            "how": how})
        else:
            for k in range(i, j):
                w = ws[k]["w"]
                if how == "homophones" and w in HOMOPHONES and rng.random() < 0.4:
                    w = rng.choice(HOMOPHONES[w])
                out.append({"w": w, "s": ws[k]["s"], "e": ws[k]["e"], "src": [k], "how": how})
        i = j
    if "written" in modes or "mixed" in modes:
        out = write_spelled(out, key)
    return out


def write_spelled(out, key):
    """Whisper's writing of spelled letters and emails: runs of single capitals and digits
    ("G B 8 2 W E S T ...") as groups of four ("GB82 WEST ..."), half of the time; "john dot
    smith at gmail dot com" as john.smith@gmail.com, half of the time."""
    rng = hrng(key, "spelled")
    res, i = [], 0
    while i < len(out):
        w = out[i]["w"]
        # letters and digits spelled one by one (an IBAN)
        def spelt(x):
            return (len(x) == 1 and x.isupper()) or x.isdigit() or x in NUM_DIGIT
        j = i
        while j < len(out) and spelt(out[j]["w"]):
            j += 1
        if sum(len(out[k]["w"]) == 1 and out[k]["w"].isupper() for k in range(i, j)) >= 2:
            if rng.random() < 0.5:  # this run stays spelled
                res.extend(out[i:j])
                i = j
                continue
            chars = [(c, k) for k in range(i, j)
                     for c in (NUM_DIGIT[out[k]["w"]] if out[k]["w"] in NUM_DIGIT else out[k]["w"])]
            for p in range(0, len(chars), 4):
                grp = chars[p:p + 4]
                src = sorted({s for _, k in grp for s in out[k]["src"]})
                res.append({"w": "".join(c for c, _ in grp), "s": out[grp[0][1]]["s"],
                            "e": out[grp[-1][1]]["e"], "src": src, "how": "written"})
            i = j
            continue
        if w == "at" and res and i + 3 < len(out) and out[i + 2]["w"] == "dot" and \
                rng.random() < 0.5:
            # the local part: back over "x dot y" / "x underscore y"
            a = len(res) - 1
            while a >= 2 and res[a - 1]["w"] in ("dot", "underscore"):
                a -= 2
            k = i + 1
            dom = [out[k]]
            while k + 2 < len(out) and out[k + 1]["w"] == "dot" and \
                    out[k + 2]["w"] in TLD_WORDS:
                dom += [out[k + 1], out[k + 2]]
                k += 2
            if len(dom) >= 3:
                local = res[a:]
                sym = {"dot": ".", "underscore": "_"}
                text = "".join(sym.get(x["w"], x["w"]) for x in local) + "@" + \
                    "".join(sym.get(x["w"], x["w"]) for x in dom)
                src = [s for x in local + [out[i]] + dom for s in x["src"]]
                del res[a:]
                res.append({"w": text, "s": local[0]["s"], "e": dom[-1]["e"], "src": src,
                            "how": "written"})
                i = k + 1
                continue
        res.append(out[i])
        i += 1
    return res


def content_script(fake, rec, info, samples, rate, dur):
    """Segments from the --script file: the leg whose words match the chunk's audio, each of its
    utterances inside the chunk a segment, its numbers rendered as the modes say, its times
    jittered with `jitter`. What was sent is logged in script.jsonl with the words' sources."""
    c0 = info["start"]
    c1 = c0 + dur
    leg, score, second, second_call = match_leg(fake.script, info["role"], c0, samples, rate)
    rec["script"] = {"call": leg["call"] if leg else None, "score": round(score, 3),
                     "second": round(second, 3), "second_call": second_call}
    if leg is None:
        return []
    ws = leg["words"]
    inside = [k for k, w in enumerate(ws) if c0 <= (w["s"] + w["e"]) / 2 < c1]
    segs, log = [], []
    by_u = {}
    for k in inside:
        by_u.setdefault(ws[k]["u"], []).append(k)
    for u, ks in sorted(by_u.items()):
        said = [ws[k] for k in ks]
        key = "%s/%s/%d" % (leg["call"], leg["role"], u)
        words = render_segment(said, fake.numbers, key)
        if fake.jitter:
            rng = hrng(key, "jitter")
            shift = rng.uniform(-0.25, 0.25)
            prev = 0.0
            for w in words:
                a = w["s"] + shift + rng.uniform(-0.05, 0.05)
                b = w["e"] + shift + rng.uniform(-0.05, 0.05)
                a = max(a, prev)
                b = max(b, a + 0.02)
                w["s"], w["e"] = a, b
                prev = b
        for w in words:
            w["src"] = [ks[k] for k in w["src"]]
        words[-1]["after"] = "."
        sw = [{"w": w["w"], "after": w.get("after", ""),
               "s": min(max(w["s"], c0), c1) - c0, "e": min(max(w["e"], c0), c1) - c0}
              for w in words]
        segs.append({"start": sw[0]["s"], "end": sw[-1]["e"], "words": sw, "kind": "speech"})
        log.append({"u": u, "words": [{"word": w["w"], "start": round(x["s"] + c0, 3),
                                       "end": round(x["e"] + c0, 3), "src": w["src"],
                                       "how": w["how"]} for w, x in zip(words, sw)]})
    fake.write_script({"n": rec["n"], "file": info["filename"], "call": leg["call"],
                       "role": leg["role"], "score": round(score, 3), "segments": log})
    return segs


# ----------------------------------------------------------------------------- encoders

def f32(x):
    """The shortest decimal that a C float holding x prints as (nlohmann::json's way)."""
    want = struct.unpack("<f", struct.pack("<f", x))[0]
    for p in range(1, 10):
        s = float("%.*g" % (p, want))
        if struct.unpack("<f", struct.pack("<f", s))[0] == want:
            return s
    return want


def token_id(piece):
    return zlib.crc32(piece.encode("utf-8")) % 50000 + 220


def pieces(word):
    """Sub-word tokens of a word, as whisper.cpp would send them: ' Hel', 'lo'."""
    if len(word) <= 3:
        return [" " + word]
    cut = (len(word) + 1) // 2
    return [" " + word[:cut], word[cut:]]


def openai_body(segs, dur, lang, temp, grans, variant):
    """(verbose_json dict, sent record) in OpenAI's shape."""
    r3 = lambda x: round(x, 3)  # noqa: E731
    want_words = "word" in grans and variant not in ("groq", "vllm")
    out_segs, out_words, sent_words = [], [], []
    for i, sg in enumerate(segs):
        toks = [token_id(p) for w in sg["words"] for p in pieces(w["w"])]
        loop = sg["kind"] == "loop"
        out_segs.append({"id": i, "seek": 0, "start": r3(sg["start"]), "end": r3(sg["end"]),
                         "text": seg_text(sg), "tokens": toks, "temperature": temp,
                         "avg_logprob": -1.0 if variant == "vllm" else -0.2,
                         "compression_ratio": -1.0 if variant == "vllm" else
                         (2.8 if loop else 1.3),
                         "no_speech_prob": 0.01})
        for w in sg["words"]:
            out_words.append({"word": w["w"], "start": r3(w["s"]), "end": r3(w["e"])})
    text = "".join(s["text"] for s in out_segs).strip()
    body = {"task": "transcribe", "language": lang, "duration": r3(dur), "text": text}
    body["segments"] = out_segs
    if want_words:
        body["words"] = out_words
        sent_words = out_words
    sent = {"segments": [{"start": s["start"], "end": s["end"], "text": s["text"]}
                         for s in out_segs],
            "words": sent_words if want_words else None, "word_times": want_words}
    return body, sent


def cs(x):
    """whisper.cpp's times: an integer count of 10 ms, times 0.01."""
    return int(round(x * 100)) * 0.01


def whispercpp_body(segs, dur, lang, temp, token_times):
    out_segs, sent_words = [], []
    for i, sg in enumerate(segs):
        toks, words = [], []
        for w in sg["words"]:
            ps = pieces(w["w"])
            n = sum(len(p.strip()) for p in ps)
            c, first = 0, None
            for j, p in enumerate(ps):
                a = w["s"] + (w["e"] - w["s"]) * c / n
                c += len(p.strip())
                b = w["s"] + (w["e"] - w["s"]) * c / n
                item = {"word": p}
                if token_times:
                    item["start"], item["end"] = cs(a), cs(b)
                else:
                    item["start"], item["end"] = -1 * 0.01, -1 * 0.01
                item["t_dtw"] = -1
                item["probability"] = f32(0.95 if j == 0 else 0.85)
                first = item if first is None else first
                toks.append(token_id(p))
                words.append(item)
            for ch in w["after"]:
                item = {"word": ch}
                if token_times:
                    item["start"], item["end"] = cs(w["e"]), cs(w["e"])
                else:
                    item["start"], item["end"] = -1 * 0.01, -1 * 0.01
                item["t_dtw"] = -1
                item["probability"] = f32(0.99)
                toks.append(token_id(ch))
                words.append(item)
            sent_words.append({"word": w["w"],
                               "start": cs(w["s"]) if token_times else None,
                               "end": cs(w["e"]) if token_times else None})
        seg = {"id": i, "text": seg_text(sg), "start": cs(sg["start"]), "end": cs(sg["end"])}
        if toks:
            seg["tokens"] = toks
            seg["words"] = words
        seg["temperature"] = f32(temp)
        seg["avg_logprob"] = f32(-0.3)
        out_segs.append(seg)
    body = {"task": "transcribe", "language": lang, "duration": f32(dur),
            "text": "".join(s["text"] + "\n" for s in out_segs), "segments": out_segs}
    sent = {"segments": [{"start": s["start"], "end": s["end"], "text": s["text"]}
                         for s in out_segs],
            "words": sent_words, "word_times": bool(token_times)}
    return body, sent


def srt_time(t, sep):
    ms = int(round(t * 1000))
    return "%02d:%02d:%02d%s%03d" % (ms // 3600000, ms // 60000 % 60, ms // 1000 % 60, sep,
                                    ms % 1000)


def openai_error(message, typ="invalid_request_error", param=None, code=None):
    return {"error": {"message": message, "type": typ, "param": param, "code": code}}


def mask_key(k):
    if len(k) <= 8:
        return "*" * len(k)
    return k[:3] + "*" * (len(k) - 7) + k[-4:]


# ----------------------------------------------------------------------------- multipart

def header_params(value):
    """('form-data', {'name': 'file', 'filename': 'x.wav'}) of a header value."""
    parts, cur, q, esc = [], [], False, False
    for ch in value:
        if esc:
            cur.append(ch)
            esc = False
        elif q and ch == "\\":
            esc = True
        elif ch == '"':
            q = not q
            cur.append(ch)
        elif ch == ";" and not q:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    main = parts[0].strip().lower()
    params = {}
    for p in parts[1:]:
        if "=" not in p:
            continue
        k, v = p.split("=", 1)
        v = v.strip()
        if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
            v = v[1:-1]
        params[k.strip().lower()] = v
    return main, params


def parse_multipart(body, boundary):
    """([parts], violations). A part: {name, filename, content_type, data}."""
    v, parts = [], []
    delim = b"--" + boundary
    pos = body.find(delim)
    if pos < 0:
        return [], ["multipart body has no boundary line"]
    if pos != 0 and body[pos - 2:pos] != b"\r\n":
        v.append("boundary not at the start of a line")
    while True:
        pos += len(delim)
        if body[pos:pos + 2] == b"--":
            break
        eol = body.find(b"\n", pos)
        if eol < 0:
            v.append("multipart body ends inside a boundary line")
            break
        if body[pos:eol].strip(b" \t\r"):
            v.append("junk after a boundary")
        if body[eol - 1:eol] != b"\r":
            v.append("bare LF after a boundary (CRLF required)")
        hstart = eol + 1
        hend = body.find(b"\r\n\r\n", hstart)
        if hend < 0:
            v.append("part headers not ended by CRLF CRLF")
            break
        headers = {}
        for line in body[hstart:hend].split(b"\r\n"):
            if not line:
                continue
            if b":" not in line:
                v.append("malformed part header line")
                continue
            k, val = line.split(b":", 1)
            headers[k.strip().decode("latin-1").lower()] = val.strip().decode("utf-8", "replace")
        nxt = body.find(b"\r\n" + delim, hend + 4)
        if nxt < 0:
            v.append("multipart body not terminated by the closing boundary")
            data = body[hend + 4:]
        else:
            data = body[hend + 4:nxt]
        disp, dp = header_params(headers.get("content-disposition", ""))
        if disp != "form-data" or "name" not in dp:
            v.append("part without Content-Disposition: form-data; name=...")
        parts.append({"name": dp.get("name"), "filename": dp.get("filename"),
                      "content_type": headers.get("content-type"), "data": data})
        if nxt < 0:
            break
        pos = nxt + 2
    return parts, v


# ----------------------------------------------------------------------------- server

class Fake:
    """The configuration and the shared state of one fake server."""

    def __init__(self, args):
        self.protocol = args.protocol
        modes = [m.strip() for m in (args.mode or "").split(",") if m.strip()]
        self.variant = "openai" if args.protocol == "openai" else None
        self.token_times = False
        self.content = "words"
        self.halluc = False
        self.numbers = set()
        self.jitter = False
        for m in modes:
            if m in VARIANTS[args.protocol]:
                if m == "token-times":
                    self.token_times = True
                else:
                    self.variant = m
            elif m in CONTENTS:
                self.content = m
            elif m == "halluc":
                self.halluc = True
            elif m in NUMBERS:
                self.numbers.add(m)
            elif m == "jitter":
                self.jitter = True
            else:
                raise ValueError("mode %r is not one of %s for --protocol %s" % (
                    m, ", ".join(VARIANTS[args.protocol] + CONTENTS + ("halluc",) + NUMBERS +
                                 ("jitter",)),
                    args.protocol))
        self.stm = None
        if self.content == "stm":
            if not args.stm:
                raise ValueError("--mode stm needs --stm FILE")
            self.stm = parse_stm(args.stm)
        self.script = None
        if self.content == "script":
            if not args.script:
                raise ValueError("--mode script needs --script FILE")
            self.script = load_script(args.script)
        elif self.numbers or self.jitter:
            raise ValueError("--mode %s needs --mode script" % ",".join(
                sorted(self.numbers) + (["jitter"] if self.jitter else [])))
        self.rttm = rttm_scorable(parse_rttm(args.rttm)) if args.rttm else None
        self.rttm_tol = args.rttm_tol
        self.key = args.key
        self.faults = parse_fail(args.fail or "")
        self.loading = args.loading
        self.max_body = args.max_body
        self.log_dir = args.log
        self.lock = threading.Lock()
        self.n = 0
        self.n_transcribe = 0
        self.n_health = 0
        self.stop = threading.Event()
        self.log = open(os.path.join(args.log, "requests.jsonl"), "a", encoding="utf-8")
        self.injected = open(os.path.join(args.log, "injected.jsonl"), "a", encoding="utf-8")
        self.script_log = open(os.path.join(args.log, "script.jsonl"), "a", encoding="utf-8") \
            if self.script is not None else None
        self._huge = None
        self.config = {"protocol": self.protocol, "variant": self.variant,
                       "token_times": self.token_times, "content": self.content,
                       "halluc": self.halluc, "stm": args.stm,
                       "script": args.script, "numbers": sorted(self.numbers),
                       "jitter": self.jitter, "key_required": bool(self.key),
                       "fail": args.fail or "", "loading": self.loading,
                       "max_body": self.max_body, "rttm": args.rttm,
                       "rttm_tol": self.rttm_tol}

    def next_n(self):
        with self.lock:
            self.n += 1
            return self.n

    def fault_for_next(self):
        """The --fail kind the next transcription request gets (or None)."""
        with self.lock:
            i = self.n_transcribe
            self.n_transcribe += 1
        base = 0
        for kind, count in self.faults:
            if count is None or i < base + count:
                return kind
            base += count
        return None

    def health_loading(self, count):
        with self.lock:
            if count:
                self.n_health += 1
                return self.n_health <= self.loading
            return self.n_health < self.loading

    def write_log(self, rec):
        line = json.dumps(rec, ensure_ascii=False, sort_keys=False)
        with self.lock:
            self.log.write(line + "\n")
            self.log.flush()

    def write_injected(self, recs):
        with self.lock:
            for r in recs:
                self.injected.write(json.dumps(r, ensure_ascii=False) + "\n")
            self.injected.flush()

    def write_script(self, rec):
        with self.lock:
            self.script_log.write(json.dumps(rec, ensure_ascii=False) + "\n")
            self.script_log.flush()

    def huge(self, lang):
        if self._huge is None:
            head = '{"task":"transcribe","language":"%s","duration":1.0,"text":"' % lang
            tail = '","segments":[]}'
            n = HUGE_BYTES - len(head) - len(tail)
            word = "lorem ipsum "
            text = (word * (n // len(word) + 1))[:n]
            self._huge = (head + text + tail).encode("ascii")
        return self._huge


def parse_fail(spec):
    out = []
    for item in [s.strip() for s in spec.split(",") if s.strip()]:
        kind, _, count = item.partition(":")
        if kind not in FAULTS:
            raise ValueError("--fail kind %r is not one of %s" % (kind, ", ".join(FAULTS)))
        if count:
            if not count.isdigit() or int(count) < 1:
                raise ValueError("--fail %s: COUNT must be a positive integer" % item)
            out.append((kind, int(count)))
        else:
            out.append((kind, None))
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120
    fake = None  # set by main

    def log_message(self, fmt, *args):  # no access log on stderr
        pass

    def version_string(self):
        return "whisper.cpp" if self.fake.protocol == "whispercpp" else "fake-openai"

    # -- answering

    def answer(self, rec, status, body, ctype="application/json", headers=None, kind=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        elif isinstance(body, str):
            body = body.encode("utf-8")
        rec["status"] = status
        rec["response"] = kind or ("json" if ctype == "application/json" else ctype)
        rec["response_bytes"] = len(body)
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            if self.fake.protocol == "whispercpp":
                self.send_header("Access-Control-Allow-Origin", "*")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.wfile.flush()
            rec["t_answered"] = time.time()
            return True
        except OSError as e:
            rec["t_answered"] = time.time()
            rec["write_error"] = type(e).__name__
            self.close_connection = True
            return False

    def error(self, rec, status, message, typ="invalid_request_error", param=None, code=None):
        if self.fake.protocol == "openai":
            return self.answer(rec, status, openai_error(message, typ, param, code),
                               kind="error")
        return self.answer(rec, status, {"error": message}, kind="error")

    # -- dispatch

    def do_GET(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def do_PUT(self):
        self.handle_any()

    def do_DELETE(self):
        self.handle_any()

    def do_HEAD(self):
        self.handle_any()

    def do_OPTIONS(self):
        self.handle_any()

    def handle_any(self):
        fake = self.fake
        u = urlsplit(self.path)
        rec = {"n": fake.next_n(), "method": self.command, "path": u.path,
               "query": parse_qs(u.query, keep_blank_values=True), "endpoint": None,
               "fields": {}, "file": None, "auth": "not_required", "violations": [],
               "fault": None, "status": None, "response": None, "sent": None, "injected": [],
               "t_received": time.time(), "t_answered": None}
        try:
            self.route(rec, u.path)
        except (ConnectionError, socket.timeout) as e:
            rec["violations"].append("connection broke while reading: %s" % type(e).__name__)
            self.close_connection = True
        finally:
            fake.write_log(rec)

    def route(self, rec, path):
        fake = self.fake
        if fake.protocol == "whispercpp" and path == "/health":
            rec["endpoint"] = "health"
            if self.command != "GET":
                rec["violations"].append("method %s on /health" % self.command)
            self.drain(rec)
            if fake.health_loading(True):
                return self.answer(rec, 503, {"status": "loading model"}, kind="loading")
            return self.answer(rec, 200, {"status": "ok"}, kind="health")
        if fake.protocol == "whispercpp":
            is_tr = path == "/inference"
        else:
            is_tr = path.endswith("/audio/transcriptions")
        if not is_tr:
            rec["violations"].append("unexpected path")
            self.drain(rec)
            if fake.protocol == "openai":
                return self.error(rec, 404, "Invalid URL (%s %s)" % (self.command, path))
            return self.answer(rec, 404, "File Not Found (%s)" % path, "text/plain",
                               kind="not_found")
        rec["endpoint"] = "transcribe"
        if self.command != "POST":
            rec["violations"].append("method %s, want POST" % self.command)
            self.drain(rec)
            return self.error(rec, 405, "Method %s not allowed on %s" % (self.command, path))
        body = self.read_body(rec)
        if body is None:
            return None
        return self.transcribe(rec, body)

    def drain(self, rec):
        """Read (and drop) a request's body, so that the client reads the answer and the
        connection can be reused; bodies over DRAIN_MAX close the connection instead."""
        te = self.headers.get("Transfer-Encoding")
        n = self.headers.get("Content-Length")
        if te and te.strip().lower() == "chunked":
            total = 0
            while total <= DRAIN_MAX:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip() or b"x", 16)
                except ValueError:
                    break
                if size == 0:
                    while self.rfile.readline(1024).strip():
                        pass
                    return
                total += size
                self.rfile.read(size + 2)
            self.close_connection = True
        elif te or (n is not None and not n.strip().isdigit()):
            self.close_connection = True
        elif n and int(n) <= DRAIN_MAX:
            left = int(n)
            while left > 0:
                got = self.rfile.read(min(left, 65536))
                if not got:
                    break
                left -= len(got)
        elif n:
            self.close_connection = True

    def read_body(self, rec):
        te = self.headers.get("Transfer-Encoding")
        n = self.headers.get("Content-Length")
        if te:
            rec["violations"].append("chunked upload (Transfer-Encoding: %s); a Content-Length "
                                     "body is required" % te)
            self.drain(rec)
            self.error(rec, 411, "Length Required")
            return None
        if n is None or not n.strip().isdigit():
            rec["violations"].append("no valid Content-Length")
            self.close_connection = True
            self.error(rec, 411, "Length Required")
            return None
        n = int(n)
        rec["content_length"] = n
        if n > self.fake.max_body:
            rec["violations"].append("body of %d bytes over the limit of %d" %
                                     (n, self.fake.max_body))
            self.drain(rec)
            self.error(rec, 413, "Request Entity Too Large")
            return None
        body = self.rfile.read(n)
        if len(body) != n:
            rec["violations"].append("body ended after %d of %d bytes" % (len(body), n))
            self.close_connection = True
            return None
        return body

    def check_auth(self, rec):
        fake = self.fake
        if not fake.key:
            return True
        got = self.headers.get("Authorization")
        if got is None:
            rec["auth"] = "missing"
            msg = ("You didn't provide an API key. You need to provide your API key in an "
                   "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
            code = None
        elif hmac.compare_digest(got.encode("utf-8", "replace"),
                                 ("Bearer " + fake.key).encode("utf-8")):
            rec["auth"] = "ok"
            return True
        else:
            rec["auth"] = "wrong"
            sent = got[7:] if got.startswith("Bearer ") else got
            msg = ("Incorrect API key provided: %s. You can find your API key at "
                   "https://platform.openai.com/account/api-keys." % mask_key(sent))
            code = "invalid_api_key"
        body = openai_error(msg, "invalid_request_error", None, code)
        self.answer(rec, 401, body, kind="error")
        return False

    def transcribe(self, rec, body):
        fake = self.fake
        v = rec["violations"]
        ctype = self.headers.get("Content-Type", "")
        main, params = header_params(ctype)
        parts = []
        if main != "multipart/form-data" or not params.get("boundary"):
            v.append("Content-Type %r, want multipart/form-data with a boundary" % ctype)
        else:
            parts, pv = parse_multipart(body, params["boundary"].encode("latin-1", "replace"))
            v.extend(pv)
        fields, files = {}, []
        allowed = OPENAI_FIELDS if fake.protocol == "openai" else WHISPERCPP_FIELDS
        for p in parts:
            name = p["name"]
            if name is None:
                continue
            if name not in allowed:
                v.append("unknown field %r" % name)
            if name == "file" or p["filename"] is not None:
                if name != "file":
                    v.append("file part in field %r" % name)
                files.append(p)
                continue
            try:
                val = p["data"].decode("utf-8")
            except UnicodeDecodeError:
                v.append("field %r is not UTF-8" % name)
                val = p["data"].decode("utf-8", "replace")
            if name == "timestamp_granularities[]":
                fields.setdefault(name, []).append(val)
            elif name in fields:
                v.append("field %r given twice" % name)
            else:
                fields[name] = val
        rec["fields"] = {k: (x[:200] if isinstance(x, str) else x) for k, x in fields.items()}
        samples, dur, wav_ok = None, 0.0, False
        fpart = files[0] if files else None
        if len(files) > 1:
            v.append("%d file parts" % len(files))
        if fpart is None:
            v.append("no 'file' part")
        else:
            rec["file"] = self.take_file(rec, fpart)
            hdr = rec["file"]["wav"]
            wav_ok = rec["file"]["readable"]
            samples = rec["file"].pop("_samples")
            if samples is not None and hdr["rate"]:
                dur = len(samples) / hdr["rate"]
        rf = fields.get("response_format")
        if rf != "verbose_json":
            v.append("response_format %r, want 'verbose_json'" % rf)
        grans = fields.get("timestamp_granularities[]", [])
        lang_code = fields.get("language")
        if lang_code is not None and not re.match(r"^[a-z]{2}$", lang_code):
            v.append("language %r is not an ISO 639-1 code" % lang_code)
        temp = 0.0
        if "temperature" in fields:
            try:
                temp = float(fields["temperature"])
            except ValueError:
                v.append("temperature %r is not a number" % fields["temperature"])
        if fake.protocol == "openai":
            for g in grans:
                if g not in ("word", "segment"):
                    v.append("timestamp_granularities[] %r, want word or segment" % g)
            if "timestamp_granularities" in fields:
                v.append("timestamp_granularities without [] (the API's name is "
                         "timestamp_granularities[])")
        # the answer: key, loading, faults, then the request itself
        if not self.check_auth(rec):
            return
        if fake.protocol == "whispercpp" and fake.health_loading(False):
            return self.answer(rec, 503, {"status": "loading model"}, kind="loading")
        fault = fake.fault_for_next()
        rec["fault"] = fault
        if fault and fault != "timeout":
            return self.fault(rec, fault)
        if fault == "timeout":
            rec["delay_s"] = TIMEOUT_SEC
            if fake.stop.wait(TIMEOUT_SEC):
                self.close_connection = True
                return None
        if fake.protocol == "openai":
            if "model" not in fields:
                return self.error(rec, 400, "you must provide a model parameter")
            if fpart is None:
                return self.error(rec, 400, "1 validation error for Request\nbody -> file\n  "
                                  "field required (type=value_error.missing)")
            if fake.variant == "nogranularity" and "word" in grans:
                return self.error(rec, 400, "timestamp_granularities[] 'word' is not supported "
                                  "by this server; use 'segment'",
                                  param="timestamp_granularities")
            if samples is None:
                return self.error(rec, 400, "Invalid file format. Supported formats: ['flac', "
                                  "'m4a', 'mp3', 'mp4', 'mpeg', 'mpga', 'oga', 'ogg', 'wav', "
                                  "'webm']")
        else:
            if fpart is None:
                return self.answer(rec, 200, {"error": "no 'file' field in the request"},
                                   kind="error200")
            if not wav_ok:
                return self.answer(rec, 200, {"error": "failed to read WAV file"},
                                   kind="error200")
        lang = LANGUAGES.get(lang_code or "en", "english")
        self.content(rec, fpart, samples, dur, lang, temp, grans, rf)

    def take_file(self, rec, p):
        fake = self.fake
        v = rec["violations"]
        hdr, wv, samples = parse_wav(p["data"])
        v.extend(wv)
        name = os.path.join(fake.log_dir, "req-%04d.wav" % rec["n"])
        with open(name, "wb") as f:
            f.write(p["data"])
        info = {"filename": p["filename"], "content_type": p["content_type"],
                "bytes": len(p["data"]), "wav": hdr, "saved": os.path.basename(name),
                "role": None, "start": None, "end": None}
        # whisper.cpp's read_wav: 16 kHz, 16-bit, 1 or 2 channels
        info["readable"] = (samples is not None and hdr["rate"] == RATE and
                            hdr["channels"] in (1, 2))
        fn = p["filename"] or ""
        m = CHUNK_NAME.match(fn)
        if not m:
            v.append("filename %r does not match {agent|customer|mixed|S1|S2}_START_END.wav" % fn)
        else:
            info["role"] = m.group(1)
            info["start"], info["end"] = float(m.group(2)), float(m.group(3))
            if info["end"] <= info["start"]:
                v.append("filename end %.3f not after start %.3f" % (info["end"], info["start"]))
            elif hdr["duration"] is not None and \
                    abs(hdr["duration"] - (info["end"] - info["start"])) > 0.002:
                v.append("filename spans %.3f s, the audio %.4f s" %
                         (info["end"] - info["start"], hdr["duration"]))
        info["_samples"] = samples
        return info

    def content(self, rec, fpart, samples, dur, lang, temp, grans, rf):
        fake = self.fake
        info = rec["file"]
        rate = info["wav"]["rate"] or RATE
        regions = voiced_regions(samples, rate)
        rec["voiced"] = [[round(a, 3), round(b, 3)] for a, b in regions]
        parts = audio_parts(samples, rate)
        if info["start"] is not None:
            rec["audio"] = [[round(info["start"] + a, 3), round(info["start"] + b, 3)]
                            for a, b in parts]
            if fake.rttm is not None:
                rec["truth"] = truth_of(fake.rttm, parts, info["start"], fake.rttm_tol)
        if fake.content == "stm":
            if info["start"] is None:
                rec["violations"].append("stm content needs the chunk's start/end in its name")
                segs = []
            else:
                one = info["role"] in ("S1", "S2")
                segs = content_stm(fake.stm, info["start"], info["start"] + dur,
                                   parts if one else None)
        elif fake.content == "script":
            if info["start"] is None:
                rec["violations"].append("script content needs the chunk's start/end in its "
                                         "name")
                segs = []
            else:
                segs = content_script(fake, rec, info, samples, rate, dur)
        else:
            segs = content_words(regions)
        injected = []
        if fake.halluc:
            inj = hallucinations(regions, dur, fpart["filename"] or "")
            segs = sorted(segs + inj, key=lambda s: s["start"])
            injected = inj
        if fake.protocol == "openai":
            body, sent = openai_body(segs, dur, lang, temp, grans, fake.variant)
        else:
            body, sent = whispercpp_body(segs, dur, lang, temp, fake.token_times)
        rec["sent"] = sent
        # the injected items as sent (rounded as the protocol rounds)
        rnd = (lambda x: round(x, 3)) if fake.protocol == "openai" else cs
        recs = []
        for it in injected:
            item = {"kind": it["kind"], "text": it["display"], "start": rnd(it["start"]),
                    "end": rnd(it["end"])}
            rec["injected"].append(item)
            if info["start"] is not None:
                recs.append({"file": info["filename"], "role": info["role"], "n": rec["n"],
                             "kind": item["kind"], "text": item["text"],
                             "start": round(info["start"] + item["start"], 4),
                             "end": round(info["start"] + item["end"], 4),
                             "t_start": item["start"], "t_end": item["end"],
                             "chunk_start": info["start"], "chunk_end": info["end"]})
        if fake.protocol == "openai" and rf in ("json", None):
            ok = self.answer(rec, 200, {"text": body["text"]}, kind="json")
        elif fake.protocol == "openai" and rf == "text":
            ok = self.answer(rec, 200, body["text"] + "\n", "text/plain; charset=utf-8",
                             kind="text")
        elif fake.protocol == "openai" and rf in ("srt", "vtt"):
            sep = "," if rf == "srt" else "."
            out = ["WEBVTT", ""] if rf == "vtt" else []
            for i, s in enumerate(body.get("segments", [])):
                if rf == "srt":
                    out.append(str(i + 1))
                out.append("%s --> %s" % (srt_time(s["start"], sep), srt_time(s["end"], sep)))
                out += [s["text"].strip(), ""]
            ok = self.answer(rec, 200, "\n".join(out), "text/plain; charset=utf-8", kind=rf)
        else:
            ok = self.answer(rec, 200, body, kind="verbose_json")
        if ok and recs:
            fake.write_injected(recs)

    def fault(self, rec, kind):
        fake = self.fake
        if kind == "429":
            body = openai_error("Rate limit reached for whisper-1 in organization org-fake on "
                                "requests per min (RPM): Limit 50, Used 50, Requested 1. Please "
                                "try again in 1s.", "requests", "requests", "rate_limit_exceeded")
            return self.answer(rec, 429, body, headers={"Retry-After": "1"}, kind="rate_limit")
        if kind == "500":
            if fake.protocol == "openai":
                body = openai_error("The server had an error while processing your request. "
                                    "Sorry about that!", "server_error")
            else:
                body = {"error": "failed to process audio"}
            return self.answer(rec, 500, body, kind="server_error")
        if kind == "html":
            page = ("<!DOCTYPE html>\n<html><head><title>Sign in - Corporate Proxy</title></head>"
                    "<body><h1>Authentication required</h1><p>Please sign in to continue.</p>"
                    "<form method=\"post\" action=\"/login\"><input name=\"user\">"
                    "<input name=\"password\" type=\"password\"></form></body></html>\n")
            return self.answer(rec, 200, page, "text/html; charset=utf-8", kind="html")
        if kind == "badjson":
            return self.answer(rec, 200, '{"task":"transcribe","language":"english","duration":'
                               '2.5,"text":" Hello, I would like to","segments":[{"id":0,"st',
                               kind="badjson")
        if kind == "empty":
            return self.answer(rec, 200, {"task": "transcribe", "language": "english",
                                          "duration": 0.0, "text": "", "segments": []},
                               kind="empty")
        if kind == "huge":
            return self.answer(rec, 200, fake.huge("english"), kind="huge")
        if kind == "close":
            rec["response"] = "closed"
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return None
        if kind == "error200":
            return self.answer(rec, 200, {"error": "failed to read WAV file"}, kind="error200")
        raise AssertionError(kind)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--protocol", required=True, choices=("openai", "whispercpp"))
    ap.add_argument("--log", required=True, help="directory for requests.jsonl, req-NNNN.wav")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--mode", default="")
    ap.add_argument("--key")
    ap.add_argument("--fail")
    ap.add_argument("--stm")
    ap.add_argument("--script")
    ap.add_argument("--loading", type=int, default=0)
    ap.add_argument("--max-body", type=int, default=64 * 1024 * 1024)
    ap.add_argument("--rttm", help="the reference speakers of the call: one speaker per request")
    ap.add_argument("--rttm-tol", type=float, default=0.5)
    args = ap.parse_args()
    if args.loading < 0 or args.max_body < 1:
        ap.error("--loading and --max-body must not be negative")
    os.makedirs(args.log, exist_ok=True)
    try:
        fake = Fake(args)
    except (ValueError, OSError) as e:
        ap.error(str(e))
    Handler.fake = fake
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    port = srv.server_address[1]
    with open(os.path.join(args.log, "server.json"), "w", encoding="utf-8") as f:
        json.dump(dict(fake.config, port=port), f)
        f.write("\n")
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write("%d\n" % port)
    os.replace(tmp, args.port_file)

    # The handler only sets a flag: it runs in the main thread between two bytecodes, so taking
    # a lock there (Event.set) would deadlock when the main thread already holds it (inside
    # Event.wait), and the process would never exit. time.sleep is interrupted by the signal.
    stopping = []

    def on_signal(_sig, _frame):
        stopping.append(True)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    t.start()
    while not stopping:
        time.sleep(0.1)
    fake.stop.set()  # handlers waiting out a fault return now
    srv.shutdown()
    srv.server_close()
    with fake.lock:
        fake.log.close()
        fake.injected.close()
        if fake.script_log:
            fake.script_log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
