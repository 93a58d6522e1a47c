#!/usr/bin/env python3
"""der.py - diarization error rate as NIST's md-eval defines it, on RTTM or callqa reports.

    der.py [--collar 0.25] [--skip-overlap] REF.rttm HYP        (HYP: .rttm or a callqa report
                                                                 JSON with speakers[])
    der.py --selftest

Prints one line of JSON: {scored, missed, false_alarm, confusion, der, map}.

Definitions (md-eval-22): time is split at every reference and hypothesis boundary; in each
piece N_ref and N_sys speakers talk. Not scored: within `collar` seconds of any reference
segment's start or end, and with --skip-overlap, where N_ref >= 2. In the scored pieces:
  scored      sum of N_ref x duration (reference speaker time)
  missed      sum of max(0, N_ref - N_sys) x duration
  false alarm sum of max(0, N_sys - N_ref) x duration
  confusion   sum of (min(N_ref, N_sys) - N_correct) x duration, where N_correct counts the
              reference speakers talking whose mapped hypothesis speaker talks too
  DER         (missed + false alarm + confusion) / scored
The speaker map is one-to-one and chosen to maximise the time both talk (over every injective
map, which is exact for the few speakers of a call). No DER scorer is packaged in Debian, so
--selftest checks this one on hand-built cases.
"""
import itertools
import json
import sys


def read_rttm(path):
    segs = []
    for line in open(path):
        f = line.split()
        if len(f) >= 8 and f[0] == "SPEAKER":
            s, d = float(f[3]), float(f[4])
            if d > 0:
                segs.append((f[7], s, s + d))
    return segs


def read_hyp(path):
    if path.endswith(".rttm"):
        return read_rttm(path)
    rep = json.load(open(path))
    segs = []
    for sp in rep.get("speakers") or []:
        for g in sp.get("segments", []):
            segs.append((sp["id"], g["start"], g["end"]))
    return segs


def pieces(ref, hyp, collar, skip_overlap):
    """(duration, set of ref speakers, set of hyp speakers) for each scored piece."""
    cuts = set()
    nsz = []
    for _, s, e in ref:
        cuts.update((s, e))
        if collar > 0:
            nsz += [(s - collar, s + collar), (e - collar, e + collar)]
    for _, s, e in hyp:
        cuts.update((s, e))
    for a, b in nsz:
        cuts.update((a, b))
    cuts = sorted(cuts)
    out = []
    for a, b in zip(cuts, cuts[1:]):
        if b <= a:
            continue
        m = (a + b) / 2
        if any(x <= m < y for x, y in nsz):
            continue
        r = {k for k, s, e in ref if s <= m < e}
        h = {k for k, s, e in hyp if s <= m < e}
        if skip_overlap and len(r) >= 2:
            continue
        out.append((b - a, r, h))
    return out


def der(ref, hyp, collar=0.25, skip_overlap=False):
    ps = pieces(ref, hyp, collar, skip_overlap)
    rs = sorted({k for k, _, _ in ref})
    hs = sorted({k for k, _, _ in hyp})
    both = {}
    for d, r, h in ps:
        for a in r:
            for b in h:
                both[(a, b)] = both.get((a, b), 0.0) + d
    best, best_map = -1.0, {}
    n = min(len(rs), len(hs))
    for rsub in itertools.combinations(rs, n):
        for hperm in itertools.permutations(hs, n):
            v = sum(both.get((a, b), 0.0) for a, b in zip(rsub, hperm))
            if v > best:
                best, best_map = v, dict(zip(rsub, hperm))
    scored = missed = fa = conf = 0.0
    for d, r, h in ps:
        nr, nh = len(r), len(h)
        correct = sum(1 for a in r if best_map.get(a) in h)
        scored += nr * d
        missed += max(0, nr - nh) * d
        fa += max(0, nh - nr) * d
        conf += (min(nr, nh) - correct) * d
    return {"scored": round(scored, 3), "missed": round(missed, 3),
            "false_alarm": round(fa, 3), "confusion": round(conf, 3),
            "der": round((missed + fa + conf) / scored, 5) if scored > 0 else None,
            "map": best_map}


