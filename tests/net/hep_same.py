#!/usr/bin/env python3
"""hep_same.py - a capture and its HEP replay (hep.py) read the same: `callqa-service sip
--json` on each; the SIP messages (all but the frame number and the time from the capture's
first frame, which the replay does not keep: it holds no RTP), the dialogs (all but their
times on that clock and their streams), the SIP counts, the SIP findings (code and message) and
the RTCP reports (all but frames, times, and the jitter in ms, which takes the RTP stream's
clock) equal the capture's; counts.hep the packets replayed.

usage: hep_same.py CALLQA_SERVICE PLAIN REPLAY HEP_PACKETS
One line, SAME or DIFF with the first differences; exit 1 on DIFF.
"""
import json
import subprocess
import sys

CLOCK = {"frame", "time_sec", "start_sec", "end_sec", "answer_sec", "streams", "stream",
         "arrival_sec", "rtt_sr_frame", "jitter_ms"}


def read(tool, path):
    out = subprocess.run([tool, "sip", "--json", path], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("%s: %s" % (path, out.stderr.strip()))
    return json.loads(out.stdout)


def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if k not in CLOCK}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v


def view(d):
    return {"sip": strip(d["sip"]), "dialogs": strip(d["dialogs"]), "sip_counts": d["sip_counts"],
            "findings": [(f["code"], f["message"]) for f in d["findings"]
                         if f["code"].startswith("sip_")],
            "rtcp": strip(d["rtcp"])}


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    tool, plain, replay, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__)))
    from encap_same import diff
    a, b = read(tool, plain), read(tool, replay)
    msgs = diff(view(a), view(b))
    if b["counts"]["hep"] != n or b["counts"]["hep_bad"]:
        msgs.append("counts.hep %d of %d, hep_bad %d" % (b["counts"]["hep"], n,
                                                          b["counts"]["hep_bad"]))
    print("%s %s: %d messages, %d dialogs, %d RTCP reports%s" % (
        "DIFF" if msgs else "SAME", replay, len(b["sip"]), len(b["dialogs"]),
        len(b["rtcp"]) if isinstance(b["rtcp"], list) else 0, "".join("\n  " + m for m in msgs)))
    return 1 if msgs else 0


if __name__ == "__main__":
    sys.exit(main())
