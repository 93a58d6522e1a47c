#!/usr/bin/env python3
"""test_help.py - `callqa --help`, the commands' own pages and `man callqa` agree.

    test_help.py SOURCE_DIR BUILD/callqa BUILD/man/callqa.1.gz

1. `callqa --help` exits 0 in at most 60 lines: at least three headings ("Heading:"), under
   them each command on one line ("  command ARGS  what it does"), and it ends saying where to
   read more (callqa COMMAND --help, man callqa, docs/).
2. Every command the program dispatches (src/cli/main.c, and the second words that
   src/cli/store_cmd.c, ingest_cmd.c, transcribe_cmd.c and ask_cmd.c take) is listed there.
3. Every command listed exists: `callqa COMMAND --help` exits 0 (and, for a line whose
   arguments start with a flag, `callqa COMMAND --FLAG [VALUE] --help` too: the pages of
   analyze --transcribe and analyze --pcap), and its page has an "Example: callqa ..." line.
4. Every example parses: its command line with --help after it exits 0 (its flags are the
   command's, their values in bounds; a --config FILE that is not there read as an empty one);
   those that read only the source tree's samples/ are run and exit 0.
5. The man page holds every command line of `callqa --help` and a section of each command's
   page (".SS callqa COMMAND"), under a section named as its heading. Without the man page (the
   sanitizer builds leave it out of `all`) this part is skipped.
TAP on stdout; exit 1 when a check fails.
"""
import gzip
import os
import re
import subprocess
import sys

HEADING = re.compile(r"^([A-Z][^:]*):$")
COMMAND_LINE = re.compile(r"^  ([a-z]\S*(?: \S+)*?)(?: {2,}(\S.*))?$")
WORD = re.compile(r"^[a-z][a-z-]*$")
EXAMPLE = re.compile(r"^Example: (callqa\b.*)$")
# the files whose `strcmp(argv[1], "NAME")` are a command's second words
SECOND_WORDS = {"store": "store_cmd.c", "ingest": "ingest_cmd.c",
                "transcript": "transcribe_cmd.c", "ask": "ask_cmd.c"}
DISPATCH = re.compile(r"strcmp\(argv\[1\], \"([a-z][a-z-]*)\"\)")

n = 0
failed = 0


def check(name, ok, why=""):
    global n, failed
    n += 1
    if ok:
        print("ok %d - %s" % (n, name))
    else:
        failed += 1
        print("not ok %d - %s%s" % (n, name, (": " + why) if why else ""))


