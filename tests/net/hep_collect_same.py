#!/usr/bin/env python3
"""hep_collect_same.py - what `callqa sip --hep` wrote for a capture replayed to it
(hep_send.py) holds the capture's calls: each INVITE dialog of the capture in exactly one
written capture, alone, with the same SIP messages (all but frame numbers and the times on the
capture's clock, which the collector's capture does not keep), the same dialog, the same SIP
findings (a duration within 1 us: the collector's capture holds the agents' times far from its
own first frame, so their differences carry a double's rounding); and each RTCP report of the capture that an SDP of that call names (found_by "sdp")
among the call's reports (with --rtcp-json: SR and RR only, as hep_same.py compares them).

usage: hep_collect_same.py [--rtcp-json] CALLQA_SERVICE CAPTURE DIR
One line, SAME or DIFF with the first differences; exit 1 on DIFF.
"""
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hep_same import read, unmatched, view  # noqa: E402
from encap_same import diff  # noqa: E402


def micro(v):
    """floats to the microsecond, the messages' indices (into a different list) left out"""
    if isinstance(v, dict):
        return {k: micro(x) for k, x in v.items() if k != "messages"}
    if isinstance(v, list):
        return [micro(x) for x in v]
    return round(v, 6) if isinstance(v, float) else v


def main():
    args = sys.argv[1:]
    as_json = "--rtcp-json" in args
    args = [a for a in args if a != "--rtcp-json"]
    if len(args) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    tool, cap, folder = args
    orig = read(tool, cap)
    written = {}
    for f in sorted(glob.glob(os.path.join(folder, "hep-*.pcap"))):
        d = read(tool, f)
        for x in d["dialogs"]:
            written.setdefault(x["call_id"], []).append((f, d))
    msgs, calls, reports = [], 0, 0
    for x in orig["dialogs"]:
        if x["method"] != "INVITE":
            continue
        calls += 1
        cid = x["call_id"]
        got = written.get(cid, [])
        if len(got) != 1:
            msgs.append("%s: in %d written captures" % (cid, len(got)))
            continue
        f, d = got[0]
        if len(d["dialogs"]) != 1:
            msgs.append("%s: %s holds %d dialogs" % (cid, f, len(d["dialogs"])))
            continue
        mine = set(x["messages"])
        o = view({**orig, "sip": [m for i, m in enumerate(orig["sip"]) if i in mine],
                  "dialogs": [x], "findings": [f2 for f2 in orig["findings"]
                                               if f2.get("call_id") == cid]}, as_json)
        w = view(d, as_json)
        o["dialogs"], w["dialogs"] = micro(o["dialogs"]), micro(w["dialogs"])
        w["sip_counts"] = o["sip_counts"] = None  # the capture's are of all its calls
        ours = set(x.get("streams") or [])
        keep = [r for r in orig["rtcp"] if isinstance(orig["rtcp"], list) and
                r["found_by"] == "sdp" and
                any(b.get("stream") in ours for b in r["blocks"]) | (r.get("stream") in ours)]
        want = view({**orig, "rtcp": keep}, as_json)["rtcp"]
        reports += len(want)
        o["rtcp"] = unmatched(want, w["rtcp"] or [])[0]  # each must be there
        w["rtcp"] = []
        msgs += ["%s: %s" % (cid, m) for m in diff(o, w)]
    print("%s %s: %d calls, %d RTCP reports, %d written captures%s" % (
        "DIFF" if msgs else "SAME", os.path.basename(cap), calls, reports,
        len(glob.glob(os.path.join(folder, "hep-*.pcap"))), "".join("\n  " + m for m in msgs)))
    return 1 if msgs else 0


if __name__ == "__main__":
    sys.exit(main())
