#!/usr/bin/env python3
"""check_events.py - the call events of `callqa analyze --json` against expected events.

    check_events.py SPEC REPORTS.jsonl

SPEC has one line per expected event (blank lines and lines starting with # aside):

    GROUP FILE LEG TYPE SIGNAL REGION DIGITS START END TOL

GROUP      the row of the summary this event counts in (e.g. the codec)
FILE       the recording's file name as the report's "file" ends (a leg pair: its -in file)
LEG        inbound or outbound
TYPE       dtmf, ringback, busy, sit, fax, hold, ivr
SIGNAL, REGION, DIGITS   must equal the event's; '-' for any
START END  the labelled span, seconds
TOL        seconds both edges may differ by; or SECONDS@REF: both edges within SECONDS of the
           same event (type, digits; leg when both have it) as found in the recording REF (e.g.
           through a lossy codec against the PCM original); or 'overlap': the event must cover
           at least half of the labelled span (hold and IVR, whose edges are music and speech)

A line "GROUP FILE none" names a recording that is expected to have no event at all.
Every expected event must be found once; every event no line expects is a false event. Prints
a line per miss and per false event, then found/expected and false events per group. Exit
status 0 when all are found and none is false, 1 otherwise, 2 on bad input.
"""
import json
import os
import sys


def parse_spec(path):
    want, files = [], {}
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            w = line.split()
            if len(w) == 3 and w[2] == "none":
                files[w[1]] = w[0]
                continue
            if len(w) != 10:
                sys.exit("%s:%d: want 10 fields, got %d" % (path, no, len(w)))
            group, name, leg, typ, sig, reg, dig, a, b, tol = w
            files[name] = group
            ref = None
            if "@" in tol:
                tol, ref = tol.split("@", 1)
            want.append({"group": group, "file": name, "leg": leg, "type": typ,
                         "signal": sig, "region": reg, "digits": dig,
                         "start": float(a), "end": float(b), "ref": ref,
                         "tol": None if tol == "overlap" else float(tol), "found": None})
    return want, files


def reference(w, want):
    """The event w's reference recording gave for the same labelled event, or None."""
    same = [v for v in want if v["file"] == w["ref"] and v["type"] == w["type"] and
            v["digits"] == w["digits"]]
    if len(same) > 1:
        same = [v for v in same if v["leg"] == w["leg"]]
    return same[0]["found"] if len(same) == 1 else None


def matches(w, e, want):
    if e.get("leg") != w["leg"] or e.get("type") != w["type"]:
        return False
    for k in ("signal", "region", "digits"):
        if w[k] != "-" and (e.get(k) or "") != w[k]:
            return False
    a, b = e.get("start"), e.get("end")
    if a is None or b is None:
        return False
    if w["tol"] is None:
        cover = min(b, w["end"]) - max(a, w["start"])
        return cover >= 0.5 * (w["end"] - w["start"])
    ra, rb = w["start"], w["end"]
    if w["ref"]:
        r = reference(w, want)
        if r is None:
            return False
        ra, rb = r["start"], r["end"]
    return abs(a - ra) <= w["tol"] and abs(b - rb) <= w["tol"]


def describe(e):
    extra = " ".join(str(e[k]) for k in ("signal", "region", "digits") if e.get(k))
    return "%s %s %.3f-%.3f %s" % (e.get("leg"), e.get("type"), e.get("start", -1),
                                   e.get("end", -1), extra)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: check_events.py SPEC REPORTS.jsonl")
    want, files = parse_spec(sys.argv[1])
    reports = {}
    with open(sys.argv[2], encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            reports[os.path.basename(r.get("file", ""))] = r
    groups = []
    for g in list(files.values()) + [w["group"] for w in want]:
        if g not in groups:
            groups.append(g)
    stats = {g: {"found": 0, "expected": 0, "false": 0, "files": 0, "bad": 0} for g in groups}
    order = sorted(files.items(), key=lambda kv: any(w["ref"] for w in want if w["file"] == kv[0]))
    for name, group in order:
        stats[group]["files"] += 1
        r = reports.get(name)
        mine = [w for w in want if w["file"] == name]
        stats[group]["expected"] += len(mine)
        if r is None or "error" in r:
            print("FAIL %s: no report (%s)" % (name, (r or {}).get("error", "missing")))
            stats[group]["bad"] += 1
            continue
        events = list(r.get("events") or [])
        used = [False] * len(events)
        for w in mine:
            for i, e in enumerate(events):
                if not used[i] and matches(w, e, want):
                    used[i] = True
                    w["found"] = e
                    break
            if w["found"]:
                stats[group]["found"] += 1
                e = w["found"]
                r = reference(w, want) if w["ref"] else None
                print("ok   %-40s %-8s %s (labelled %.3f-%.3f, edges %+.3f %+.3f%s)" % (
                    name, w["type"], describe(e), w["start"], w["end"],
                    e["start"] - w["start"], e["end"] - w["end"],
                    "; %+.3f %+.3f from %s" % (e["start"] - r["start"], e["end"] - r["end"],
                                               w["ref"]) if r else ""))
            else:
                print("MISS %-40s %s %s %s %s %s %.3f-%.3f tol %s%s" % (
                    name, w["leg"], w["type"], w["signal"], w["region"], w["digits"],
                    w["start"], w["end"], "overlap" if w["tol"] is None else w["tol"],
                    " of " + w["ref"] if w["ref"] else ""))
        for i, e in enumerate(events):
            if not used[i]:
                stats[group]["false"] += 1
                print("FALSE %-39s %s" % (name, describe(e)))
    bad = 0
    print("%-28s %6s %16s %13s" % ("group", "files", "found/expected", "false events"))
    for g in groups:
        s = stats[g]
        print("%-28s %6d %8d/%-7d %13d" % (g, s["files"], s["found"], s["expected"], s["false"]))
        bad += s["expected"] - s["found"] + s["false"] + s["bad"]
    total = {k: sum(s[k] for s in stats.values()) for k in ("files", "found", "expected", "false")}
    print("%-28s %6d %8d/%-7d %13d" % ("all", total["files"], total["found"], total["expected"],
                                        total["false"]))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
