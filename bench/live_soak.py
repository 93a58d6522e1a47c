#!/usr/bin/env python3
"""live_soak.py - live calls and cached requests on one machine for a long while: `callqa live`
holding CALLS AudioSocket calls with the hold decisions and the probe (`--live hold --probe
default`), and `callqa serve` answering a cached `GET /analyze` RATE times a second beside it.

    bench/live_soak.py BUILD_DIR SHARED_DIR [SECONDS] [CALLS] [RATE] [CALL_SECONDS]
    (defaults: 1800 s, 1000 calls, 500 requests a second, calls of 180 s)

The calls: bench/live_load (one sender thread, 20 ms slin frames at real-time pace) streams a
hold-slayer sequence of the corpus (tests/live/mkseq.py --set dev --n 1 --seed 11 --probe:
ringback, IVR, hold music with announcements, a person), each call from its own offset, wrapping
round; each call lasts CALL_SECONDS, then hangs up and another takes its place at once, so that
CALLS calls are up at every moment for SECONDS (at 1000 calls of 3 minutes for 30 minutes: 10,000
calls, each call's memory taken and given back); the server's probes go back into the calls. The requests: 4 client threads
on kept-alive connections, each sending on a fixed schedule (RATE / 4 a second), the latency of
each request measured from the moment it was due (a slow answer delays the next ones, and that
delay is counted: no coordinated omission).

Every 10 s: each server's resident memory (VmRSS) and CPU time, and the whole machine's CPU
(/proc/stat). Printed per 5 minutes, and checked at the end:
  - memory: the resident memory of each server in the last 5 minutes against minutes 5-10 (after
    the warm-up): growth, in MiB, at most 16 MiB or 5 % (checked in runs of 15 minutes or more);
  - audio: the live server's audio_dropped_samples (a call's queue full) and the sender's blocked
    sends (the server not reading) are 0;
  - events: every event the live server counted is a line of its events file (events_dropped 0,
    and the lines counted), every call has its call_end, every call connected;
  - requests: every request answered 200, the answers byte-identical to the first.
Exits 1 when a check fails. Writes the table to stdout.
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from proclib import rss_kb

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
SHARED = sys.argv[2] if len(sys.argv) > 2 else "../shared"
SECS = int(sys.argv[3]) if len(sys.argv) > 3 else 1800
CALLS = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
RATE = int(sys.argv[5]) if len(sys.argv) > 5 else 500
CALL_SECS = int(sys.argv[6]) if len(sys.argv) > 6 else 180
CQ = os.path.join(BUILD, "callqa")
LOAD = os.path.join(BUILD, "bench", "live_load")
CLIENTS = 4


def proc_cpu_sec(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            v = f.read().rsplit(")", 1)[1].split()
        return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return None


def machine_cpu():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def free_port():
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


def wait_port(port):
    for _ in range(400):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("nothing listens on port %d" % port)


def q(v, p):
    return v[min(len(v) - 1, int(p * len(v)))] if v else float("nan")


def main():
    # a TERM ends the run through the cleanup below (the servers and the sender stopped)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    t = tempfile.mkdtemp(prefix="cq-live-soak.")
    procs = []

    def start(args, **kw):
        p = subprocess.Popen(args, **kw)
        procs.append(p)
        return p

    try:
        return run(t, start)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def run(t, start):
    env = dict(os.environ, CALLQA_MODEL_DIR=os.environ.get("CALLQA_MODEL_DIR",
                                                           os.path.join(SHARED, "models")))
    subprocess.run(["/usr/bin/python3", "tests/live/mkseq.py", "--set", "dev", "--n", "1", "--seed",
                    "11", "--probe", "--corpus", os.path.join(SHARED, "corpus"), "--out",
                    t + "/seq"], check=True, stdout=subprocess.DEVNULL)
    seq = t + "/seq/hold_dev_000.wav"

    # the service: a recording server, the call analysed once into the store
    www = t + "/www/RECORDINGS/ORIG"
    os.makedirs(www)
    call = os.path.join(SHARED, "corpus", "calls", "call01_normal.wav")
    for leg, ch in (("in", "1"), ("out", "2")):
        subprocess.run(["sox", call, "-b", "16", "-e", "signed", "%s/c1-%s.wav" % (www, leg),
                        "remix", ch], check=True)
    web_port, sport = free_port(), free_port()
    start(["python3", "-m", "http.server", str(web_port), "--bind", "127.0.0.1"], cwd=t + "/www",
          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(web_port)
    slog = open(t + "/serve.log", "w")
    serve_pid = start([CQ, "serve", "--listen", "127.0.0.1:%d" % sport, "--no-auth", "--db", t + "/db",
           "--freshness-sec", "86400", "--recording-server",
           "uk=http://127.0.0.1:%d/RECORDINGS" % web_port], env=env, stderr=slog).pid
    wait_port(sport)
    path = "/analyze?server=uk&file=c1-all.wav"
    c = http.client.HTTPConnection("127.0.0.1", sport, timeout=120)
    c.request("GET", path)
    r = c.getresponse()
    want = r.read()
    if r.status != 200:
        raise SystemExit("the first /analyze: HTTP %d %s" % (r.status, want[:300]))

    # the live server and the calls
    lerr = open(t + "/live.err", "w")
    # room for the calls that come and go: a call's place is given back when its analysis has
    # finished, a moment after its hangup, while the next call has already connected
    live = start([CQ, "live", "--audiosocket", "127.0.0.1:0", "--max-calls",
                  str(CALLS + CALLS // 10 + 16),
                  "--stats-sec", "60", "--events", t + "/ev", "--live", "hold", "--probe",
                  "default"], env=env, stderr=lerr)
    lport = None
    for _ in range(200):
        time.sleep(0.05)
        for line in open(t + "/live.err"):
            if " port " in line:
                lport = int(line.split(" port ")[1].split()[0].strip(",;:)"))
        if lport:
            break
    if not lport:
        raise SystemExit("callqa live did not say its port")
    sender = start([LOAD, "--port", str(lport), "--calls", str(CALLS), "--secs", str(SECS),
                    "--file", seq, "--channel", "1", "--starts", t + "/starts", "--call-secs",
                    str(CALL_SECS)],
                   stdout=subprocess.PIPE, text=True)

    # the requests, on a fixed schedule
    stop = threading.Event()
    lat = [[] for _ in range(CLIENTS)]  # (due time, latency s, ok)
    t0 = time.monotonic() + 0.5

    def client(k):
        cn = http.client.HTTPConnection("127.0.0.1", sport, timeout=30)
        i = 0
        while not stop.is_set():
            due = t0 + (i * CLIENTS + k) / RATE
            i += 1
            d = due - time.monotonic()
            if d > 0:
                time.sleep(d)
            ok = False
            try:
                cn.request("GET", path)
                r = cn.getresponse()
                body = r.read()
                ok = r.status == 200 and body == want
            except (OSError, http.client.HTTPException):
                cn.close()
                cn = http.client.HTTPConnection("127.0.0.1", sport, timeout=30)
            lat[k].append((due - t0, time.monotonic() - due, ok))

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(CLIENTS)]
    for th in threads:
        th.start()

    samples = []  # (t, live rss, serve rss, live cpu, serve cpu, machine busy, machine total)
    while sender.poll() is None:
        m = machine_cpu()
        samples.append((time.monotonic() - t0, rss_kb(live.pid), rss_kb(serve_pid),
                        proc_cpu_sec(live.pid), proc_cpu_sec(serve_pid), m[0], m[1]))
        for _ in range(100):
            if sender.poll() is not None:
                break
            time.sleep(0.1)
    stop.set()
    for th in threads:
        th.join()
    sent = sender.stdout.read().strip()
    time.sleep(1)
    live.terminate()
    live.wait(timeout=120)

    final = None
    nev, ends, stats = 0, [], []
    for line in open(t + "/ev"):
        e = json.loads(line)
        if e.get("type") == "stats":
            stats.append(e)
            if e.get("final"):
                final = e
            continue
        nev += 1
        if e.get("type") == "call_end":
            ends.append(e.get("call"))

    # per 5 minutes
    made = int(sent.split(" calls_made ")[1].split()[0]) if " calls_made " in sent else -1
    print("%d live calls at a time (--live hold --probe default), each %d s, for %d s: %d calls; "
          "%d cached GET /analyze a second beside them; %d CPUs" % (
              CALLS, CALL_SECS, SECS, made, RATE, os.cpu_count()))
    print()
    print("| minutes | live RSS (MiB) | serve RSS (MiB) | live CPU (cores) | serve CPU (cores) | "
          "machine busy (cores) | requests/s | request p50 / p99 / max (ms) | failed | "
          "frame wait p99 so far (ms) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    allreq = sorted((x for v in lat for x in v), key=lambda x: x[0])
    step = 300
    for a in range(0, SECS, step):
        b = a + step
        win = [s for s in samples if a <= s[0] < b]
        if len(win) < 2:
            continue
        f, g = win[0], win[-1]
        dt = g[0] - f[0]
        req = [x for x in allreq if a <= x[0] < b]
        ls = sorted(x[1] * 1e3 for x in req)
        st = [s for s in stats if not s.get("final")]
        wp = st[min(len(st) - 1, b // 60 - 1)]["wait_ms"]["p99"] if st else "-"
        print("| %d-%d | %.0f | %.0f | %.2f | %.2f | %.2f | %.0f | %.2f / %.2f / %.1f | %d | %s |" % (
            a // 60, b // 60, g[1] / 1024, g[2] / 1024, (g[3] - f[3]) / dt, (g[4] - f[4]) / dt,
            (g[5] - f[5]) / (g[6] - f[6]) * os.cpu_count(), len(req) / (min(b, SECS) - a), q(ls, 0.5),
            q(ls, 0.99), ls[-1] if ls else float("nan"), sum(1 for x in req if not x[2]), wp))

    fails = []
    # after the warm-up (in a run under 15 minutes, the first quarter: not checked)
    warm = [s for s in samples if 300 <= s[0] < 600] or samples[: max(1, len(samples) // 4)]
    last = [s for s in samples if s[0] >= samples[-1][0] - 300]
    for name, k in (("live", 1), ("serve", 2)):
        w = sum(s[k] for s in warm) / len(warm) / 1024
        l = sum(s[k] for s in last) / len(last) / 1024
        print("%s server's resident memory: minutes 5-10 %.1f MiB, last 5 minutes %.1f MiB: %+.1f MiB"
              % (name, w, l, l - w))
        if SECS >= 900 and l - w > max(16.0, 0.05 * w):
            fails.append("%s server's memory grew %.1f MiB" % (name, l - w))
    print("sender: %s" % sent)
    print("live server's final stats: %s" % json.dumps(final))
    ls = sorted(x[1] * 1e3 for x in allreq)
    nfail = sum(1 for x in allreq if not x[2])
    print("requests: %d in all, p50 %.2f ms, p99 %.2f ms, max %.1f ms, %d failed" % (
        len(allreq), q(ls, 0.5), q(ls, 0.99), ls[-1] if ls else float("nan"), nfail))
    print("events: %d lines, the server counted %d; %d calls ended of %d made" % (
        nev, final["events"] if final else -1, len(ends), made))
    if not final:
        fails.append("no final stats line")
    else:
        if final["audio_dropped_samples"]:
            fails.append("audio dropped: %d samples" % final["audio_dropped_samples"])
        if final["events_dropped"]:
            fails.append("events dropped: %d" % final["events_dropped"])
        # the server's count: every line it queued before the final stats line (the earlier
        # stats lines too)
        if final["events"] != nev + len(stats) - 1:
            fails.append("events counted %d, lines %d" % (final["events"], nev))
    if " blocked 0 " not in " %s " % sent or " connected %d " % CALLS not in " %s " % sent or \
            " failed 0 " not in " %s " % sent:
        fails.append("sender: %s" % sent)
    if len(ends) != made or len(set(ends)) != made or (final and final["calls"] != made):
        fails.append("%d calls ended (%d distinct), %s accepted, of %d made" % (
            len(ends), len(set(ends)), final["calls"] if final else "?", made))
    if final and final["refused_full"]:
        fails.append("%d calls refused (the server full)" % final["refused_full"])
    if nfail:
        fails.append("%d requests failed" % nfail)
    print("result: %s" % ("pass" if not fails else "FAIL: " + "; ".join(fails)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