def selftest():
    ok = True

    def check(name, got, want):
        nonlocal ok
        if abs(got - want) > 1e-4:  # figures are rounded to 1e-5
            print("FAIL %s: %r != %r" % (name, got, want))
            ok = False

    ref = [("A", 0, 10), ("B", 10, 20)]
    r = der(ref, [("x", 0, 10), ("y", 10, 20)], 0)
    check("perfect", r["der"], 0)
    r = der(ref, [("y", 0, 10), ("x", 10, 20)], 0)
    check("labels are names only", r["der"], 0)
    r = der(ref, [("x", 0, 20)], 0)  # one speaker for both: B confused
    check("one label", r["confusion"], 10)
    check("one label der", r["der"], 0.5)
    r = der(ref, [("x", 0, 12), ("y", 12, 20)], 0)  # 2 s of B given to A
    check("late change", r["confusion"], 2)
    r = der(ref, [("x", 0, 12), ("y", 12, 20)], 0.25)  # collar: 9.75-10.25 not scored
    check("late change, collar scored", r["scored"], 20 - 0.25 - 0.5 - 0.25)
    check("late change, collar confusion", r["confusion"], 1.75)
    r = der(ref, [("x", 0, 10)], 0)
    check("missed", r["missed"], 10)
    r = der(ref, [("x", 0, 10), ("y", 10, 20), ("y", 25, 27)], 0)
    check("false alarm", r["false_alarm"], 2)
    ov = [("A", 0, 10), ("B", 8, 20)]  # 2 s overlap
    r = der(ov, [("x", 0, 10), ("y", 10, 20)], 0)
    check("overlap scored twice", r["scored"], 22)
    check("overlap missed", r["missed"], 2)
    r = der(ov, [("x", 0, 10), ("y", 10, 20)], 0, skip_overlap=True)
    check("overlap skipped", r["scored"], 18)
    check("overlap skipped der", r["der"], 0)
    r = der(ov, [("x", 0, 8), ("y", 8, 20)], 0, skip_overlap=True)
    check("overlap skipped, error outside it", r["der"], 0)
    r = der(ov, [("x", 0, 6), ("y", 6, 20)], 0, skip_overlap=True)
    check("overlap skipped, confusion outside it", r["der"], 2 / 18)
    r = der(ov, [("x", 0, 10), ("y", 8, 20)], 0)
    check("overlap found", r["der"], 0)
    r = der([("A", 0, 10)], [("x", 0, 5), ("y", 5, 10)], 0)  # one ref, two hyp
    check("split speaker", r["confusion"], 5)
    r = der([("A", 1, 2)], [("x", 1.1, 2.2)], 0.25)  # within the collar
    check("collar hides small errors", r["der"], 0)
    check("collar scored", r["scored"], 0.5)
    r = der([("A", 1, 2)], [("x", 1.1, 2.3)], 0.25)  # 0.05 s past the collar
    check("past the collar", r["false_alarm"], 0.05)
    print("selftest", "ok" if ok else "FAILED")
    return 0 if ok else 1


def main():
    args = sys.argv[1:]
    if args == ["--selftest"]:
        sys.exit(selftest())
    collar, skip = 0.25, False
    while args and args[0].startswith("--"):
        if args[0] == "--collar":
            collar = float(args[1])
            args = args[2:]
        elif args[0] == "--skip-overlap":
            skip = True
            args = args[1:]
        else:
            sys.exit("der.py: unknown option " + args[0])
    if len(args) != 2:
        sys.exit(__doc__)
    print(json.dumps(der(read_rttm(args[0]), read_hyp(args[1]), collar, skip)))


if __name__ == "__main__":
    main()
