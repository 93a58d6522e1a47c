#!/usr/bin/env python3
"""encap_same.py - a capture and its encapsulated copies (encap.py) read the same:
`callqa-service sip --json` on each, and the SIP messages, dialogs, RTP streams, RTCP and
findings equal the plain capture's, field by field; the copy's IP frames counted as
tunnelled (but for the Linux cooked and tagged ones, which are link layers, not tunnels).

usage: encap_same.py CALLQA_SERVICE PLAIN COPY... [-- PLAIN COPY...]...
One line per copy, SAME or DIFF with the first differences. Exit 1 when any differs.
"--" starts another plain capture and its copies (one process for many).
"""
import json
import subprocess
import sys

KEYS = ["sip", "dialogs", "streams", "rtcp", "findings", "sip_counts"]
LINK_ONLY = ("-sll.", "-sll2.", "-qinq.")


def read(tool, path):
    out = subprocess.run([tool, "sip", "--json", path], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("%s: %s" % (path, out.stderr.strip()))
    return json.loads(out.stdout)


def diff(a, b, path="", out=None):
    out = [] if out is None else out
    if len(out) >= 5:
        return out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            diff(a.get(k), b.get(k), path + "." + k, out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append("%s: %d against %d items" % (path, len(b), len(a)))
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, "%s[%d]" % (path, i), out)
    elif a != b:
        out.append("%s: %r against %r" % (path, b, a))
    return out


def same(tool, plain, copies):
    base, bad = read(tool, plain), 0
    for c in copies:
        d = read(tool, c)
        msgs = diff({k: base[k] for k in KEYS}, {k: d[k] for k in KEYS})
        link = any(s in c for s in LINK_ONLY)
        if not link and not 0 < d["counts"]["tunnelled"] <= base["packets"]:
            msgs.append("counts.tunnelled %d of %d frames" % (d["counts"]["tunnelled"],
                                                               base["packets"]))
        bad += bool(msgs)
        print("%s %s: %d messages, %d dialogs, %d streams%s" % (
            "DIFF" if msgs else "SAME", c, len(d["sip"]), len(d["dialogs"]), len(d["streams"]),
            "".join("\n  " + m for m in msgs)), flush=True)
    return bad


def main():
    args = sys.argv[1:]
    groups, cur = [], []
    for a in args[1:] + ["--"]:
        if a == "--":
            groups.append(cur)
            cur = []
        else:
            cur.append(a)
    if not args or any(len(g) < 2 for g in groups):
        print(__doc__, file=sys.stderr)
        return 2
    rc = 0
    for g in groups:
        try:
            rc |= 1 if same(args[0], g[0], g[1:]) else 0
        except Exception:  # as a run of its own for this group: its traceback, the next group
            import traceback
            traceback.print_exc()
            sys.stdout.flush()
            rc |= 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
