#!/usr/bin/env python3
"""event_net.py - the events' regression net: reports against the checked-in list.

    event_net.py EXPECTED REPORTS.jsonl CORPUS_DIR

EXPECTED has one line per event, "FILE LEG TYPE SIGNAL START END" (SIGNAL '-' when none), and a
line "FILE - none - - -" for a file with no event, so a file that gains one is caught too. FILE
is the path under CORPUS_DIR, or music/NAME for the music suite's set. An event of the reports
matches one of the list with the same file, leg, type and signal and its start and end within
TOL s; what is left on either side is printed as LOST or ADDED, and a pair of the same kind
further apart as MOVED. With UPDATE=1 in the environment, the list is written instead.
Exit status 0 when the reports equal the list, 1 otherwise.
"""
import json
import os
import sys

TOL = 0.05


def rows_of(rep_path, corpus):
    rows, files, errors = [], set(), []
    with open(rep_path, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            path = r.get("file") or ""
            if path.startswith(corpus.rstrip("/") + "/"):
                name = path[len(corpus.rstrip("/")) + 1:]
            else:
                name = "music/" + os.path.basename(path)
            if "events" not in r:
                errors.append("%s: %s" % (name, r.get("error")))
                continue
            files.add(name)
            for e in r["events"]:
                rows.append((name, e.get("leg") or "-", e["type"], e.get("signal") or "-",
                             round(e["start"], 3), round(e["end"], 3)))
    return rows, files, errors


def main(argv):
    if len(argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    exp_path, rep_path, corpus = argv[1:]
    rows, files, errors = rows_of(rep_path, corpus)
    if os.environ.get("UPDATE") == "1":
        with open(exp_path, "w", encoding="utf-8") as f:
            f.write("# the events' regression net (tests/dsp/test_event_net.sh): FILE LEG TYPE SIGNAL START END\n")
            have = {r[0] for r in rows}
            out = ["%s %s %s %s %.3f %.3f" % r for r in rows]
            out += ["%s - none - - -" % n for n in files - have]
            for line in sorted(out):
                f.write(line + "\n")
        print("wrote %d events of %d files to %s" % (len(rows), len(files), exp_path))
        return 0
    want, want_files = [], set()
    with open(exp_path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            name, leg, typ, sig, a, b = line.split()
            want_files.add(name)
            if typ != "none":
                want.append((name, leg, typ, sig, float(a), float(b)))
    got = list(rows)
    lost = []
    for w in want:
        m = [g for g in got if g[:4] == w[:4] and abs(g[4] - w[4]) <= TOL and abs(g[5] - w[5]) <= TOL]
        if m:
            got.remove(m[0])
        else:
            lost.append(w)
    moved = []
    for w in list(lost):
        m = [g for g in got if g[:4] == w[:4]]
        if m:
            g = min(m, key=lambda g: abs(g[4] - w[4]) + abs(g[5] - w[5]))
            moved.append((w, g))
            lost.remove(w)
            got.remove(g)
    for e in errors:
        print("ERROR   " + e)
    for w in lost:
        print("LOST    %s %s %s %s %.3f-%.3f" % w)
    for g in got:
        print("ADDED   %s %s %s %s %.3f-%.3f" % g)
    for w, g in moved:
        print("MOVED   %s %s %s %s %.3f-%.3f -> %.3f-%.3f" % (w + g[4:]))
    gone = want_files - files
    for n in sorted(gone):
        print("MISSING %s: no report" % n)
    print("event net: %d files, %d events expected; %d lost, %d added, %d moved, %d files missing, "
          "%d errors" % (len(want_files), len(want), len(lost), len(got), len(moved), len(gone),
                         len(errors)))
    return 0 if not (lost or got or moved or gone or errors) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
