#!/usr/bin/env python3
"""soak.py - `callqa serve` under normal traffic with the red team's attacks interleaved, for a
while (10 minutes by default), bounded: the service's RSS and the normal requests' p99 latency
in the first and the last minute, and every normal request that did not succeed.

    bench/soak.py BUILD/callqa CORPUS_DIR [SECONDS]

Normal traffic: 4 clients in a loop over GET /health, /api/qa/calls, /api/qa/call/{id}, a Range
of a call's audio, with the bearer token. Attacks, one a second in turn, each bounded: 60
half-sent headers from another address (cut by the guard), a FIFO in place of a recording, a
DNS-rebinding Host, a multipart body with 200 duplicate parts, 5 wrong tokens from another
address, a smuggling attempt (two Content-Length headers), a transcript over the limit, and a
recording replaced by a symbolic link.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "redteam"))
import rtlib  # noqa: E402  the red team's service and request helpers (rtlib.CQ, rtlib.CORPUS)
from proclib import rss_kb  # noqa: E402


def p99(v):
    v = sorted(v)
    return v[min(len(v) - 1, int(0.99 * len(v)))] if v else float("nan")


def main(argv):
    rtlib.CQ, rtlib.CORPUS = argv[1], argv[2]
    seconds = float(argv[3]) if len(argv) > 3 else 600
    root = tempfile.mkdtemp(prefix="callqa-soak-")
    svc = rtlib.Service(os.path.join(root, "svc"), token="soak-" + "t" * 40,
                          env={"CALLQA_MAX_TRANSCRIPT_MB": "1"})
    wav = os.path.join(argv[2], "calls", "call01_normal.wav")
    for i in range(6):
        assert svc.upload("S%d" % i, wav)[0] == 201
    up = os.path.join(svc.root, "uploads", "upload")
    stop = time.time() + seconds
    lat = []  # (t, seconds, ok)
    lock = threading.Lock()

    def client(k):
        paths = ["/health", "/api/qa/calls?limit=20", "/api/qa/call/S%d" % (k % 3),
                 "/api/qa/call/S%d/audio" % (k % 3)]
        i = 0
        while time.time() < stop:
            p = paths[i % len(paths)]
            i += 1
            t0 = time.time()
            try:
                h = {"Range": "bytes=0-65535"} if p.endswith("audio") else None
                s, _, _ = svc.request("GET", p, headers=h, timeout=10)
                ok = s in (200, 206)
            except OSError:
                ok = False
            with lock:
                lat.append((t0, time.time() - t0, ok, p))

    def attack(n):
        k = n % 8
        if k == 0:
            socks = []
            for _ in range(60):
                try:
                    s = socket.create_connection(("127.0.0.1", svc.port), timeout=2,
                                                 source_address=("127.0.0.9", 0))
                    s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                    socks.append(s)
                except OSError:
                    break
            time.sleep(0.5)
            for s in socks:
                s.close()
        elif k == 1:
            f = os.path.join(up, "S5.rec")
            if not os.path.exists(f) or not os.path.isfile(f):
                pass
            else:
                os.unlink(f)
                os.mkfifo(f)
            svc.request("GET", "/api/qa/call/S5/audio", timeout=5)
            os.unlink(f)
            shutil.copy(wav, f)
        elif k == 2:
            svc.request("DELETE", "/cache", headers={"Host": "evil.example:%d" % svc.port,
                                                     "Origin": "http://evil.example"})
        elif k == 3:
            body, ct = rtlib.multipart([("audio", "a.wav", "audio/wav", b"RIFF")] * 200)
            svc.request("POST", "/api/qa/calls", body, {"Content-Type": ct}, timeout=10)
        elif k == 4:
            for i in range(5):
                svc.request("GET", "/api/qa/calls", headers={"Authorization": "Bearer x%d" % i},
                            source="127.0.0.%d" % (10 + n % 200))
        elif k == 5:
            h = "Host: 127.0.0.1:%d\r\n" % svc.port
            rtlib.raw(svc, ("GET /health HTTP/1.1\r\n" + h + "Content-Length: 5\r\n"
                              "Content-Length: 9\r\n\r\nabcdeGET / HTTP/1.1\r\n\r\n").encode(), 1)
        elif k == 6:
            big = json.dumps({"segments": [{"speaker": "agent", "start": i, "end": i + 1,
                                             "text": "x" * 100} for i in range(15000)]}).encode()
            svc.request("POST", "/api/qa/call/S4/transcript", big,
                        {"Content-Type": "application/json"}, timeout=30)
        else:
            f = os.path.join(up, "S3.rec")
            os.rename(f, f + ".keep")
            os.symlink(wav, f)
            svc.request("GET", "/api/qa/call/S3/audio", timeout=5)
            os.unlink(f)
            os.rename(f + ".keep", f)

    rss = [(time.time(), rss_kb(svc.proc.pid))]
    ts = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    [t.start() for t in ts]
    n = 0
    t_start = time.time()
    while time.time() < stop:
        a0 = time.time()
        attack(n)
        n += 1
        if len(rss) < 2 or time.time() - rss[-1][0] >= 10:
            rss.append((time.time(), rss_kb(svc.proc.pid)))
        time.sleep(max(0, 1 - (time.time() - a0)))
    [t.join() for t in ts]
    rss.append((time.time(), rss_kb(svc.proc.pid)))
    first = [d for t, d, ok, _ in lat if t - t_start < 60]
    last = [d for t, d, ok, _ in lat if stop - t < 60]
    bad = [(round(t - t_start, 1), p) for t, d, ok, p in lat if not ok]
    peak = max(r for _, r in rss if r)
    rc = svc.stop()
    print("soak: %.0f s, %d normal requests, %d attacks (8 kinds in turn)" %
          (seconds, len(lat), n))
    print("RSS: %.1f MiB at the start, %.1f MiB at the end, %.1f MiB at most" %
          (rss[1][1] / 1024, rss[-1][1] / 1024, peak / 1024))
    print("p99 of the normal requests: %.1f ms in the first minute, %.1f ms in the last "
          "(medians %.1f and %.1f ms)" % (1e3 * p99(first), 1e3 * p99(last),
                                          1e3 * sorted(first)[len(first) // 2],
                                          1e3 * sorted(last)[len(last) // 2]))
    print("normal requests that failed: %d%s" % (len(bad), (": %s" % bad[:10]) if bad else ""))
    print("the service stopped on SIGTERM with status %s" % rc)
    shutil.rmtree(root, ignore_errors=True)
    return 0 if not bad and rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
