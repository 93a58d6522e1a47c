#!/usr/bin/env python3
"""sim_client.py - a minimal transcription client, used only to test check_transcript.py.

    sim_client.py --golden tests/golden/report_golden.jsonl --file ./calls/call01_normal.wav
                  --root ../shared/corpus --labels ../shared/corpus/calls/labels.json
                  --call call01_normal --url URL --protocol openai|whispercpp --out R.json
                  [--break shift|pauses|music|words|noguard]

It is not callqa: it takes a report of the corpus call from the golden file, cuts each leg's
speech (the report's speech_segments minus the labelled hold music, tones, DTMF and IVR
prompts) into chunks as issue 14 describes (a pause under 2 s stays inside a chunk, at most
30 s, zeros outside the speech), sends them to the fake server, maps the answers onto the
call's clock with a crude guard, and writes the report with a `transcript` block. That lets
test_check_transcript.sh show each check passing on right output and failing on wrong output:
--break shift      the chunks' start on the call's clock is 50 ms late (the audio is not)
--break pauses     the pauses inside a chunk are sent as audio, not zeros
--break music      the labelled non-speech is sent too
--break words      every word is put 50 ms late
--break noguard    nothing is flagged or dropped
"""
import argparse
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from array import array

RATE = 16000
PHRASES = ("thank you for watching", "thanks for watching", "subtitles by the amaraorg community",
           "please subscribe to my channel", "thank you")
EXCLUDE = ("music", "ringback", "busy", "sit", "dtmf", "fax", "ivr")


def norm(t):
    return " ".join(re.sub(r"[^\w\s']", "", t.lower()).replace("'", "").split())


def decode(path, channel):
    p = subprocess.run(["sox", "-D", "-V1", path, "-t", "raw", "-e", "signed-integer", "-b", "16",
                        "-L", "-c", "1", "-", "remix", str(max(1, channel)), "rate", "-h",
                        str(RATE)], capture_output=True, check=True)
    a = array("h")
    a.frombytes(p.stdout[:len(p.stdout) // 2 * 2])
    if sys.byteorder != "little":
        a.byteswap()
    return a


def subtract(spans, cut):
    out = []
    for a, b in spans:
        cur = [(a, b)]
        for c, d in cut:
            nxt = []
            for x, y in cur:
                if d <= x or c >= y:
                    nxt.append((x, y))
                    continue
                if c > x:
                    nxt.append((x, c))
                if d < y:
                    nxt.append((d, y))
            cur = nxt
        out += cur
    return [(a, b) for a, b in out if b - a >= 0.05]


def union_ms(spans):
    out = []
    for a, b in sorted((round(a, 3), round(b, 3)) for a, b in spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def chunks_of(spans):
    out = []
    for a, b in spans:
        while b - a > 30.0:
            out.append([a, a + 30.0, [(a, a + 30.0)]])
            a += 30.0
        if out and a - out[-1][1] < 2.0 and b - out[-1][0] <= 30.0:
            out[-1][1] = b
            out[-1][2].append((a, b))
        else:
            out.append([a, b, [(a, b)]])
    return out


def wav_bytes(samples):
    data = samples.tobytes() if sys.byteorder == "little" else _swapped(samples)
    hdr = b"RIFF" + (36 + len(data)).to_bytes(4, "little") + b"WAVEfmt " + \
        (16).to_bytes(4, "little") + (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + \
        RATE.to_bytes(4, "little") + (2 * RATE).to_bytes(4, "little") + \
        (2).to_bytes(2, "little") + (16).to_bytes(2, "little") + b"data" + \
        len(data).to_bytes(4, "little")
    return hdr + data


def _swapped(a):
    b = array("h", a)
    b.byteswap()
    return b.tobytes()


def post(url, fields, fname, wav):
    boundary = "----simclient%d" % (len(wav) * 7919 % 1000003)
    parts = []
    for k, v in fields:
        parts.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" %
                      (boundary, k, v)).encode())
    parts.append(("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
                  "Content-Type: audio/wav\r\n\r\n" % (boundary, fname)).encode() + wav + b"\r\n")
    body = b"".join(parts) + ("--%s--\r\n" % boundary).encode()
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "multipart/form-data; boundary=%s" % boundary})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError) as e:
        return None, str(e).encode()