def run(cq, args, cwd):
    try:
        p = subprocess.run([cq] + args, capture_output=True, text=True, cwd=cwd, timeout=60,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return 124, "", "timed out"
    return p.returncode, p.stdout, p.stderr


def examples(page):
    """the example command lines of a page (a line ending in a backslash goes on below)"""
    out, lines = [], page.splitlines()
    for i, line in enumerate(lines):
        m = EXAMPLE.match(line)
        if not m:
            continue
        cmd = m.group(1)
        while cmd.endswith("\\") and i + 1 < len(lines):
            i += 1
            cmd = cmd[:-1].rstrip() + " " + lines[i].strip()
        out.append(cmd)
    return out


def listing(text):
    """[(heading, synopsis, description)] of callqa --help's command lines"""
    rows, heading = [], None
    for line in text.splitlines():
        h = HEADING.match(line)
        if h and not line.startswith("usage:"):
            heading = h.group(1)
            continue
        if not line.strip():
            continue
        m = COMMAND_LINE.match(line)
        if heading and m:
            rows.append((heading, m.group(1), m.group(2) or ""))
        elif not line.startswith(" "):
            heading = None  # text after the lists
    return rows


def words_of(synopsis):
    toks = synopsis.split()
    k = 0
    while k < len(toks) and WORD.match(toks[k]):
        k += 1
    return toks[:k], toks[k:]


def unroff(text):
    text = re.sub(r"\\f[BIRP]", "", text)
    return text.replace("\\-", "-").replace("\\&", "").replace("\\e", "\\")


def main():
    src, cq, man = sys.argv[1:4]
    cq = os.path.abspath(cq)
    rc, top, err = run(cq, ["--help"], src)
    lines = top.splitlines()
    check("callqa --help exits 0", rc == 0, err.strip())
    check("callqa --help: at most 60 lines", 0 < len(lines) <= 60, "%d lines" % len(lines))
    rows = listing(top)
    headings = []
    for h, _, _ in rows:
        if h not in headings:
            headings.append(h)
    check("callqa --help: at least three headings with commands under them",
          len(headings) >= 3, "headings: %s" % headings)
    no_text = [s for _, s, d in rows if not d]
    check("callqa --help: each command on one line with what it does", rows and not no_text,
          "no text: %s" % no_text if rows else "no command lines")
    tail = "\n".join(lines[-4:])
    check("callqa --help ends with where to read more",
          "callqa COMMAND --help" in tail and "man callqa" in tail and "docs/" in tail, tail)

    # 2. every command dispatched is listed
    listed = set()
    for _, syn, _ in rows:
        w, _ = words_of(syn)
        for k in range(1, len(w) + 1):
            listed.add(" ".join(w[:k]))
    main_c = open(os.path.join(src, "src/cli/main.c"), encoding="utf-8").read()
    dispatched = set(DISPATCH.findall(main_c))
    for first, f in SECOND_WORDS.items():
        text = open(os.path.join(src, "src/cli", f), encoding="utf-8").read()
        dispatched |= {first + " " + w for w in DISPATCH.findall(text)}
    missing = sorted(dispatched - listed)
    check("callqa --help lists every command of src/cli (%d)" % len(dispatched),
          len(dispatched) > 15 and not missing, "not listed: %s" % ", ".join(missing))

    # 3, 4. every command's page and its examples
    pages = {}
    for heading, syn, _ in rows:
        w, rest = words_of(syn)
        asks = [w]
        if rest and rest[0].startswith("--"):
            v = rest[1:2] if len(rest) > 1 and re.match(r"^[A-Z][A-Z0-9_:]*$", rest[1]) else []
            asks.append(w + [rest[0]] + v)
        for args in asks:
            if " ".join(args) in pages:
                continue
            name = "callqa %s --help" % " ".join(args)
            rc, page, err = run(cq, args + ["--help"], src)
            ex = examples(page)
            ok = rc == 0 and ex and all(e.startswith("callqa ") for e in ex)
            check("%s: exit 0 and an example" % name, ok,
                  "exit %d, examples %s %s" % (rc, ex, err.strip()[:200]))
            if rc == 0 and w[0] != "help":
                mine = [e for e in ex if e.split()[1:2] == w[:1]]
                check("%s: an example of callqa %s" % (name, w[0]), bool(mine), str(ex))
            pages[" ".join(args)] = (heading, page, ex)
    tried = set()
    for key, (_, _, ex) in pages.items():
        for e in ex:
            if e in tried:
                continue
            tried.add(e)
            argv = e.split(">")[0].split()[1:]
            for i, a in enumerate(argv[:-1]):  # a settings file this machine lacks: an empty one
                if a == "--config" and not os.path.exists(os.path.join(src, argv[i + 1])):
                    argv[i + 1] = os.devnull
            rc, _, err = run(cq, argv + ["--help"], src)
            check("example parses: callqa %s --help" % " ".join(argv), rc == 0, "exit %d: %s" % (rc, err.strip()[:300]))
            files = [a for a in argv if "/" in a and not a.startswith("-")]
            if files and all(a.startswith("samples/") and os.path.exists(os.path.join(src, a))
                             for a in files) and ">" not in e and "://" not in e:
                rc, _, err = run(cq, argv, src)
                check("example runs: %s" % e, rc == 0, "exit %d: %s" % (rc, err.strip()[:300]))

    # 5. the man page
    if not os.path.exists(man):
        print("ok %d - man callqa # SKIP %s is not built here" % (n + 1, man))
        return
    text = unroff(gzip.open(man, "rt", encoding="utf-8").read())
    flat = re.sub(r"\s+", " ", text)
    absent = [s for _, s, _ in rows if s not in flat]
    check("man callqa holds every command line of callqa --help", not absent,
          "missing: %s" % absent)
    sections = {}
    current = None
    for line in text.splitlines():
        if line.startswith(".SH "):
            current = line[4:].strip().strip('"')
        elif line.startswith(".SS "):
            for t in line[4:].split(", "):
                sections[t.strip()] = current
    for heading, syn, _ in rows:
        w, rest = words_of(syn)
        if w == ["help"]:
            continue  # callqa --help itself: the page's synopsis and description
        title = "callqa " + " ".join(w)
        if rest and "%s %s" % (title, rest[0]) in sections:  # analyze --pcap: a page of its own
            title += " " + rest[0]
        where = sections.get(title)
        check("man callqa: a section %s under %s" % (title, heading.upper()),
              where == heading.upper(), "found under %s" % where)


if __name__ == "__main__":
    main()
    print("1..%d" % n)
    sys.exit(1 if failed else 0)
