#!/usr/bin/env python3
"""compare_text.py - `callqa sip --json` on a capture and on a text export of it (tshark -V)
must tell the same story: the same SIP messages (frame, time within 1 ms, addresses, ports,
transport, method or status, Call-ID, CSeq), the same dialogs (Call-ID, method, final status,
hangup side, cancel, Q.850 cause, challenges, PDD, answer and talk times within 1 ms, the SDP
offer's and answer's address, port and codecs) and the same finding codes (those of RTP
streams aside: a SIP text export has no RTP). A text of some calls only (tshark -Y with a
Call-ID filter) is held against those calls of the capture.

  usage: compare_text.py CALLQA CAPTURE TEXT
Prints SAME or DIFF lines; exits 1 on a difference."""
import json
import subprocess
import sys


def run(cq, path):
    out = subprocess.run([cq, "sip", "--json", path], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def near(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 0.001


def sdp(s):
    if s is None:
        return None
    return (s["address"], s["port"], s["proto"], [(c["pt"], c["name"], c["rate"]) for c in s["codecs"]],
            s["direction"])


def main():
    cq, cap, txt = sys.argv[1:4]
    a, b = run(cq, cap), run(cq, txt)
    ids = {m["call_id"] for m in b["sip"]}
    a["sip"] = [m for m in a["sip"] if m["call_id"] in ids]
    a["dialogs"] = [d for d in a["dialogs"] if d["call_id"] in ids]
    a["findings"] = [f for f in a["findings"] if f["call_id"] in ids]
    diffs = []
    ma, mb = a["sip"], b["sip"]
    if len(ma) != len(mb):
        diffs.append(f"messages: {len(ma)} in the capture, {len(mb)} in the text")
    for x, y in zip(ma, mb):
        for k in ("frame", "src", "src_port", "dst", "dst_port", "transport", "method", "status", "call_id",
                  "cseq", "cseq_method", "from", "to", "uri", "reason"):
            if x.get(k) != y.get(k):
                diffs.append(f"frame {x['frame']}: {k} {x.get(k)!r} != {y.get(k)!r}")
        if not near(x["time_sec"], y["time_sec"]):
            diffs.append(f"frame {x['frame']}: time_sec {x['time_sec']} != {y['time_sec']}")
    da, db = a["dialogs"], b["dialogs"]
    if len(da) != len(db):
        diffs.append(f"dialogs: {len(da)} != {len(db)}")
    for x, y in zip(da, db):
        for k in ("call_id", "method", "caller", "callee", "final_status", "final_reason", "hangup", "cancelled",
                  "q850_cause", "challenges", "retransmissions", "ack_missing", "on_hold", "info_digits"):
            if x[k] != y[k]:
                diffs.append(f"dialog {x['call_id']}: {k} {x[k]!r} != {y[k]!r}")
        for k in ("pdd_sec", "answer_sec", "talk_sec", "start_sec", "end_sec"):
            if not near(x[k], y[k]):
                diffs.append(f"dialog {x['call_id']}: {k} {x[k]} != {y[k]}")
        for k in ("offer", "answer"):
            if sdp(x[k]) != sdp(y[k]):
                diffs.append(f"dialog {x['call_id']}: {k} {sdp(x[k])} != {sdp(y[k])}")
    fa = sorted(f["code"] for f in a["findings"] if not f["code"].startswith("rtp_"))
    fb = sorted(f["code"] for f in b["findings"])
    if fa != fb:
        diffs.append(f"findings: {fa} != {fb}")
    for d in diffs:
        print("DIFF", txt, d)
    if not diffs:
        print(f"SAME {txt}: {len(mb)} messages, {len(db)} dialogs, {len(fb)} findings as {cap}")
    return 1 if diffs else 0


sys.exit(main())
