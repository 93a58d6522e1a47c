#!/usr/bin/env python3
"""compare_tshark.py - callqa's RTP streams and SIP message counts against tshark's.

usage: compare_tshark.py [--only ADDR:PORT] [--rtcp FILE] CALLQA_SERVICE CAPTURE...

--only: the streams from ADDR:PORT alone (a capture whose other traffic is not RTP, where
tshark's heuristic takes some of it for streams: callqa must not, a test of its own).
--rtcp FILE: each capture's RTCP compared too, as compare_rtcp.py compares it, from the same
pass of tshark (its fields beside the two statistics) and the same `callqa-service sip --json`;
compare_rtcp.py's lines written to FILE.

SIP: `tshark -q -z sip,stat` against `callqa sip --json`'s sip_counts: the number of messages,
each request method's count and each status code's (a code tshark has no name for counted in
its class, 199 ... 699, as tshark counts it).

For each capture: one `tshark -o rtp.heuristic_rtp:TRUE -z rtp,streams -z sip,stat` (the two
statistics of one pass) and `callqa-service sip --json`, the streams matched by (source, port, destination, port, SSRC), and per stream:
packets, lost, min/mean/max delta (tshark prints 3 decimals: within 0.0015 ms), min/mean/max
jitter (within 0.01 ms) and the problem mark. One line per capture; every difference named.
Exit status 1 when any differs, 2 when a tool fails.
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_rtcp  # noqa: E402

ROW = re.compile(
    r"^\s*(?P<start>[\d.]+)\s+(?P<end>[\d.]+)\s+(?P<src>\S+)\s+(?P<sport>\d+)\s+(?P<dst>\S+)\s+"
    r"(?P<dport>\d+)\s+(?P<ssrc>0x[0-9A-Fa-f]+)\s+(?P<payload>.+?)\s+(?P<pkts>\d+)\s+"
    r"(?P<lost>-?\d+)\s+\((?P<lostpct>-?[\d.]+)%\)\s+(?P<mind>-?[\d.]+)\s+(?P<meand>-?[\d.]+)\s+"
    r"(?P<maxd>-?[\d.]+)\s+(?P<minj>-?[\d.]+)\s+(?P<meanj>-?[\d.]+)\s+(?P<maxj>-?[\d.]+)\s*(?P<x>X?)\s*$")


def ours(tool, path):
    out = subprocess.run([tool, "sip", "--json", path], capture_output=True, text=True,
                         check=False)
    if out.returncode != 0:
        raise RuntimeError("callqa sip failed on %s: %s" % (path, out.stderr.strip()))
    doc = json.loads(out.stdout)
    return doc, {(s["src"], s["src_port"], s["dst"], s["dst_port"], s["ssrc"].upper()): s
                 for s in doc["streams"]}


SIP_CODES = {999, 100, 180, 181, 182, 183, 199, 200, 202, 204, 299, 300, 301, 302, 305, 380, 399,
             400, 401, 402, 403, 404, 405, 406, 407, 408, 410, 412, 413, 414, 415, 416, 420, 421,
             422, 423, 428, 429, 430, 433, 436, 437, 438, 439, 440, 470, 480, 481, 482, 483, 484,
             485, 486, 487, 488, 489, 491, 493, 494, 499, 500, 501, 502, 503, 504, 505, 513, 599,
             600, 603, 604, 606, 607, 608, 699}


def sip_counts(lines):
    """(messages, status codes, request methods) from the lines of `-z sip,stat`"""
    total, codes, methods, part = 0, {}, {}, None
    for line in lines:
        m = re.match(r"Number of SIP messages: (\d+)", line)
        if m:
            total = int(m.group(1))
        if line.startswith("* SIP Status Codes"):
            part = codes
        elif line.startswith("* List of SIP Request methods"):
            part = methods
        elif line.startswith("* "):
            part = None
        m = re.match(r"^  SIP (\d+) .* : +(\d+) Packets$", line)
        if m and part is codes:
            codes[m.group(1)] = int(m.group(2))
            continue
        m = re.match(r"^  (.+?) *: +(\d+) Packets$", line)
        if m and part is methods:
            methods[m.group(1)] = int(m.group(2))
    return total, codes, methods


def stat_blocks(text):
    """the blocks of a tshark run's -z statistics, each from its first line of "=" to its last,
    by the title on its first lines ("SIP Statistics", "RTP Streams")"""
    blocks, cur = {}, None
    for line in text.splitlines():
        if cur is None:
            if line.startswith("====="):
                cur = [line]
            continue
        cur.append(line)
        if line.startswith("=====") and len(cur) > 2:
            title = "RTP Streams" if "RTP Streams" in cur[0] else cur[1].strip()
            blocks[title] = cur
            cur = None
    return blocks


def stream_rows(lines):
    rows = {}
    for line in lines:
        m = ROW.match(line)
        if m:
            d = m.groupdict()
            rows[(d["src"], int(d["sport"]), d["dst"], int(d["dport"]), d["ssrc"].upper())] = d
    return rows


def tshark_once(path, rtcp=False):
    """(streams, SIP counts, RTCP) of the capture at path from one pass of tshark: -z rtp,streams
    and -z sip,stat, and with rtcp compare_rtcp.py's fields of its RTCP and SR-shaped frames
    ((good, bad, shaped); else None)"""
    cmd = ["tshark", "-o", "rtp.heuristic_rtp:TRUE", "-z", "rtp,streams", "-z", "sip,stat",
           "-r", path]
    cmd += compare_rtcp.tshark_args() if rtcp else ["-q"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError("tshark failed on %s: %s" % (path, out.stderr.strip()))
    lines = out.stdout.splitlines()
    # the statistics come after every frame's fields and an empty line: from the first line of "="
    first = next((i for i, x in enumerate(lines) if x.startswith("=====")), len(lines))
    blocks = stat_blocks("\n".join(lines[first:]))
    last = first
    while last > 0 and lines[last - 1] == "":
        last -= 1
    if "RTP Streams" not in blocks or "SIP Statistics" not in blocks:
        raise RuntimeError("tshark on %s: no %s" % (path, " and ".join(
            b for b in ("RTP Streams", "SIP Statistics") if b not in blocks)))
    fields = compare_rtcp.parse_fields(lines[:last]) if rtcp else None
    return stream_rows(blocks["RTP Streams"]), sip_counts(blocks["SIP Statistics"]), fields


def sip_diffs(tool_json, ts):
    total, codes, methods = ts
    mine = tool_json["sip_counts"]
    diffs = []
    if mine["messages"] != total:
        diffs.append("messages %d != %d" % (total, mine["messages"]))
    if mine["requests"] != methods:  # tshark shows each byte above 0x7f as U+FFFD
        mine["requests"] = {"".join(c if ord(c) < 0x80 else "\ufffd" * len(c.encode("utf-8"))
                                    for c in k): v for k, v in mine["requests"].items()}
    if mine["requests"] != methods:
        diffs.append("methods %s != %s" % (methods, mine["requests"]))
    bucketed = {}
    for code, n in mine["responses"].items():
        c = int(code)
        key = c if c in SIP_CODES else (c // 100 * 100 + 99 if 100 <= c < 700 else None)
        if key is not None:
            bucketed[str(key)] = bucketed.get(str(key), 0) + n
    if bucketed != codes:
        diffs.append("status codes %s != %s" % (codes, bucketed))
    return diffs


def num(v, none):
    return none if v is None else v


def compare(t, o):
    diffs = []
    if t["payload"] != o["payload"]:
        diffs.append("payload %r != %r" % (t["payload"], o["payload"]))
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
    args, only, rtcp_out = sys.argv[1:], None, None
    while args and args[0] in ("--only", "--rtcp") and len(args) > 1:
        if args[0] == "--only":
            addr, port = args[1].rsplit(":", 1)
            only = (addr, int(port))
        else:
            rtcp_out = open(args[1], "w")
        args = args[2:]
    tool, bad = args[0], 0
    for path in args[1:]:
        try:
            ts, sip, fields = tshark_once(path, rtcp_out is not None)
            doc, me = ours(tool, path)
        except (RuntimeError, ValueError) as e:
            print("ERROR %s" % e)
            if rtcp_out:
                print("ERROR %s: %s" % (path, e), file=rtcp_out, flush=True)
            return 2
        if rtcp_out:
            try:
                rc, line = compare_rtcp.compare_doc(path, *fields, doc)
            except (RuntimeError, ValueError, KeyError) as e:
                line = "ERROR %s: %s" % (path, e)
            print(line, file=rtcp_out, flush=True)
        if only:
            ts = {k: v for k, v in ts.items() if k[:2] == only}
            me = {k: v for k, v in me.items() if k[:2] == only}
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
        msgs += ["SIP: " + d for d in sip_diffs(doc, sip)]
        bad += bool(msgs)
        print("%s %s: %d streams, %d SIP messages%s" % ("DIFF" if msgs else "SAME", path, len(ts), sip[0],
                                       "".join("\n  " + m for m in msgs)), flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
