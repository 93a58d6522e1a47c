#!/usr/bin/env python3
"""check_includes.py - the floors of src/ (docs/ARCHITECTURE.md) held against the code.

    check_includes.py SRC_ROOT [BUILD_DIR]

Each folder of src/ is a room on a floor. A file may include the headers of its own room, of
rooms on lower floors, and the library's public headers (include/callqa/: the report and the
engine's API, the one contract every room may read). It never includes a header of a room on
its own floor or above, and nothing outside src/service/ includes a service header except the
service's two entry points (src/cli/serve_cmd.c, src/cli/service_main.c).

The service speaks HTTP: a call's analysis is the pipeline's (src/pipeline/pl_service.h, the
pipeline's header for the service's routes), and so is the way to a call as it happens (the live
room's follower, lv_follow_*, whose header the service reads through pl_service.h: no file of
src/service/ includes src/live/'s header by a line of its own). No file of src/service/ calls
cq_engine_* or proc_*. No file of src/service/ includes a header of the engine's rooms (the callqa
library's: base, audio, dsp, nn, call, stages, engine) or of src/proc, nor of the library's
public headers any but the status, base and clock ones (cq_status.h, cq_base.h: codes, their
names, the version; cq_clock.h, every room's one clock); and no object of it reads any of those
even through another header: not the engine's API (cq_engine.h, the umbrella callqa.h), not the
report (cq_report.h and what it is made of). A room's header that the service includes names
the report without reading it.

Two readings: the #include lines of every source and header, and, with BUILD_DIR, the
compiler's dependency files (gcc -MD, CMake's *.o.d), which list every header an object read,
so that an include through another header is caught too. Prints each violation; exit 1 if any.
"""
import os
import re
import sys

# floor of each room (folder under src/); rooms on one floor never include each other
FLOORS = {
    "base": 0, "config": 0, "store": 0, "proc": 0, "schema": 0, "access": 0,
    "audio": 1, "dsp": 1,
    "nn": 2, "call": 2,
    "stages": 3,
    "engine": 4,
    "transcript": 5,
    "net": 5,
    "media": 5,
    "scoring": 6, "clients": 6, "fleet": 6,
    "ask": 7, "privacy": 7,
    "ingest": 8, "live": 8,
    "pipeline": 9,
    "service": 10,
    "cli": 11,
}
SERVICE_ENTRY = {"src/cli/serve_cmd.c", "src/cli/service_main.c"}
# what src/service/ never reads, by a line or through another header: the engine's rooms and
# src/proc, and of include/callqa/ all but these three
SERVICE_NEVER = {"base", "audio", "dsp", "nn", "call", "stages", "engine", "proc", "jobs"}
SERVICE_PUBLIC = {"include/callqa/cq_status.h", "include/callqa/cq_base.h",
                  "include/callqa/cq_clock.h"}
# rooms the service reads through the pipeline's header only (never by a line of its own), and
# the functions of the engine and src/proc it never calls (a call's analysis and its children
# are the pipeline's: pl_*)
SERVICE_NOT_DIRECT = {"live"}
SERVICE_NEVER_CALLS = re.compile(r"\b((?:cq_engine|proc)_\w+)\s*\(")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def room_of(rel):
    """The room of a path relative to the root (src/ROOM/...), 'public' for include/callqa,
    or None."""
    parts = rel.split("/")
    if len(parts) >= 3 and parts[0] == "src":
        return parts[1]
    if rel.startswith("include/callqa/"):
        return "public"
    return None


def service_allowed(src_rel, dst_rel, direct):
    """None when a file of src/service/ may read dst_rel (direct: by its own #include line),
    else why not."""
    if room_of(src_rel) != "service":
        return None
    b = room_of(dst_rel)
    if b in SERVICE_NEVER:
        return "the service includes no header of the engine or of src/proc (a call's analysis " \
            "is src/pipeline/pl_service.h's)"
    if b in SERVICE_NOT_DIRECT and direct:
        return "the service includes no header of src/%s (it reads the live room's follower " \
            "through src/pipeline/pl_service.h)" % b
    if b == "public" and dst_rel not in SERVICE_PUBLIC:
        return "the service reads no header of the engine (of include/callqa/ only %s; a " \
            "call's analysis is src/pipeline/pl_service.h's, which names the report without " \
            "reading it)" % ", ".join(os.path.basename(x) for x in sorted(SERVICE_PUBLIC))
    return None


