#!/usr/bin/env python3
"""test_cmd_flags.py - every command's flags come from the settings' tables (src/config/cfg_cmds.c).

    test_cmd_flags.py SRC_ROOT BUILD/callqa BUILD/tests/test_cmd_settings

1. No getopt option is declared in src/ outside src/config/cfg_cmds.c: no `struct option`, no
   getopt/getopt_long call (with its short-option string), no <getopt.h>.
2. Every flag of every command (test_cmd_settings --list) is on the command's --help page
   (`callqa COMMAND --help`, exit 0) as --FLAG, or as -L for one that has a letter.
3. docs/config.md names every flag of every command in the command's row of "Every command's
   flags" (those of a group, the analysis or the ASR client, by the group), and every flag that
   sets a setting in that setting's row (its flag cell).
4. The test hooks: every CALLQA_TEST_<NAME> that src/ names is in the hooks' table
   (test_cmd_settings --hooks) and in docs/config.md, and src/ reads none with getenv but
   through cfg_test_hook (src/config/cfg_hooks.c), save in the files listed in GETENV_LEFT.
Prints what is wrong; exit 1 if anything is.
"""
import os
import re
import subprocess
import sys

TABLE = "src/config/cfg_cmds.c"
HOOKS = "src/config/cfg_hooks.c"
# Files that still read a hook with getenv: each is a one-line change to cfg_test_hook, made
# where the file's room may call src/config (the store cannot: it stands on floor 0 beside the
# settings, and takes its commit kill point from its callers once they hand it over).
GETENV_LEFT = {"src/store/store.c"}

OPTION_RE = re.compile(r"\bstruct\s+option\b")
GETOPT_RE = re.compile(r"\bgetopt(?:_long(?:_only)?)?\s*\(")
INCLUDE_RE = re.compile(r"#\s*include\s*<getopt\.h>")
HOOK_NAME_RE = re.compile(r"CALLQA_TEST_([A-Z0-9_]+)")
HOOK_GETENV_RE = re.compile(r"getenv\s*\(\s*\"CALLQA_TEST_")

bad = []


def say(msg):
    bad.append(msg)
    print("FAIL: " + msg)


def sources(root):
    for d, _, files in os.walk(os.path.join(root, "src")):
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                p = os.path.join(d, f)
                yield os.path.relpath(p, root), open(p, encoding="utf-8", errors="replace").read()


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def main():
    if len(sys.argv) != 4:
        print(__doc__.strip().split("\n")[2].strip())
        return 2
    root, cq, lister = sys.argv[1:]
    # 1. no getopt option outside the tables
    n_files = 0
    for rel, text in sources(root):
        n_files += 1
        if rel == TABLE:
            continue
        code = strip_comments(text)
        for name, rx in (("struct option", OPTION_RE), ("a getopt call", GETOPT_RE),
                         ("<getopt.h>", INCLUDE_RE)):
            for m in rx.finditer(code):
                line = code.count("\n", 0, m.start()) + 1
                say("%s:%d: %s outside %s" % (rel, line, name, TABLE))
    table = open(os.path.join(root, TABLE), encoding="utf-8").read()
    if not GETOPT_RE.search(table) or not OPTION_RE.search(table):
        say("%s holds no getopt_long call: the check above proves nothing" % TABLE)
    print("read %d files of src/ for getopt options" % n_files)

    # 2. every flag on its command's --help page
    out = subprocess.run([lister, "--list"], capture_output=True, text=True, check=True).stdout
    flags = {}
    for line in out.splitlines():
        cmd, flag, key, letter, grouped = line.split("\t")
        flags.setdefault(cmd, []).append((flag, key, letter, grouped == "1"))
    if len(flags) < 20:
        say("only %d commands listed" % len(flags))
    for cmd, fl in flags.items():
        argv = [cq]
        for w in cmd.split():
            argv.append(w)
            if w == "--pcap":
                argv.append("CAPTURE")  # a flag with a value: the page is asked after it
        argv.append("--help")
        r = subprocess.run(argv, capture_output=True, text=True)
        if r.returncode != 0:
            say("%s: exit %d (want 0)" % (" ".join(argv[1:]), r.returncode))
            continue
        page = r.stdout
        for flag, _, letter, _ in fl:
            if flag == "help":
                continue
            long_ok = re.search(r"--%s(?![A-Za-z0-9-])" % re.escape(flag), page)
            short_ok = letter != "-" and re.search(r"(?<![A-Za-z0-9-])-%s\b" % letter, page)
            if not long_ok and not short_ok:
                say("callqa %s --help does not show --%s" % (cmd, flag))
    print("%d commands, %d flags on their pages" % (len(flags),
                                                     sum(len(v) for v in flags.values())))

    # 3. docs/config.md
    doc = open(os.path.join(root, "docs/config.md"), encoding="utf-8").read()
    rows = [l for l in doc.splitlines() if l.startswith("| `")]
    for cmd, fl in flags.items():
        row = [l for l in rows if l.split("|")[1].find("`callqa %s`" % cmd) >= 0]
        if not row:
            say("docs/config.md: no row for callqa %s in \"Every command's flags\"" % cmd)
            continue
        for flag, key, _, grouped in fl:
            if not grouped and ("`--%s`" % flag) not in row[0]:
                say("docs/config.md: the row of callqa %s does not name --%s" % (cmd, flag))
            if key == "-":
                continue
            cells = [l.split("|") for l in rows]
            srow = [c for c in cells if len(c) >= 5 and ("`%s`" % key) in c[1]]
            if not srow:
                say("docs/config.md: no row for the setting %s (callqa %s --%s)" % (key, cmd, flag))
            elif ("`--%s" % flag) not in srow[0][2]:
                say("docs/config.md: the row of %s does not name its flag --%s (callqa %s)" % (
                    key, flag, cmd))

    # 4. the test hooks
    hooks = subprocess.run([lister, "--hooks"], capture_output=True, text=True,
                           check=True).stdout.split()
    if len(hooks) < 6:
        say("only %d test hooks listed" % len(hooks))
    for h in hooks:
        if ("`CALLQA_TEST_%s`" % h) not in doc:
            say("docs/config.md does not list the test hook CALLQA_TEST_%s" % h)
    left = set()
    for rel, text in sources(root):
        code = strip_comments(text)
        for m in HOOK_NAME_RE.finditer(text):
            if m.group(1) not in hooks:
                say("%s names CALLQA_TEST_%s, which is no hook of %s" % (rel, m.group(1), HOOKS))
        if HOOK_GETENV_RE.search(code) and rel != HOOKS:
            if rel in GETENV_LEFT:
                left.add(rel)
            else:
                say("%s reads a test hook with getenv: use cfg_test_hook (config.h)" % rel)
    for rel in sorted(GETENV_LEFT - left):
        say("%s no longer reads a hook with getenv: take it out of GETENV_LEFT" % rel)
    print("%d test hooks; still read with getenv in: %s" % (len(hooks),
                                                            ", ".join(sorted(left)) or "none"))
    print("%s" % ("FAILED: %d" % len(bad) if bad else "every command's flags from the tables"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
