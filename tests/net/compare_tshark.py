#!/usr/bin/env python3
"""compare_tshark.py - callqa's RTP streams against tshark's on the same capture.

usage: compare_tshark.py CALLQA_SERVICE CAPTURE...

For each capture: `tshark -o rtp.heuristic_rtp:TRUE -q -z rtp,streams` and `callqa-service sip
--json`, the streams matched by (source, port, destination, port, SSRC), and per stream:
packets, lost, min/mean/max delta (tshark prints 3 decimals: within 0.0015 ms), min/mean/max
jitter (within 0.01 ms) and the problem mark. One line per capture; every difference named.
Exit status 1 when any differs, 2 when a tool fails.
"""
import json
import re
import subprocess
import sys

ROW = re.compile(
    r"^\s*(?P<start>[\d.]+)\s+(?P<end>[\d.]+)\s+(?P<src>\S+)\s+(?P<sport>\d+)\s+(?P<dst>\S+)\s+"
    r"(?P<dport>\d+)\s+(?P<ssrc>0x[0-9A-Fa-f]+)\s+(?P<payload>.+?)\s+(?P<pkts>\d+)\s+"
    r"(?P<lost>-?\d+)\s+\((?P<lostpct>-?[\d.]+)%\)\s+(?P<mind>-?[\d.]+)\s+(?P<meand>-?[\d.]+)\s+"
    r"(?P<maxd>-?[\d.]+)\s+(?P<minj>-?[\d.]+)\s+(?P<meanj>-?[\d.]+)\s+(?P<maxj>-?[\d.]+)\s*(?P<x>X?)\s*$")


def tshark_streams(path):
    out = subprocess.run(["tshark", "-o", "rtp.heuristic_rtp:TRUE", "-q", "-z", "rtp,streams",
                          "-r", path], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError("tshark failed on %s: %s" % (path, out.stderr.strip()))
    rows = {}
    for line in out.stdout.splitlines():
        m = ROW.match(line)
        if m:
            d = m.groupdict()
            rows[(d["src"], int(d["sport"]), d["dst"], int(d["dport"]), d["ssrc"].upper())] = d
    return rows


def ours(tool, path):
    out = subprocess.run([tool, "sip", "--json", path], capture_output=True, text=True,
                         check=False)
    if out.returncode != 0:
        raise RuntimeError("callqa sip failed on %s: %s" % (path, out.stderr.strip()))
    doc = json.loads(out.stdout)
    return {(s["src"], s["src_port"], s["dst"], s["dst_port"], s["ssrc"].upper()): s
            for s in doc["streams"]}


def num(v, none):
    return none if v is None else v


def compare(t, o):
    diffs = []
    if int(t["pkts"]) != o["packets"]:
        diffs.append("packets %s != %d" % (t["pkts"], o["packets"]))
    if int(t["lost"]) != o["lost"]:
        diffs.append("lost %s != %d" % (t["lost"], o["lost"]))
    checks = [("min delta", "mind", num(o["min_delta_ms"], -1.0), 0.0015),
              ("mean delta", "meand", num(o["mean_delta_ms"], 0.0), 0.0015),
              ("max delta", "maxd", num(o["max_delta_ms"], 0.0), 0.0015),
              ("min jitter", "minj", num(o["min_jitter_ms"], -1.0), 0.01),
              ("mean jitter", "meanj", num(o["mean_jitter_ms"], 0.0), 0.01),
              ("max jitter", "maxj", num(o["max_jitter_ms"], 0.0), 0.01)]
    for name, key, mine, tol in checks:
        if abs(float(t[key]) - mine) > tol:
            diffs.append("%s %s != %.3f" % (name, t[key], mine))
    if (t["x"] == "X") != o["problem"]:
        diffs.append("problem %r != %r" % (t["x"] == "X", o["problem"]))
    return diffs


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    tool, bad = sys.argv[1], 0
    for path in sys.argv[2:]:
        try:
            ts, me = tshark_streams(path), ours(tool, path)
        except (RuntimeError, ValueError) as e:
            print("ERROR %s" % e)
            return 2
        msgs = []
        for k in sorted(set(ts) | set(me)):
            if k not in me:
                msgs.append("%s:%d > %s:%d %s: only in tshark" % k)
            elif k not in ts:
                msgs.append("%s:%d > %s:%d %s: only in callqa" % k)
            else:
                d = compare(ts[k], me[k])
                if d:
                    msgs.append("%s:%d > %s:%d %s: " % k + "; ".join(d))
        bad += bool(msgs)
        print("%s %s: %d streams%s" % ("DIFF" if msgs else "SAME", path, len(ts),
                                       "".join("\n  " + m for m in msgs)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