def allowed(src_rel, dst_rel, direct=True):
    """None when src_rel may include dst_rel (direct: by its own #include line; else read
    through another header), else why not."""
    why = service_allowed(src_rel, dst_rel, direct)
    if why:
        return why
    a, b = room_of(src_rel), room_of(dst_rel)
    if b is None or b == "public" or a == b:
        return None
    if a not in FLOORS:
        return "%s is in no room of the floors (add its folder to FLOORS)" % src_rel
    if b not in FLOORS:
        return "%s is in no room of the floors (add its folder to FLOORS)" % dst_rel
    if b == "service" and src_rel not in SERVICE_ENTRY:
        return "a service header outside src/service/ (only %s may)" % ", ".join(
            sorted(SERVICE_ENTRY))
    if FLOORS[b] > FLOORS[a]:
        return "reaches up: %s (floor %d) -> %s (floor %d)" % (a, FLOORS[a], b, FLOORS[b])
    if FLOORS[b] == FLOORS[a]:
        return "a room of the same floor: %s -> %s (floor %d)" % (a, b, FLOORS[a])
    return None


def sources(root):
    for top in ("src", "include"):
        for d, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                if f.endswith((".c", ".h")):
                    yield os.path.join(d, f)


def by_lines(root):
    bad = []
    n = 0
    for path in sources(root):
        rel = os.path.relpath(path, root)
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        if room_of(rel) == "service":
            for m in SERVICE_NEVER_CALLS.finditer(re.sub(r"/\*.*?\*/|//[^\n]*", "", text,
                                                         flags=re.S)):
                bad.append("%s: calls %s: the service calls no function of the engine or "
                           "src/proc (the pipeline's pl_* are its API)" %
                           (rel, m.group(1)))
        for inc in INCLUDE_RE.findall(text):
            n += 1
            cand = os.path.normpath(os.path.join(os.path.dirname(path), inc))
            if not os.path.exists(cand):
                cand = os.path.normpath(os.path.join(root, "include", inc))
            if not os.path.exists(cand):
                continue  # a generated file or a system header in quotes
            why = allowed(rel, os.path.relpath(cand, root))
            if why:
                bad.append("%s: #include \"%s\": %s" % (rel, inc, why))
    return bad, n


def current(d, obj, targets=None):
    """Whether the build still makes this object: CMake's target folder (T.dir) is one of the
    build's targets (targets: CMakeFiles/TargetDirectories.txt's, when there is one) and names
    it in its build.make (a depfile left by a target that no longer has the source, or by a
    target that is gone, is not read)."""
    t = d
    while t and not t.endswith(".dir"):
        t = os.path.dirname(t)
    if targets is not None and t and os.path.realpath(t) not in targets:
        return False
    bm = os.path.join(t, "build.make")
    if not t or not os.path.exists(bm):
        return True  # another generator: every depfile counts
    rel = os.path.relpath(os.path.join(d, obj), os.path.dirname(os.path.dirname(t)))
    with open(bm, encoding="utf-8", errors="replace") as fh:
        return rel in fh.read()


def by_depfiles(root, build):
    bad = []
    n = 0
    root = os.path.realpath(root)
    targets = None
    listed = os.path.join(build, "CMakeFiles", "TargetDirectories.txt")
    if os.path.exists(listed):
        with open(listed, encoding="utf-8", errors="replace") as fh:
            targets = {os.path.realpath(x.strip()) for x in fh if x.strip()}
    for d, _, files in os.walk(build):
        for f in files:
            if not f.endswith(".o.d"):
                continue
            if not current(d, f[:-2], targets):
                continue  # an object of a target that no longer builds it
            with open(os.path.join(d, f), encoding="utf-8", errors="replace") as fh:
                deps = fh.read().replace("\\\n", " ").split()
            deps = [x for x in deps[1:] if not x.endswith(":")]
            # a relative path (ccache with CCACHE_BASEDIR writes them) is from the folder the
            # compiler ran in: the one above the target's CMakeFiles/
            cwd = d
            while cwd and not cwd.endswith(".dir"):
                cwd = os.path.dirname(cwd)
            cwd = os.path.dirname(os.path.dirname(cwd)) if cwd else os.getcwd()
            paths = [os.path.realpath(os.path.join(cwd, x)) for x in deps]
            if not paths or not paths[0].startswith(root + "/src/"):
                continue  # tests, fuzzers, generated sources
            src_rel = os.path.relpath(paths[0], root)
            n += 1
            for p in paths[1:]:
                if not p.startswith(root + "/"):
                    continue
                why = allowed(src_rel, os.path.relpath(p, root), direct=False)
                if why:
                    bad.append("%s (object %s) reads %s: %s" % (
                        src_rel, f[:-2], os.path.relpath(p, root), why))
    return sorted(set(bad)), n


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__.strip().split("\n")[2].strip())
        return 2
    root = sys.argv[1]
    bad, n = by_lines(root)
    print("include lines: %d read, %d against the floors" % (n, len(bad)))
    if len(sys.argv) == 3:
        dbad, dn = by_depfiles(root, sys.argv[2])
        print("dependency files: %d objects of src/, %d against the floors" % (dn, len(dbad)))
        if dn == 0:
            print("no dependency file of src/ under %s (build first)" % sys.argv[2])
            return 1
        bad += dbad
    for b in bad:
        print("  " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
