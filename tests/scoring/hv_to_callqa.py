#!/usr/bin/env python3
"""Convert one Harper Valley Bank call (../shared/transcripts/transcript/<sid>.json) to callqa's
transcript format, using the ASR text as a transcription backend would give it:

  {"segments": [{"speaker": "agent"|"customer", "start", "end", "text",
                 "words": [{"word", "start", "end"}]}]}

Segments whose ASR text is empty (noise only) are left out. Times in seconds on the call's clock.

Usage: hv_to_callqa.py SID [TRANSCRIPTS_DIR] > out.json
       hv_to_callqa.py --all OUTDIR [TRANSCRIPTS_DIR]   (one SID.json per call)
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.path.join(HERE, "..", "..", "..", "shared", "transcripts")


def convert(sid, root):
    segs = json.load(open(os.path.join(root, "transcript", f"{sid}.json")))
    out = []
    for s in sorted(segs, key=lambda s: s["start_ms"]):
        text = (s.get("transcript") or "").strip()
        if not text:
            continue
        t0 = s["start_ms"] / 1000.0
        words = []
        toks = text.split()
        offs, durs = s.get("word_offsets_ms") or [], s.get("word_durations_ms") or []
        if len(offs) == len(toks) == len(durs):
            words = [{"word": w, "start": round(t0 + o / 1000.0, 3),
                      "end": round(t0 + (o + d) / 1000.0, 3)} for w, o, d in zip(toks, offs, durs)]
        seg = {"speaker": "agent" if s["speaker_role"] == "agent" else "customer",
               "start": round(t0, 3), "end": round(t0 + s["duration_ms"] / 1000.0, 3), "text": text}
        if words:
            seg["words"] = words
        out.append(seg)
    return {"segments": out}


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "--all":
        outdir = sys.argv[2]
        root = sys.argv[3] if len(sys.argv) > 3 else DEFAULT
        os.makedirs(outdir, exist_ok=True)
        sids = sorted(f[:-5] for f in os.listdir(os.path.join(root, "transcript")) if f.endswith(".json"))
        for sid in sids:
            with open(os.path.join(outdir, f"{sid}.json"), "w") as f:
                json.dump(convert(sid, root), f)
        print(len(sids), "calls")
        return
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    root = sys.argv[2] if len(sys.argv) > 2 else DEFAULT
    json.dump(convert(sys.argv[1], root), sys.stdout)


if __name__ == "__main__":
    main()
