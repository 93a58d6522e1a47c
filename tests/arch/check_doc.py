#!/usr/bin/env python3
"""check_doc.py - docs/ARCHITECTURE.md names every source file of src/ and include/callqa/.

    check_doc.py SOURCE_DIR [DOC]

A file is named when the document holds its path (src/ROOM/FILE, include/callqa/FILE), or its
name in backquotes (`FILE`) inside the section of its room: the section whose heading or first
lines name the room's folder (src/ROOM/). Prints each file the document does not name, and each
C file's name in backquotes that is no file of the tree (a document that
names what was removed); and holds section 0's two pictures of the floors against each other
and against the include check's: each room on the same floor in the drawing, the table and
check_includes.py's FLOORS. Exit 1 if any differ.
"""
import os
import re
import sys

SRC_EXT = (".c", ".h")
# a room's name in the drawing: at a line's start after its floor, or after two spaces, and
# followed by two (its description)
DRAWN_ROOM = re.compile(r"(?:^\s*\d*\s+|\s{2})([a-z]+)(?=\s{2})")
TABLE_ROW = re.compile(r"^\|\s*(\d+)\s*\|([^|]*)\|")


def floors(doc):
    """section 0's drawing and table: ({room: floor}, {room: floor})"""
    sec = doc.split("## 0.", 1)[1].split("\n## ", 1)[0]
    drawing, table = {}, {}
    block = sec.split("```", 2)[1]
    floor = None
    for line in block.splitlines():
        m = re.match(r"^\s*(\d+)\s", line)
        if m:
            floor = int(m.group(1))
        for room in DRAWN_ROOM.findall(line):
            drawing[room] = floor
    for line in sec.splitlines():
        m = TABLE_ROW.match(line)
        if m:
            for room in re.findall(r"`([a-z]+)`", m.group(2)):
                table[room] = int(m.group(1))
    return drawing, table


def floor_differences(doc, checked):
    """each room whose floor the drawing, the table and the include check do not agree on"""
    drawing, table = floors(doc)
    out = []
    for room in sorted(set(drawing) | set(table) | set(checked)):
        got = (drawing.get(room), table.get(room), checked.get(room))
        if len(set(got)) != 1:
            out.append("room %s: floor %s in the drawing, %s in the table, %s in "
                       "check_includes.py" % ((room,) + got))
    return out


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
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from check_includes import FLOORS
    differ = floor_differences(doc, FLOORS)
    for d in differ:
        print("docs/ARCHITECTURE.md, section 0: %s" % d)
    for m in missing:
        print("docs/ARCHITECTURE.md does not name %s" % m)
    for m in stale:
        print("docs/ARCHITECTURE.md names %s, which is no file of the tree" % m)
    print("%d source files, %d not named, %d names of no file" % (len(files), len(missing),
                                                                  len(stale)))
    print("%d rooms on the same floor in the drawing, the table and the include check, %d not" %
          (len(FLOORS) - len(differ), len(differ)))
    return 1 if missing or stale or differ else 0


if __name__ == "__main__":
    sys.exit(main())
