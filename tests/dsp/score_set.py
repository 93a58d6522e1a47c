#!/usr/bin/env python3
"""score_set.py - diarize every mix of a set with callqa and score it (der.py).

    score_set.py --callqa BIN --set DIR [--out results.json] [--jobs 2] [--extra ARG]...

DIR holds ID.wav with ID.rttm (mkmix.py, or a real call with its RTTM). Prints one line per file
(DER with overlap scored and with overlap excluded, speakers found and expected) and the totals:
overall DER is the sum of errors over the sum of scored time, as md-eval sums files.
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import der  # noqa: E402


def run(callqa, wav, extra):
    out = subprocess.run([callqa, "analyze", "--only", "diarize", "--json"] + extra + [wav],
                         check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
    return json.loads(out)


def score(callqa, wav, rttm, extra):
    rep = run(callqa, wav, extra)
    ref = der.read_rttm(rttm)
    hyp = []
    for sp in rep.get("speakers") or []:
        for g in sp["segments"]:
            hyp.append((sp["id"], g["start"], g["end"]))
    d = rep.get("diarization") or {}
    return {"id": os.path.basename(wav)[:-4],
            "ref_speakers": len({k for k, _, _ in ref}),
            "speakers": d.get("n_speakers"), "confidence": d.get("confidence"),
            "delta_bic": d.get("delta_bic"), "coherence": d.get("coherence"),
            "overlap": der.der(ref, hyp, 0.25, False),
            "no_overlap": der.der(ref, hyp, 0.25, True)}


def total(rows, key):
    s = {k: sum(r[key][k] for r in rows) for k in ("scored", "missed", "false_alarm",
                                                   "confusion")}
    s["der"] = round((s["missed"] + s["false_alarm"] + s["confusion"]) / s["scored"], 5) \
        if s["scored"] else None
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--callqa", required=True)
    ap.add_argument("--set", required=True, action="append")
    ap.add_argument("--out")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--extra", action="append", default=[])
    a = ap.parse_args()
    jobs = []
    for d in a.set:
        for f in sorted(os.listdir(d)):
            if f.endswith(".wav") and os.path.exists(os.path.join(d, f[:-4] + ".rttm")):
                jobs.append((os.path.join(d, f), os.path.join(d, f[:-4] + ".rttm")))
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
        rows = list(ex.map(lambda j: score(a.callqa, j[0], j[1], a.extra), jobs))
    for r in rows:
        print("%-12s spk %s/%d  DER %5.1f %%  no-overlap %5.1f %%  (miss %.1f fa %.1f conf %.1f "
              "of %.1f s) coh %s conf %s" %
              (r["id"], r["speakers"], r["ref_speakers"], 100 * (r["overlap"]["der"] or 0),
               100 * (r["no_overlap"]["der"] or 0), r["overlap"]["missed"],
               r["overlap"]["false_alarm"], r["overlap"]["confusion"], r["overlap"]["scored"],
               r["coherence"], r["confidence"]))
    res = {"files": rows, "overall": total(rows, "overlap"),
           "overall_no_overlap": total(rows, "no_overlap"),
           "worst_no_overlap": max((r["no_overlap"]["der"] or 0) for r in rows) if rows else None}
    print("overall DER %.2f %% (overlap scored), %.2f %% (overlap excluded); worst file %.1f %%"
          % (100 * res["overall"]["der"], 100 * res["overall_no_overlap"]["der"],
             100 * res["worst_no_overlap"]))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
