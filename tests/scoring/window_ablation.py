#!/usr/bin/env python3
"""Each category that has a place in the call, with that place taken out: on the 30 Harper
Valley Bank calls (hv_to_callqa.py, the ASR text; the shipped default card with the bank's name
as `company`), `callqa score` on

  - the call as it is;
  - the opening removed: every agent turn that starts in the first OPEN_SEC (20 s) dropped;
  - the closing removed: every agent turn that lies partly in the last CLOSE_SEC (30 s) dropped
    (the call's length is its last turn's end, before anything is dropped); with --ends starts,
    only the turns that start in the last 30 s.

A category was present when the unchanged call scores it 3 or more. Its window removed, it must
score 2 or less on at least --min-drop of the calls where it was present (the greeting with the
opening removed; the closing with the closing removed), and the other categories of the ablated
call must score as they did: the greeting's score is not moved by removing the closing, nor the
closing's by removing the opening (calls where a dropped turn lies in both parts aside). With --expect, the unchanged calls' scores must equal a file
of scores kept (labels/window_scores.json): what the card gave before windows were counted from
the answer.

Usage: window_ablation.py CALLQA [--min-drop 0.9] [--expect FILE] [--show] [--ends lies|starts]
Exit 0 when every condition holds, 1 when one fails, 77 without ../shared/transcripts.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hv_to_callqa  # noqa: E402
from agreement import COMPANY  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
OPEN_SEC, CLOSE_SEC = 20.0, 30.0
CATS = ["greeting", "customer_id", "closing", "compliance"]


def score(callqa, tmp, name, transcript, cpath):
    tpath = os.path.join(tmp, name + ".json")
    json.dump(transcript, open(tpath, "w"))
    out = subprocess.run([callqa, "score", "--transcript", tpath, "--scorecard", cpath, "--json"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{name}: callqa score failed: {out.stderr}")
    return json.loads(out.stdout)["categories"]


def ablate(t, where, ends):
    """the transcript with the agent's turns of the opening or the closing dropped, and whether
    a dropped turn belongs to the other part too (a short call: the other's score may move)"""
    segs = t["segments"]
    dur = max(s["end"] for s in segs)
    keep, overlap = [], False
    for s in segs:
        agent = s["speaker"] == "agent"
        if where == "opening" and agent and s["start"] < OPEN_SEC:
            overlap |= s["end"] > dur - CLOSE_SEC
            continue
        if where == "closing" and agent:
            edge = s["start"] if ends == "starts" else s["end"]
            if edge > dur - CLOSE_SEC:
                overlap |= s["start"] < OPEN_SEC
                continue
        keep.append(s)
    return {"segments": keep}, overlap


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("callqa")
    ap.add_argument("--min-drop", type=float, default=0.9)
    ap.add_argument("--expect")
    ap.add_argument("--write-expect")
    ap.add_argument("--show", action="store_true")
    ap.add_argument("--ends", default="lies", choices=["lies", "starts"])
    a = ap.parse_args()
    tdir = os.environ.get("CALLQA_TRANSCRIPTS", hv_to_callqa.DEFAULT)
    if not os.path.isdir(os.path.join(tdir, "transcript")):
        print("SKIP: no ../shared/transcripts")
        sys.exit(77)
    sids = sorted(f[:-5] for f in os.listdir(os.path.join(tdir, "transcript"))
                  if f.endswith(".json"))
    card = json.load(open(os.path.join(ROOT, "scorecards", "default.json")))
    card["vars"]["company"] = COMPANY
    failed = []
    base, drops, kept = {}, {"greeting": [0, 0], "closing": [0, 0]}, [0, 0]
    with tempfile.TemporaryDirectory() as tmp:
        cpath = os.path.join(tmp, "card.json")
        json.dump(card, open(cpath, "w"))
        for sid in sids:
            t = hv_to_callqa.convert(sid, tdir)
            b = score(a.callqa, tmp, sid, t, cpath)
            base[sid] = {c: b[c]["score"] for c in CATS}
            for where, cat, other in (("opening", "greeting", "closing"),
                                      ("closing", "closing", "greeting")):
                ab, overlap = ablate(t, where, a.ends)
                r = score(a.callqa, tmp, f"{sid}-{where}", ab, cpath)
                if (b[cat]["score"] or 0) >= 3:
                    drops[cat][1] += 1
                    dropped = r[cat]["score"] is not None and r[cat]["score"] <= 2
                    drops[cat][0] += dropped
                    if a.show and not dropped:
                        print(f"{sid} {where} removed: {cat} still {r[cat]['score']}: "
                              f"{r[cat]['reason']}")
                    if a.show and dropped:
                        print(f"{sid} {where} removed: {cat} {b[cat]['score']} -> "
                              f"{r[cat]['score']}: {r[cat]['reason']}")
                if overlap:  # a turn of both parts dropped: the other may move
                    continue
                kept[1] += 1
                if r[other]["score"] == b[other]["score"]:
                    kept[0] += 1
                else:
                    failed.append(f"{sid}: {where} removed moved {other} "
                                  f"{b[other]['score']} -> {r[other]['score']}")
    for cat, (d, n) in drops.items():
        share = d / n if n else 0
        print(f"{cat}: its window removed, 2 or less on {d} of {n} calls where it was present "
              f"({100 * share:.0f} %)")
        if share < a.min_drop:
            failed.append(f"{cat}: dropped on {share:.2f} of the calls, under {a.min_drop}")
    print(f"the other category of an ablated call unmoved: {kept[0]} of {kept[1]}")
    if a.write_expect:
        json.dump(base, open(a.write_expect, "w"), indent=1, sort_keys=True)
    if a.expect:
        want = json.load(open(a.expect))
        same = sum(base.get(sid) == want.get(sid) for sid in want)
        print(f"unchanged calls scoring as kept: {same} of {len(want)}")
        for sid in sorted(want):
            if base.get(sid) != want[sid]:
                failed.append(f"{sid}: unchanged call scores {base.get(sid)}, kept {want[sid]}")
    for f in failed:
        print("FAIL:", f)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
