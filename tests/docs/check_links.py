#!/usr/bin/env python3
"""check_links.py - the documentation's links lead somewhere.

    check_links.py ROOT             exit 0, or 1 naming each broken link and each long page
    check_links.py ROOT --lines N   pages of docs/ (subfolders included) of at most N lines only

Every relative markdown link of README.md, BENCHMARKS.md and docs/**/*.md ([text](path),
[text](path#anchor), [text](#anchor), [label]: path) names a file or folder that exists, and
every #anchor into a markdown page names one of that page's headings, as GitHub makes a
heading's anchor: its text as rendered (no backticks, emphasis or link targets), lower case,
every character that is not a letter, a digit, a space, a hyphen or an underscore dropped,
spaces made hyphens; the second heading of the same anchor gets -1, the third -2. An explicit
<a name="x"> or id="x" is an anchor too. Links in fenced code blocks and in `code` are not links.
With --lines N, every page of docs/ (subfolders included) has at most N lines.
"""
import os
import re
import sys
import unicodedata

LINK = re.compile(r'!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')
REFDEF = re.compile(r'^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$')
HEADING = re.compile(r'^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$')
HTML_ANCHOR = re.compile(r'<a\s+[^>]*(?:name|id)\s*=\s*"([^"]+)"|\bid\s*=\s*"([^"]+)"')


def strip_code_spans(line):
    return re.sub(r'(`+)(.+?)\1', lambda m: ' ' * len(m.group(0)), line)


def lines_outside_fences(text):
    """(line number, line) of every line outside fenced code blocks."""
    fence = None
    for n, line in enumerate(text.split("\n"), 1):
        m = re.match(r'^\s{0,3}(`{3,}|~{3,})', line)
        if m:
            mark = m.group(1)
            if fence is None:
                fence = mark
                continue
            if mark[0] == fence[0] and len(mark) >= len(fence):
                fence = None
                continue
        if fence is None:
            yield n, line


def slug(heading):
    """GitHub's anchor for a heading's source text."""
    t = heading
    t = re.sub(r'!?\[([^\]]*)\]\([^)]*\)', r'\1', t)          # links: their text
    t = re.sub(r'<[^>]+>', '', t)                               # inline HTML
    t = t.replace('`', '')
    t = re.sub(r'(\*\*|__|\*|~~)', '', t)                        # emphasis (not _ inside words)
    t = re.sub(r'(^|\s)_+|_+(\s|$)', r'\1\2', t)
    t = t.strip().lower()
    out = []
    for ch in t:
        cat = unicodedata.category(ch)
        if ch in ' -_' or cat[0] in 'LN' or cat == 'Mn':
            out.append(ch)
    return ''.join(out).replace(' ', '-')


_anchor_cache = {}


def anchors(path):
    if path in _anchor_cache:
        return _anchor_cache[path]
    found, seen = set(), {}
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for _, line in lines_outside_fences(text):
        m = HEADING.match(line)
        if m:
            s = slug(m.group(2))
            if s in seen:
                seen[s] += 1
                found.add("%s-%d" % (s, seen[s]))
            else:
                seen[s] = 0
                found.add(s)
        for a in HTML_ANCHOR.finditer(line):
            found.add(a.group(1) or a.group(2))
    _anchor_cache[path] = found
    return found


def pages(root):
    out = [os.path.join(root, p) for p in ("README.md", "BENCHMARKS.md")
           if os.path.isfile(os.path.join(root, p))]
    for d, _, files in os.walk(os.path.join(root, "docs")):
        out += [os.path.join(d, f) for f in sorted(files) if f.endswith(".md")]
    return sorted(out)


def check_page(root, page):
    bad = []
    with open(page, encoding="utf-8") as f:
        text = f.read()
    rel = os.path.relpath(page, root)
    for n, line in lines_outside_fences(text):
        line = strip_code_spans(line)
        targets = [m.group(1) for m in LINK.finditer(line)]
        m = REFDEF.match(line)
        if m:
            targets.append(m.group(1))
        for t in targets:
            if re.match(r'^[a-zA-Z][a-zA-Z0-9+.-]*:', t) or t.startswith("//"):
                continue                                          # http:, mailto: ...
            path, _, frag = t.partition("#")
            target = page if path == "" else os.path.normpath(
                os.path.join(os.path.dirname(page), path.split("?")[0]))
            if not os.path.exists(target):
                bad.append("%s:%d: %s: no such file" % (rel, n, t))
                continue
            if frag and target.endswith(".md") and os.path.isfile(target):
                if frag not in anchors(target) and frag.lower() not in anchors(target):
                    bad.append("%s:%d: %s: no heading #%s in %s" % (
                        rel, n, t, frag, os.path.relpath(target, root)))
    return bad


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        return 2
    root = args[0]
    if len(args) >= 3 and args[1] == "--lines":
        limit = int(args[2])
        bad = []
        for d, _, files in os.walk(os.path.join(root, "docs")):
            for f in sorted(files):
                if f.endswith(".md"):
                    p = os.path.join(d, f)
                    with open(p, encoding="utf-8") as fh:
                        n = len(fh.read().splitlines())
                    if n > limit:
                        bad.append("%s: %d lines, over %d" % (os.path.relpath(p, root), n, limit))
        for b in bad:
            print(b)
        print("%s: every page of docs/ at most %d lines" % ("FAIL" if bad else "ok", limit))
        return 1 if bad else 0
    bad, n = [], 0
    for p in pages(root):
        n += 1
        bad += check_page(root, p)
    for b in bad:
        print(b)
    print("%s: the links of %d pages (%d broken)" % ("FAIL" if bad else "ok", n, len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
