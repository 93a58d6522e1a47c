#!/usr/bin/env python3
"""report_diff.py - compare `callqa analyze --json` output with the committed report golden.

    report_diff.py GOLDEN.jsonl NEW.jsonl            exit 0 when equal, 1 with the differences
    report_diff.py --fields GOLDEN.jsonl NEW.jsonl   only the changed field paths, one per line
                                                     (array indices as []), for commit messages

Reports are matched by their "file" field. Timing fields (TIMING below) are set aside. Strings,
integers, booleans and nulls must be equal; a number printed with decimals may differ by one
unit in its last printed decimal (vector kernels chosen at run time may round the last digit
the other way on another CPU), nothing more.
"""
import json
import sys

TIMING = {"analysis_time_sec"}


def decimals(x):
    r = repr(x)
    if "e" in r or "E" in r:
        return None
    return len(r.split(".")[1]) if "." in r else 0


def same_number(a, b):
    if a == b:
        return True
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    if isinstance(a, int) and isinstance(b, int):
        return False
    da, db = decimals(float(a)), decimals(float(b))
    if da is None or db is None:
        return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    return abs(a - b) <= 1.01 * 10.0 ** -max(da, db)


def walk(a, b, path, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k in TIMING:
                continue
            if k not in a:
                out.append((path + "." + k, "added", None, b[k]))
            elif k not in b:
                out.append((path + "." + k, "removed", a[k], None))
            else:
                walk(a[k], b[k], path + "." + k, out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append((path + "[]", "length %d -> %d" % (len(a), len(b)), None, None))
        for i, (x, y) in enumerate(zip(a, b)):
            walk(x, y, "%s[%d]" % (path, i), out)
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)) \
            and not isinstance(a, bool) and not isinstance(b, bool):
        if not same_number(a, b):
            out.append((path, "changed", a, b))
    elif a != b:
        out.append((path, "changed", a, b))


def load(path):
    reports = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                r = json.loads(line)
            except ValueError as e:
                sys.exit("%s:%d: not JSON: %s" % (path, n, e))
            key = r.get("file")
            if key in reports:
                sys.exit("%s:%d: %s twice" % (path, n, key))
            reports[key] = r
    return reports


def main(argv):
    fields_only = argv[:1] == ["--fields"]
    if fields_only:
        argv = argv[1:]
    if len(argv) != 2:
        sys.exit(__doc__)
    old, new = load(argv[0]), load(argv[1])
    diffs = []
    for key in sorted(set(old) | set(new)):
        if key not in new:
            diffs.append((key, "", "missing from the new run", None, None))
        elif key not in old:
            diffs.append((key, "", "not in the golden", None, None))
        else:
            for d in walk_list(old[key], new[key]):
                diffs.append((key,) + d)
    if fields_only:
        import re
        for p in sorted({re.sub(r"\[\d+\]", "[]", d[1]) for d in diffs}):
            print(p or "(whole report)")
        return 0
    for key, path, what, a, b in diffs[:200]:
        detail = "" if a is None and b is None else ": %s -> %s" % (
            json.dumps(a)[:80], json.dumps(b)[:80])
        print("%s %s %s%s" % (key, path, what, detail))
    if len(diffs) > 200:
        print("... %d differences in all" % len(diffs))
    print("%d reports compared, %d differ, %d differences" % (
        len(set(old) & set(new)), len({d[0] for d in diffs}), len(diffs)))
    return 1 if diffs else 0


def walk_list(a, b):
    out = []
    walk(a, b, "", out)
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
