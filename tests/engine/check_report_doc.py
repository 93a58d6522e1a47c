#!/usr/bin/env python3
"""check_report_doc.py - every field of `callqa analyze --json` reports is documented in
docs/report.md or a page of docs/report/, in the table of the object it belongs to.

    check_report_doc.py docs/report.md REPORTS.jsonl...     exit 0, or 1 naming what is missing
    check_report_doc.py --paths REPORTS.jsonl...             the object paths the reports hold

docs/report.md is read with every page of the folder of its name (docs/report/*.md). Each page
marks each table with the object it documents, on a line of its own before it:
    <!-- fields: leg.quality -->
(several objects of the same shape: `<!-- fields: a.spans[], b.spans[] -->`). Paths name objects from the report's top (`.` is the report itself); `leg` stands for `inbound`
and `outbound` (at the top and inside `conversation`), `[]` for the elements of an array. A field
is documented when the first cell of a row of that object's table holds it as `name`.
"""
import glob
import json
import os
import re
import sys

LEGS = {"inbound", "outbound"}


def norm(parent, key):
    if key in LEGS and parent in (".", "conversation"):
        key = "leg"
    return key if parent == "." else parent + "." + key


def walk(v, path, out):
    """(object path, key) for every key of every object under v."""
    if isinstance(v, dict):
        for k, c in v.items():
            out.add((path, k))
            walk(c, norm(path, k), out)
    elif isinstance(v, list):
        for c in v:
            walk(c, path + "[]", out)


def fields_in(paths):
    out = set()
    for p in paths:
        with open(p) as f:
            for line in f:
                line = line.strip()
                if line:
                    walk(json.loads(line), ".", out)
    return out


def documented(doc_path):
    """{object path: documented keys} of doc_path and of the pages of its folder (report.md:
    report/*.md)"""
    docs = {}
    for page in [doc_path] + sorted(glob.glob(os.path.join(os.path.splitext(doc_path)[0], "*.md"))):
        documented_in(page, docs)
    return docs


def documented_in(doc_path, docs):
    current = None
    for line in open(doc_path):
        m = re.match(r"\s*<!--\s*fields:\s*(.+?)\s*-->", line)
        if m:
            current = set()
            for path in m.group(1).split(","):
                docs[path.strip()] = current
            continue
        if not line.startswith("|"):
            if line.strip():
                current = None  # a table ends at the first line of prose or a heading
            continue
        if current is None:
            continue
        first = line.split("|")[1]
        current.update(re.findall(r"`([^`]+)`", first))
    return docs


def main(argv):
    if argv[:1] == ["--paths"]:
        for p in sorted({p for p, _ in fields_in(argv[1:])}):
            print(p)
        return 0
    if len(argv) < 2:
        sys.exit(__doc__)
    docs = documented(argv[0])
    have = fields_in(argv[1:])
    missing = sorted((p, k) for p, k in have if k not in docs.get(p, set()))
    for p, k in missing:
        print("docs/report.md does not document `%s` in the table of `%s`" % (k, p))
    print("%d fields checked in %d objects, %d undocumented" % (
        len(have), len({p for p, _ in have}), len(missing)))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
