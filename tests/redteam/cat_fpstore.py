"""cat_fpstore.py - the file of remembered hold announcements (`callqa live --live hold
--announce-file FILE`, src/live/fpstore.c; docs/privacy/retention.md, "Remembered hold announcements"),
as a hostile or stale file on disk would meet it.

  fpstore_bound  a file of 80,000 destinations (1.45 MB; callqa writes at most 2,000): refused
                 at the first destination past the bound, before the rest is read, in well under
                 the CPU a whole read took (115 s before: the bound was applied after the whole
                 file was read, each destination found by a walk of all before it); the child
                 runs under RLIMIT_CPU, so a quadratic read is killed, not waited for
  fpstore_tmp    a stale FILE.tmp of mode 0644 left beside the file: the save still writes the
                 file 0600 (the temporary file is created anew with O_EXCL and set to 0600); an
                 expired fingerprint read from the file is what makes the save (it leaves the
                 file), and a link in FILE.tmp's place is never followed
"""
import os
import resource
import signal
import stat
import struct
import subprocess
import time

import rtlib as rt
from rtlib import check

CPU_LIMIT = 20  # s of CPU for the child: the bounded read takes well under 1 s


def fps_file(records):
    """the CQFP1 file of [(destination, learned_at, [words])]"""
    out = bytearray(b"CQFP1\n" + struct.pack("<I", len(records)))
    for dest, at, words in records:
        d = dest.encode()
        out += bytes([len(d)]) + d + struct.pack("<QH", int(at), len(words))
        out += struct.pack("<%dH" % len(words), *words)
    return bytes(out)


def live(root, fps, args=(), stop_after=None):
    """`callqa live --live hold --announce-file fps` under RLIMIT_CPU: (exit status, its stderr,
    CPU seconds); stop_after: SIGTERM once it listens (it saves the file as it stops)"""
    err = os.path.join(root, "live-%d.err" % len(os.listdir(root)))
    cmd = [rt.CQ, "live", "--audiosocket", "127.0.0.1:0", "--live", "hold", "--threads", "1",
           "--events", os.path.join(root, "events.jsonl"), "--announce-file", fps] + list(args)

    def limit():
        resource.setrlimit(resource.RLIMIT_CPU, (CPU_LIMIT, CPU_LIMIT + 1))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(err, "wb"),
                         preexec_fn=limit)
    if stop_after:
        end = time.time() + rt.HANG  # a hang guard only
        while time.time() < end and p.poll() is None:
            if "AudioSocket on" in open(err, errors="replace").read():
                break
            time.sleep(0.05)
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    try:
        p.wait(rt.HANG)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return p.returncode, open(err, errors="replace").read(), cpu


def cat_fpstore_bound(root):
    root = os.path.join(root, "fpstore_bound")
    os.makedirs(root, exist_ok=True)
    fps = os.path.join(root, "announce.fps")
    now = time.time()
    data = fps_file([("d%05d" % i, now - 60, [i & 0xffff]) for i in range(80000)])
    with open(fps, "wb") as f:
        f.write(data)
    rc, err, cpu = live(root, fps)
    check("a file of 80,000 destinations (%.2f MB): refused, the server never listens (exit 1)"
          % (len(data) / 1e6), rc == 1 and "AudioSocket on" not in err,
          "exit %s (%s), %s" % (rc, "killed at the CPU limit" if rc == -signal.SIGXCPU else "",
                                err[-400:]))
    check("  by its count of records, more than the 16,000 it ever holds, before reading them",
          "80000 records: more than the 16000 the file ever holds" in err, err[-400:])
    check("  in %.2f s of CPU (the whole read took 115 s; limit %d s)" % (cpu, CPU_LIMIT),
          rc != -signal.SIGXCPU and cpu < CPU_LIMIT, "%.2f s" % cpu)
    # the count within the bound, each record a destination of its own: the 2,001st refuses it
    data = fps_file([("d%05d" % i, now - 60, [i & 0xffff]) for i in range(16000)])
    with open(fps, "wb") as f:
        f.write(data)
    rc, err, cpu = live(root, fps)
    check("16,000 records of 16,000 destinations: refused at the first destination past the "
          "2,000 (record 2000), in %.2f s of CPU" % cpu,
          rc == 1 and "record 2000: a destination past the 2000" in err and cpu < CPU_LIMIT,
          "exit %s: %s" % (rc, err[-400:]))
    # a file past the size the bounds allow is not read at all
    with open(fps, "wb") as f:
        f.write(data[:10])
        f.truncate(20 << 20)
    rc, err, _ = live(root, fps)
    check("a file of 20 MiB (more than the bounds' 18.1 MiB): refused by its size, unread",
          rc == 1 and "limit" in err, "exit %s: %s" % (rc, err[-300:]))
    # within the bounds: taken
    with open(fps, "wb") as f:
        f.write(fps_file([("d%05d" % i, now - 60, [1, 2]) for i in range(2000)]))
    rc, err, _ = live(root, fps, stop_after=True)
    check("a file of 2,000 destinations (the bound): taken, the server listens",
          rc == 0 and "2000 announcements remembered for 2000 destinations" in err,
          "exit %s: %s" % (rc, err[-300:]))


def cat_fpstore_tmp(root):
    root = os.path.join(root, "fpstore_tmp")
    os.makedirs(root, exist_ok=True)
    fps = os.path.join(root, "announce.fps")
    now = time.time()
    with open(fps, "wb") as f:  # one fingerprint kept, one 40 days old (forgotten after 30)
        f.write(fps_file([("queue-a", now - 60, [1, 2, 3]), ("queue-b", now - 40 * 86400, [4])]))
    os.chmod(fps, 0o600)
    tmp = fps + ".tmp"
    with open(tmp, "wb") as f:
        f.write(b"stale")
    os.chmod(tmp, 0o644)
    old = os.umask(0o022)
    try:
        rc, err, _ = live(root, fps, stop_after=True)
    finally:
        os.umask(old)
    mode = stat.S_IMODE(os.stat(fps).st_mode)
    data = open(fps, "rb").read()
    # the save is seen by what it wrote: the expired fingerprint gone from the file
    check("a stale FILE.tmp of mode 0644 beside the file: the save (the expired fingerprint out "
          "of the file, the kept one in it) writes the file 0600, no FILE.tmp left",
          rc == 0 and b"queue-b" not in data and b"queue-a" in data and mode == 0o600
          and not os.path.exists(tmp),
          "exit %s, mode %o, %r, tmp left %s: %s" % (rc, mode, data[:60], os.path.exists(tmp),
                                                      err[-300:]))
    # a link in the temporary file's place: never followed, the save refused
    victim = os.path.join(root, "victim")
    with open(victim, "wb") as f:
        f.write(b"untouched")
    with open(fps, "wb") as f:
        f.write(fps_file([("queue-a", now - 60, [1, 2, 3]), ("queue-c", now - 40 * 86400, [4])]))
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(victim, tmp)
    rc, err, _ = live(root, fps, stop_after=True)
    check("a symbolic link in FILE.tmp's place: not followed, the save refused and said",
          open(victim, "rb").read() == b"untouched" and os.path.islink(tmp)
          and "announce-file" in err, "%s: %s" % (rc, err[-300:]))


CATEGORIES = [("fpstore_bound", cat_fpstore_bound), ("fpstore_tmp", cat_fpstore_tmp)]
