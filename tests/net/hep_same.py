#!/usr/bin/env python3
"""hep_same.py - a capture and its HEP replay (hep.py) read the same: `callqa-service sip
--json` on each; the SIP messages (all but the frame number and the time from the capture's
first frame, which the replay does not keep: it holds no RTP), the dialogs (all but their
times on that clock and their streams), the SIP counts, the SIP findings (code and message) and
the RTCP reports (all but frames, times, and the jitter in ms, which takes the RTP stream's
clock) equal the capture's; counts.hep the packets replayed.

With --rtcp-json (the replay's RTCP as res_hep_rtcp's JSON): the SR and RR reports only (the
JSON carries no SDES, XR or BYE), without the SR's NTP fraction (the JSON gives microseconds)
and the round trip (its LSR can be one unit off the answer's); every report of the capture must
be in the replay, which may hold more: a report Asterisk sends as JSON is RTCP by its word,
where the capture's reading may not take the datagram for RTCP (tshark does not either: sent
between ports no SDP names, after another copy of it).

usage: hep_same.py [--rtcp-json] CALLQA_SERVICE PLAIN REPLAY HEP_PACKETS [PLAIN REPLAY HEP_PACKETS]...
One line per replay, SAME or DIFF with the first differences; exit 1 on DIFF (one process for
many: a replay that fails prints its traceback, and the next is compared).
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


JSON_RTCP = {"cname", "ntp_lsw", "ntp_sec", "rtt_ms", "voip_metrics"}


def view(d, as_json=False):
    rtcp = strip(d["rtcp"])
    if as_json and isinstance(rtcp, list):
        def drop(v):
            if isinstance(v, dict):
                return {k: drop(x) for k, x in v.items() if k not in JSON_RTCP}
            return [drop(x) for x in v] if isinstance(v, list) else v
        rtcp = [drop(r) for r in rtcp if r["type"] in ("SR", "RR")]
    return {"sip": strip(d["sip"]), "dialogs": strip(d["dialogs"]), "sip_counts": d["sip_counts"],
            "findings": [(f["code"], f["message"]) for f in d["findings"]
                         if f["code"].startswith("sip_")],
            "rtcp": rtcp}


def unmatched(want, have):
    """the items of want not in have, each item of have matching one of want (as JSON text), and
    the items of have left over"""
    left = [json.dumps(r, sort_keys=True) for r in have]
    missing = []
    for r in want:
        k = json.dumps(r, sort_keys=True)
        if k in left:
            left.remove(k)
        else:
            missing.append(k)
    return missing, left


def same(tool, plain, replay, n, as_json):
    sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__)))
    from encap_same import diff
    n = int(n)
    a, b = read(tool, plain), read(tool, replay)
    va, vb = view(a, as_json), view(b, as_json)
    extra = 0
    if as_json and isinstance(va["rtcp"], list) and isinstance(vb["rtcp"], list):
        missing, left = unmatched(va["rtcp"], vb["rtcp"])
        extra = len(left)
        va["rtcp"], vb["rtcp"] = missing, []  # a report of the capture not in the replay: DIFF
    msgs = diff(va, vb)
    if b["counts"]["hep"] != n or b["counts"]["hep_bad"]:
        msgs.append("counts.hep %d of %d, hep_bad %d" % (b["counts"]["hep"], n,
                                                          b["counts"]["hep_bad"]))
    print("%s %s: %d messages, %d dialogs, %d RTCP reports%s%s" % (
        "DIFF" if msgs else "SAME", replay, len(b["sip"]), len(b["dialogs"]),
        len(b["rtcp"]) if isinstance(b["rtcp"], list) else 0,
        " (%d more in the JSON)" % extra if extra else "", "".join("\n  " + m for m in msgs)),
        flush=True)
    return 1 if msgs else 0


def main():
    args = sys.argv[1:]
    as_json = "--rtcp-json" in args
    args = [a for a in args if a != "--rtcp-json"]
    if len(args) < 4 or (len(args) - 1) % 3:
        print(__doc__, file=sys.stderr)
        return 2
    if len(args) == 4:
        return same(args[0], args[1], args[2], args[3], as_json)
    rc = 0
    for i in range(1, len(args), 3):
        try:
            rc |= same(args[0], args[i], args[i + 1], args[i + 2], as_json)
        except Exception:  # this replay alone, as a run of its own would fail
            import traceback
            traceback.print_exc()
            sys.stderr.flush()
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
