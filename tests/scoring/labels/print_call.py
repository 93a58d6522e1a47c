#!/usr/bin/env python3
"""Print one Harper Valley call for reading: segment index, start time, speaker, human text, ASR text.

Usage: print_call.py SID [TRANSCRIPTS_DIR]   (default ../shared/transcripts, beside the checkout)
Prints only; it makes no judgement.
"""
import json
import os
import sys

sid = sys.argv[1]
HERE = os.path.dirname(os.path.abspath(__file__))  # tests/scoring/labels of the checkout
root = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "..", "..", "..", "..", "shared",
                                                           "transcripts")
segs = json.load(open(f"{root}/transcript/{sid}.json"))
meta = json.load(open(f"{root}/metadata/{sid}.json"))
end = max(s["start_ms"] + s["duration_ms"] for s in segs)
print(f"== {sid}  task={meta['tasks'][0]}  agent={meta['agent']['metadata']}  "
      f"caller={meta['caller']['metadata']}  duration={end / 1000:.2f}s")
for s in sorted(segs, key=lambda s: s["start_ms"]):
    print(f"[{s['index']:>3}] {s['start_ms'] / 1000:7.2f}-{(s['start_ms'] + s['duration_ms']) / 1000:7.2f} "
          f"{s['speaker_role']:<6} H: {s['human_transcript']}")
    print(f"{'':30}A: {s['transcript']}")
