#!/usr/bin/env python3
"""test_wal_stall.py - no request waits for a checkpoint of SQLite's write-ahead log.

`callqa serve` with every fsync made 1.5 s slower (slow_sync.so, LD_PRELOAD: a busy disk), a
small audit queue (2,048 rows) and audited requests with 240-byte targets from four kept-alive
connections, for 8 s and until the log passed 1,100 pages. At 1,000 a checkpoint used to run in
the audit writer's commit (two fsyncs: 3 s), the queue filled, requests waited for room and had
their rows dropped (the build before: the slowest request 2 s, 14 rows dropped). Now a thread of
its own checkpoints: no request waits for room (counted by the service, not timed here), no row
is dropped, and the rows are all in the store.

usage: test_wal_stall.py CALLQA SLOW_SYNC_SO
"""
import http.client
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cqport import free_port  # noqa: E402  a port below the ephemeral range

CQ, SHIM = sys.argv[1], sys.argv[2]
T = tempfile.mkdtemp(prefix="callqa-wal-stall-")
PORT = free_port()
fails = 0


def check(what, ok):
    global fails
    print(("ok - " if ok else "not ok - ") + what)
    fails += 0 if ok else 1


env = dict(os.environ, LD_PRELOAD=SHIM, SLOW_SYNC_MS="1500", CALLQA_AUDIT_QUEUE_ROWS="2048")
# a sanitizer's runtime wants to be the first library: the shim comes before it here
env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0").lstrip(":")
log = open(os.path.join(T, "serve.log"), "w")
svc = subprocess.Popen([CQ, "serve", "--listen", "127.0.0.1:%d" % PORT, "--no-auth",
                        "--db", os.path.join(T, "db")], stderr=log, env=env)
try:
    for _ in range(600):
        try:
            c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
            c.request("GET", "/health")
            c.getresponse().read()
            break
        except OSError:
            time.sleep(0.1)
    # an audited route answered at once (400: no server named), its target the query's q
    path = "/analyze?q=" + "x" * 240
    slowest, sent, stop = [0.0], [0], [False]
    wal_path = os.path.join(T, "db-wal")

    def wal():
        return os.path.getsize(wal_path) if os.path.exists(wal_path) else 0

    def client():
        c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        while not stop[0]:
            t0 = time.monotonic()
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            dt = time.monotonic() - t0
            slowest[0] = max(slowest[0], dt)
            sent[0] += 1
            assert r.status == 400, r.status

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    # 8 s, and until the log passed 1,100 pages (a slow machine), 60 s at most
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60 and (time.monotonic() - t0 < 8 or wal() <= 1100 * 4096):
        time.sleep(0.1)
    stop[0] = True
    for t in threads:
        t.join()
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    c.request("GET", "/metrics")
    m = c.getresponse().read().decode()

    def metric(name):
        v = re.search(r"^%s (\S+)$" % re.escape(name), m, re.M)
        return float(v.group(1)) if v else None

    print("# %d requests, the slowest %.3f s, the log %d bytes" % (sent[0], slowest[0], wal()))
    check("the log passed 1,000 pages (a checkpoint was due)", wal() > 1000 * 4096)
    check("no request waited for room in the audit queue",
          metric("callqa_audit_wait_seconds_total") == 0)
    check("no audit row dropped", metric('callqa_audit_rows_total{outcome="dropped"}') == 0)
    # what the test bounds is the outcome above (no request waited for room); the time only tells
    # a hang from a run on a busy machine: ten times the 1.5 s fsync a request used to wait for
    check("no request hung (the slowest under 15 s)", slowest[0] < 15.0)
    svc.send_signal(signal.SIGTERM)
    svc.wait(timeout=120)
    rows = sqlite3.connect(os.path.join(T, "db")).execute(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'analyze'").fetchone()[0]
    check("every request's row is in the store (%d of %d)" % (rows, sent[0]), rows == sent[0])
finally:
    if svc.poll() is None:
        svc.kill()
    log.close()
    if fails:
        print(open(os.path.join(T, "serve.log")).read()[-2000:])
    shutil.rmtree(T, ignore_errors=True)
print("%d passed, %d failed" % (5 - fails, fails))
sys.exit(1 if fails else 0)