def transcribe(args, fname, wav):
    """(segments, words or None) chunk-relative, after retries."""
    grans = ["word", "segment"]
    for _ in range(8):
        if args.protocol == "openai":
            fields = [("model", "whisper-1"), ("language", "en"),
                      ("response_format", "verbose_json")]
            fields += [("timestamp_granularities[]", g) for g in grans]
            st, body = post(args.url.rstrip("/") + "/audio/transcriptions", fields, fname, wav)
        else:
            st, body = post(args.url.rstrip("/") + "/inference",
                            [("response_format", "verbose_json"), ("temperature", "0.0")],
                            fname, wav)
        if st == 400 and b"timestamp_granularities" in body:
            grans = ["segment"]
            continue
        if st != 200:
            time.sleep(0.2)
            continue
        try:
            d = json.loads(body)
        except ValueError:
            continue
        if "error" in d or not isinstance(d.get("segments"), list):
            continue
        return d
    raise SystemExit("sim_client: %s: no answer" % fname)


def words_of(d, protocol):
    """[(seg, [(word, s, e) or (word, None, None)])] chunk-relative."""
    out = []
    top = d.get("words")
    for s in d["segments"]:
        ws = []
        if protocol == "openai" and top is not None:
            ws = [(w["word"], w["start"], w["end"]) for w in top
                  if s["start"] - 1e-6 <= w["start"] < s["end"] + 1e-6]
        elif protocol == "whispercpp":
            for t in s.get("words") or []:
                timed = t["start"] >= 0
                txt = t["word"]
                if txt.startswith(" ") or not ws:
                    ws.append([txt.strip(), t["start"] if timed else None,
                               t["end"] if timed else None])
                elif re.match(r"^\W+$", txt):
                    ws[-1][0] += txt
                else:
                    ws[-1][0] += txt
                    ws[-1][2] = t["end"] if timed else None
            ws = [(w, s_, e_) for w, s_, e_ in ws if norm(w)]
        out.append((s, ws))
    return out


