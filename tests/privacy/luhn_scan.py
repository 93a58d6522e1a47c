#!/usr/bin/env python3
"""luhn_scan.py - what a redaction must leave nowhere: Luhn-valid card numbers, written.

    luhn_scan.py [--planted DIGITS]... FILE...

Reads each file as bytes (a store, a log, a recorded request) and reports:
  - every run of 13-19 digits, written whole or in groups with single spaces or dashes between
    them (no other character inside the run, no letter or digit touching it), that passes
    Luhn;
  - every place a --planted number appears: its digits whole, in groups of 4 with spaces or
    dashes, or said digit by digit in words ("four one one one ...").
Prints one line per finding, "FILE: what", and exits 1 when there is any, 0 when none.
Independent of callqa's own scanner on purpose: the test does not rest on the code it checks.
"""
import re
import sys

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def luhn(d):
    s = 0
    for i, c in enumerate(reversed(d)):
        v = ord(c) - 48
        if i % 2:
            v *= 2
            if v > 9:
                v -= 9
        s += v
    return s % 10 == 0


# a run stands alone: no letter or digit touches it (a hex hash's digits are not a number)
RUN = re.compile(rb"(?<![0-9A-Za-z])[0-9](?:[ -]?[0-9]){12,18}(?![0-9A-Za-z])")


def scan(data, planted):
    out = []
    for m in RUN.finditer(data):
        d = re.sub(rb"[^0-9]", b"", m.group(0)).decode()
        if 13 <= len(d) <= 19 and luhn(d):
            out.append("a Luhn-valid %d-digit run at byte %d" % (len(d), m.start()))
    low = data.lower()
    for p in planted:
        forms = [p, " ".join(p[i:i + 4] for i in range(0, len(p), 4)),
                 "-".join(p[i:i + 4] for i in range(0, len(p), 4)),
                 " ".join(WORDS[int(c)] for c in p)]
        for f in forms:
            if f.encode() in low:
                out.append("the planted number %s as '%s'" % (p, f))
    return out


def main():
    args = sys.argv[1:]
    planted, files = [], []
    while args:
        a = args.pop(0)
        if a == "--planted":
            planted.append(args.pop(0))
        else:
            files.append(a)
    bad = 0
    for f in files:
        with open(f, "rb") as fh:
            for what in scan(fh.read(), planted):
                print("%s: %s" % (f, what))
                bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
