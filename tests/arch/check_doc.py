#!/usr/bin/env python3
"""check_doc.py - docs/ARCHITECTURE.md names every source file of src/ and include/callqa/.

    check_doc.py SOURCE_DIR [DOC]

A file is named when the document holds its path (src/ROOM/FILE, include/callqa/FILE), or its
name in backquotes (`FILE`) inside the section of its room: the section whose heading or first
lines name the room's folder (src/ROOM/). Prints each file the document does not name, and each
C file's name in backquotes that is no file of the tree (a document that
names what was removed); exit 1 if any.
"""
import os
import re
import sys

SRC_EXT = (".c", ".h")


def sources(root):
    out = []
    for top in ("src", os.path.join("include", "callqa")):
        base = os.path.join(root, top)
        for d, _, files in os.walk(base):
            for f in files:
                if f.endswith(SRC_EXT):
                    out.append(os.path.relpath(os.path.join(d, f), root))
    return sorted(out)


def sections(doc):
    """[(heading, text)] split at markdown headings"""
    parts, head, buf = [], "", []
    for line in doc.splitlines():
        if line.startswith("#"):
            parts.append((head, "\n".join(buf)))
            head, buf = line, []
        else:
            buf.append(line)
    parts.append((head, "\n".join(buf)))
    return parts


def main():
    root = sys.argv[1]
    doc_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "docs", "ARCHITECTURE.md")
    doc = open(doc_path, encoding="utf-8").read()
    secs = sections(doc)
    missing = []
    files = sources(root)
    for rel in files:
        name = os.path.basename(rel)
        if rel in doc:
            continue
        folder = os.path.dirname(rel) + "/"
        named = False
        for head, text in secs:
            where = head + "\n" + text
            if folder in where and ("`%s`" % name in where or re.search(
                    r"(?<![\w/.])%s(?![\w])" % re.escape(name), where)):
                named = True
                break
        if not named:
            missing.append(rel)
    # names in backquotes that look like C files and are no file of the tree (build folders
    # aside): a document that names what was removed or renamed
    known = set()
    for d, dirs, fs in os.walk(root):
        dirs[:] = [x for x in dirs if not x.startswith((".", "build")) and x != "node_modules"]
        known.update(fs)
    stale = sorted({os.path.basename(m)
                    for m in re.findall(r"`((?:[A-Za-z0-9_.-]+/)*[A-Za-z0-9_]+\.[ch])`", doc)
                    if os.path.basename(m) not in known
                    and not os.path.basename(m)[:-2].isupper()})  # NAME.c: a placeholder
    for m in missing:
        print("docs/ARCHITECTURE.md does not name %s" % m)
    for m in stale:
        print("docs/ARCHITECTURE.md names %s, which is no file of the tree" % m)
    print("%d source files, %d not named, %d names of no file" % (len(files), len(missing),
                                                                  len(stale)))
    return 1 if missing or stale else 0


if __name__ == "__main__":
    sys.exit(main())