def main():
    ap = argparse.ArgumentParser()
    for k in ("--golden", "--file", "--root", "--labels", "--call", "--url", "--out"):
        ap.add_argument(k, required=True)
    ap.add_argument("--protocol", choices=("openai", "whispercpp"), required=True)
    ap.add_argument("--break", dest="brk", default="",
                    choices=("", "shift", "pauses", "music", "words", "noguard"))
    args = ap.parse_args()
    rep = None
    with open(args.golden, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r["file"] == args.file:
                rep = r
    if rep is None:
        raise SystemExit("sim_client: %s not in %s" % (args.file, args.golden))
    labels = {c["name"]: c for c in json.load(open(args.labels, encoding="utf-8"))["calls"]}
    call = labels.get(args.call, {"legs": {}})
    tlegs, dropped, n_req = [], [], 0
    for name in ("inbound", "outbound"):
        rl = rep.get(name)
        if rl is None:
            continue
        role = rl["role"]
        roles = ("customer", "agent") if role == "mixed" else (role,)
        excl = [(s["start"], s["end"]) for r in roles for s in call["legs"].get(r, [])
                if s["type"] in EXCLUDE]
        speech = [(s["start"], s["end"]) for s in rl["speech_segments"] or []]
        spans = [(round(a, 3), round(b, 3)) for a, b in subtract(speech, excl)]
        if args.brk == "music":
            spans = sorted(spans + [(a, b) for r in roles for s in call["legs"].get(r, [])
                                    if s["type"] in EXCLUDE[:6] for a, b in [(s["start"],
                                                                             s["end"])]])
            spans = union_ms(spans)
        if not spans:
            continue
        leg = decode(args.root + "/" + rl["source"], rl["channel"])
        chunks, segs_out = [], []
        for a, b, sent in chunks_of(spans):
            n = int(round((b - a) * RATE))
            x = array("h", bytes(2 * n))
            ranges = [(a, b)] if args.brk == "pauses" else sent
            for s, e in ranges:
                i0, i1 = int(round((s - a) * RATE)), int(round((e - a) * RATE))
                j0 = int(round(s * RATE))
                seg = leg[j0:j0 + (i1 - i0)]
                x[i0:i0 + len(seg)] = seg
            start = a + (0.05 if args.brk == "shift" else 0.0)
            end = start + (b - a)
            fname = "%s_%.3f_%.3f.wav" % ("mixed" if role == "mixed" else role, start, end)
            d = transcribe(args, fname, wav_bytes(x))
            n_req += 1
            chunks.append({"start": start, "end": end, "file": fname,
                           "sent": [[s + start - a, e + start - a] for s, e in ranges]})
            inside = [(s - 0.1, e + 0.1) for s, e in speech]
            for s, ws in words_of(d, args.protocol):
                text = s["text"].strip()
                nt = norm(text)
                ss, se = start + s["start"], start + s["end"]
                toks = nt.split()
                loop = len(toks) >= 4 and len(set(toks)) <= 2
                if args.brk != "noguard" and (nt in PHRASES or loop):
                    dropped.append({"role": role, "start": round(min(ss, end), 3),
                                    "end": round(min(se, end), 3), "text": text,
                                    "reason": "repetition" if loop else "known_phrase"})
                    continue
                sflags = []
                if se > end + 1e-6 and args.brk != "noguard":
                    sflags.append("outside_chunk")
                    ss, se = min(ss, end), min(se, end)
                words = []
                for w, ws_, we_ in ws:
                    fl = []
                    if ws_ is not None:
                        ws_, we_ = start + ws_, start + we_
                        if args.brk == "words":
                            ws_, we_ = ws_ + 0.05, we_ + 0.05
                        if args.brk != "noguard":
                            if ws_ > end:
                                fl.append("outside_chunk")
                                ws_, we_ = end, end
                            mid = (ws_ + we_) / 2
                            if not any(p <= mid <= q for p, q in inside):
                                fl.append("outside_speech")
                    words.append({"word": w, "start": None if ws_ is None else round(ws_, 3),
                                  "end": None if we_ is None else round(we_, 3), "flags": fl})
                if args.brk != "noguard" and not any(p <= (ss + se) / 2 <= q for p, q in inside):
                    sflags.append("outside_speech")
                segs_out.append({"start": round(ss, 3), "end": round(se, 3), "text": text,
                                 "text_norm": nt, "words": words, "flags": sflags})
        tlegs.append({"leg": "mix" if role == "mixed" else name, "role": role, "chunks": chunks,
                      "segments": segs_out})
    nw = sum(len(s["words"]) for tl in tlegs for s in tl["segments"])
    nf = sum(1 for tl in tlegs for s in tl["segments"] for w in s["words"] if w["flags"])
    rep["transcript"] = {
        "engine": args.protocol, "model": "whisper-1", "language": "en",
        "audio_sent_sec": round(sum(e - s for tl in tlegs for c in tl["chunks"]
                                    for s, e in c["sent"]), 3),
        "audio_recorded_sec": rep["duration"], "requests": n_req, "legs": tlegs, "turns": [],
        "guard": {"words": nw, "flagged_words": nf, "dropped_words": 0,
                  "dropped_segments": len(dropped), "hallucination_rate": 0.0,
                  "dropped": dropped},
        "warnings": []}
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(json.dumps(rep) + "\n")


if __name__ == "__main__":
    main()
