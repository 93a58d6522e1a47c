#!/usr/bin/env python3
"""roles_profile.py - how often an agent's voice profile picks the agent among a mono mix's two
diarized speakers (issue: at least 95 % of calls with a profile get the right agent).

    roles_profile.py --callqa BIN --mixes DIR... --profiles DIR... [--margin 0.1] [--out F]

Each mixes DIR is a mkmix.py two-talker set; each profiles DIR a mkmix.py one-talker set (one call
per talker, another mix of the same talker's recordings: the profile). In every mix one talker,
chosen at random (seeded), is the agent; the speakers' voice prints (callqa --voiceprints) are
compared with the agent's profile (minus the symmetric KL divergence, as
cq_voiceprint_similarity); the closer speaker is the agent when it is closer by `margin` or more,
else the role is unknown. Right or wrong by the DER scorer's map of speakers to talkers. A mix
that came out with one speaker counts as a miss. Prints the tally and every miss.
"""
import argparse
import json
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import der  # noqa: E402


def report(callqa, wav):
    out = subprocess.run([callqa, "analyze", "--only", "diarize", "--voiceprints", "--json", wav],
                         check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
    return json.loads(out)


def sim(a, b):
    d = len(a) // 2
    s = 0.0
    for i in range(d):
        va, vb = a[d + i] ** 2, b[d + i] ** 2
        dm = a[i] - b[i]
        s += 0.5 * (va / vb + vb / va - 2) + 0.5 * dm * dm * (1 / va + 1 / vb)
    return -s / d


def rows(d):
    return [line.split("\t") for line in open(os.path.join(d, "mixes.tsv")).read().splitlines()
            if line]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--callqa", required=True)
    ap.add_argument("--mixes", action="append", required=True)
    ap.add_argument("--profiles", action="append", required=True)
    ap.add_argument("--margin", type=float, default=0.1)
    ap.add_argument("--out")
    a = ap.parse_args()
    prof = {}
    for d in a.profiles:
        for cid, _, _, talker in rows(d):
            rep = report(a.callqa, os.path.join(d, cid + ".wav"))
            sp = max(rep["speakers"], key=lambda s: s["talk_sec"])
            prof.setdefault(talker, sp["voiceprint"]["v"])
    rng = random.Random(38)
    out = []
    for d in a.mixes:
        for cid, _, _, talkers in rows(d):
            ta, tb = talkers.split(",")
            agent = rng.choice([ta, tb])
            rep = report(a.callqa, os.path.join(d, cid + ".wav"))
            r = {"id": cid, "agent": agent}
            sps = rep.get("speakers") or []
            if len(sps) < 2:
                r["result"] = "miss: one speaker found"
            elif agent not in prof:
                r["result"] = "miss: no profile"
            else:
                ref = der.read_rttm(os.path.join(d, cid + ".rttm"))
                hyp = [(s["id"], g["start"], g["end"]) for s in sps for g in s["segments"]]
                m = der.der(ref, hyp, 0.25, True)["map"]
                sims = {s["id"]: sim(s["voiceprint"]["v"], prof[agent]) for s in sps}
                best = max(sims, key=sims.get)
                margin = sims[best] - min(sims.values())
                r["margin"] = round(margin, 3)
                if margin < a.margin:
                    r["result"] = "unknown"
                else:
                    r["result"] = "right" if m.get(agent) == best else "WRONG"
            out.append(r)
    n = len(out)
    right = sum(r["result"] == "right" for r in out)
    wrong = sum(r["result"] == "WRONG" for r in out)
    decided = right + wrong
    print("calls %d: right agent %d (%.1f %%), wrong %d, unknown %d, one speaker found %d" %
          (n, right, 100.0 * right / n, wrong, sum(r["result"] == "unknown" for r in out),
           sum(r["result"].startswith("miss: one") for r in out)))
    for r in out:
        if r["result"] != "right":
            print("  miss: %s (agent %s): %s%s" % (r["id"], r["agent"], r["result"],
                                                   " margin %.3f" % r["margin"] if "margin" in r
                                                   else ""))
    if a.out:
        json.dump({"calls": n, "right": right, "wrong": wrong, "decided": decided, "rows": out},
                  open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
