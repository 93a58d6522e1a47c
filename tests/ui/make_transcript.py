#!/usr/bin/env python3
"""A real role-played bank call's transcript (../shared/transcripts, Harper Valley) in callqa's
transcript format, its times shifted and scaled to fit a call of DURATION seconds, for the
dashboard's tests: the words are real ASR output, the timing is made to land inside the call.
   usage: make_transcript.py TRANSCRIPT_JSON DURATION [TEXT_PREFIX]"""
import json
import sys

src, duration = sys.argv[1], float(sys.argv[2])
prefix = sys.argv[3] if len(sys.argv) > 3 else ""
turns = json.load(open(src, encoding="utf-8"))
turns = [t for t in turns if t.get("transcript", "").strip()]
t0 = min(t["start_ms"] for t in turns)
t1 = max(t["start_ms"] + t["duration_ms"] for t in turns)
scale = (duration - 1.0) / max(1.0, (t1 - t0) / 1000.0)
scale = min(scale, 1.0)
segs = []
for i, t in enumerate(sorted(turns, key=lambda t: t["start_ms"])):
    start = 0.5 + (t["start_ms"] - t0) / 1000.0 * scale
    end = start + t["duration_ms"] / 1000.0 * scale
    text = t["transcript"]
    if i == 0 and prefix:
        text = prefix + " " + text
    segs.append({"speaker": "agent" if t["speaker_role"] == "agent" else "customer",
                 "start": round(start, 3), "end": round(min(end, duration), 3), "text": text})
json.dump({"segments": segs}, sys.stdout, ensure_ascii=False)
