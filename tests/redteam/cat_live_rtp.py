"""cat_live_rtp.py - `callqa live --rtp` against datagrams of made-up SSRCs: RTP has no frame that
names a call (one call per SSRC), so an SSRC waits in a pool of its own, apart from --max-calls,
until it has shown it is a stream (5 packets in sequence, of one payload type, their timestamps
moving with their sequence numbers), for --ident-sec at most; its packets are kept meanwhile and
played into its call once it is one (docs/live/connections.md, "RTP: a stream before its call").

The real calls are sent by tests/live/live_send (RTP as ARI externalMedia sends it), found beside
the callqa under test (BUILD/tests/), and their events are compared with those of the same calls
sent to a server with nothing else on its port. The floods come from a Python process here: one
packet per SSRC, thousands of SSRCs, each packet re-sent every half second, from before the real
calls until they have ended. Each case starts its own `callqa live` on loopback. UDP has no flow
control: a datagram the kernel drops at the server's socket (a server too slow to read them, on a
loaded machine) never reaches the server, so a real call's packets are each required only when
the kernel dropped none (/proc/net/udp), and otherwise those it lacks are no more than the
kernel dropped. The memory bound is checked in a build without sanitizers only
(cat_bounds.sanitized()).
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import rtlib as rt
from rtlib import check
from cat_live import more_fds, sender
from cat_bounds import sanitized, status_kb

FLOOD = r'''
import os, random, socket, struct, sys, time
port, n, period, secs, naddr, mode, size, seed, stop, least = sys.argv[1:11]
n, period, secs, naddr, size, least = (int(n), float(period), float(secs), int(naddr), int(size),
                                       int(least))
rng = random.Random(int(seed))
socks = []  # one socket per SSRC (its own port), on naddr addresses 127.0.x.y
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a = i % naddr
    s.bind(("127.0.%d.%d" % (1 + a // 250, 1 + a % 250), 0))
    socks.append(s)
dst = ("127.0.0.1", int(port))
pay = bytes(rng.randrange(256) for _ in range(size))
ssrcs = rng.sample(range(1 << 20, 1 << 31), n)
def pkt(i):
    return struct.pack("!BBHII", 0x80, 0, rng.randrange(65536), rng.randrange(1 << 32),
                       ssrcs[i]) + pay
pkts = [pkt(i) for i in range(n)]
t0, sent, k = time.time(), 0, 0
# until told to stop (the file `stop`) with `least` datagrams sent, or `secs` (a hang's bound)
while time.time() - t0 < secs and not (sent >= least and os.path.exists(stop)):
    for i in range(n):
        if mode == "random":  # a new sequence number and timestamp each time
            pkts[i] = pkt(i)
        try:
            socks[i].sendto(pkts[i], dst)
            sent += 1
        except OSError:
            pass
        if i % 100 == 99:  # n packets a period, spread over it
            k += 100
            lag = t0 + k * period / n - time.time()
            if lag > 0:
                time.sleep(lag)
print("sent %d" % sent)
print("ssrcs " + " ".join("%08x" % x for x in ssrcs))
'''


class Flood:
    """n made-up SSRCs, one packet each (PCMU, `size` bytes of payload), every packet re-sent once
    every `period` seconds until stop() with `least` datagrams sent, each SSRC from a socket of its
    own (as a spoofer's packets come from anywhere) on `naddr` source addresses (127.0.x.y); mode
    "same" re-sends the very packet, "random" a new sequence number and timestamp each time."""

    def __init__(self, port, n, period=0.5, naddr=1, mode="same", size=160, seed=7, least=0):
        self.n = n
        self.out = tempfile.TemporaryFile(mode="w+")  # read once it has ended (never a full pipe)
        fd, self.stop_file = tempfile.mkstemp(prefix="callqa-flood-")
        os.close(fd)
        os.unlink(self.stop_file)
        self.proc = subprocess.Popen([sys.executable, "-c", FLOOD, str(port), str(n), str(period),
                                      str(5 * rt.HANG), str(naddr), mode, str(size), str(seed),
                                      self.stop_file, str(least)],
                                     stdout=self.out, text=True)

    def stop(self):
        open(self.stop_file, "w").close()

    def wait(self):
        self.stop()
        self.proc.wait(timeout=5 * rt.HANG)
        os.unlink(self.stop_file)
        self.out.seek(0)
        out = self.out.read()
        self.out.close()
        self.sent = int(out.split("sent ")[1].split()[0]) if "sent " in out else 0
        self.ssrcs = out.split("ssrcs ")[1].split() if "ssrcs " in out else []
        return self.sent


class LiveRtp:
    """`callqa live --rtp` on a free loopback UDP port."""

    def __init__(self, root, name, args=()):
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir, exist_ok=True)
        self.events = os.path.join(self.dir, "events.jsonl")
        self.err = os.path.join(self.dir, "live.err")
        # a call ends when its stream has been silent 5 s (a sender a loaded machine holds up for
        # a moment does not split its call), and audio waiting for analysis is never dropped
        # (--queue-sec 600: a slow analysis is not a loss the flood caused)
        cmd = [rt.CQ, "live", "--rtp", "127.0.0.1:0", "--threads", "1", "--stall-sec", "5",
               "--queue-sec", "600", "--stats-sec", "1", "--events", self.events] + list(args)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(self.err, "wb"))
        self.port = None

        def port():
            for line in open(self.err, errors="replace").read().splitlines():
                if line.startswith("callqa live: RTP on"):
                    self.port = int(line.split("UDP port")[1].split()[0])
            return self.port or self.proc.poll() is not None
        rt.until(port)
        if not self.port:
            raise RuntimeError("callqa live did not start: %s" % open(self.err).read()[-2000:])

    def lines(self):
        return rt.json_lines(self.events)

    def stats(self):
        st = [x for x in self.lines() if x.get("type") == "stats"]
        return st[-1] if st else {}

    def stats_until(self, pred, also=lambda: True):
        """the latest stats line once pred(it) holds (a line every second), or the last one
        when also() no longer holds or after rt.HANG s"""
        last = {}

        def ok():
            nonlocal last
            last = self.stats()
            return pred(last) or not also()
        rt.until(ok, step=0.2)
        return last

    def drops(self):
        """datagrams the kernel has dropped at the server's socket (/proc/net/udp)"""
        with open("/proc/net/udp") as f:
            for line in f.readlines()[1:]:
                x = line.split()
                if int(x[1].split(":")[1], 16) == self.port:
                    return int(x[-1])
        return 0

    def rss_kb(self):
        return status_kb(self.proc.pid, "VmRSS")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def corpus(name):
    return os.path.join(rt.CORPUS, "calls", name)


# the real calls: three streams at 8x real time, a DTMF call in PCMU (its keys at 26 s), a
# ringback call in PCMA, and a call to a number not in service (SIT tones, then the
# announcement) in L16/16000 (Asterisk's slin16)
def real():
    return [("0a0a0001", ["--file", corpus("call06_ivr_dtmf.wav"), "--secs", "30", "--codec",
                          "pcmu", "--pt", "0"]),
            ("0a0a0002", ["--file", corpus("call05_ringback_answer.wav"), "--secs", "12",
                          "--codec", "pcma", "--pt", "8"]),
            ("0a0a0003", ["--file", corpus("call11_sit_intercept.wav"), "--secs", "8", "--codec",
                          "l16", "--pt", "118"])]


def real_calls(lv, extra=()):
    """The three real calls at once (live_send); when they have ended (stalled), what each gave:
    {ssrc: (events, call_end, what live_send expects)}."""
    procs = []
    for ssrc, args in real():
        procs.append((ssrc, subprocess.Popen(
            [sender("live_send"), "--rtp", "--port", str(lv.port), "--ssrc", ssrc, "--pace", "8"] +
            args + list(extra), stdout=subprocess.PIPE, text=True)))
    outs = {ssrc: p.communicate(timeout=rt.HANG)[0] for ssrc, p in procs}
    t0 = time.time()
    res = {}
    while time.time() - t0 < rt.HANG:
        lines = lv.lines()
        res = {}
        for ssrc, _ in real():
            name = "rtp-" + ssrc
            mine = [x for x in lines if x.get("call") == name]
            ends = [x for x in mine if x.get("type") == "call_end"]
            ex = {}
            for o in outs[ssrc].splitlines():
                w = o.split()
                if w[:3] == ["expect", "ssrc", ssrc]:
                    ex = {w[i]: int(w[i + 1]) for i in range(3, len(w), 2)}
            res[ssrc] = ([(x["type"], x["state"], x["start"], x.get("end"), x.get("digits"))
                          for x in mine if "state" in x], ends, ex)
        if all(r[1] for r in res.values()):
            break
        time.sleep(0.2)
    return res


def same_events(a, b):
    return len(a) == len(b) and all(
        x[0] == y[0] and x[1] == y[1] and x[4] == y[4] and abs(x[2] - y[2]) <= 0.032 for x, y in
        zip(a, b))


# the packets a stream shows before it is a call (docs/live/connections.md, "A stream before its call"): a
# full pool may drop them with the SSRC when more than its size of newer one-packet SSRCs come
# within one packet's time (a burst, as a busy or single-core machine reads them)
SHOWN_BEFORE_CALL = 4


def compare(label, base, got, kernel=0, evictable=0):
    """Each real call of `got` is one call, ended stalled, with every packet sent, none lost, and
    the events of the same call in `base`; when the kernel dropped `kernel` datagrams at the
    server's socket meanwhile, or the pool may have dropped a stream's first `evictable`
    packets, the packets the call lacks are no more than those, and its events are not compared
    (said as a skip)."""
    for ssrc, _ in real():
        ev, ends, ex = got.get(ssrc, ([], [], {}))
        bev, bends, _ = base.get(ssrc, ([], [], {}))
        e = ends[0] if len(ends) == 1 else {}
        b = bends[0] if bends else {}
        whole = len(ends) == 1 and e.get("reason") == "stalled" and ex and \
            e.get("audio_dropped_sec") == 0
        short = (ex.get("packets") or 0) - (e.get("packets") or 0)
        if not kernel and not (evictable and whole and 0 < short <= evictable):
            check("%s: rtp-%s is one call, every packet sent in it (%s), none lost, ended stalled, "
                  "its audio as unflooded (%s s)" %
                  (label, ssrc, ex.get("packets"), b.get("audio_sec")),
                  whole and e.get("packets") == ex.get("packets") and e.get("lost") == 0 and
                  e.get("audio_sec") == b.get("audio_sec"),
                  "%d call_end lines: %s; sent %s" % (len(ends), e or None, ex))
            check("%s: rtp-%s's %d events equal the unflooded run's" % (label, ssrc, len(bev)),
                  bev and same_events(ev, bev), "\n  got  %s\n  base %s" % (ev, bev))
            continue
        why = ["the %d datagrams the kernel dropped at the server's socket (a machine too slow "
               "to read them)" % kernel] if kernel else []
        if evictable:
            why.append("the first %d a full pool may drop before the stream showed itself"
                       % evictable)
        check("%s: rtp-%s is one call, ended stalled, the %d packets it lacks (%s lost) no more "
              "than %s" % (label, ssrc, short, e.get("lost"), " and ".join(why)),
              whole and 0 <= short <= kernel + evictable and (e.get("lost") or 0) <= kernel,
              "%d call_end lines: %s; sent %s" % (len(ends), e or None, ex))
        check("%s: rtp-%s's events equal the unflooded run's # SKIP %s" % (
            label, ssrc, "the kernel dropped %d datagrams at the server's socket" % kernel
            if kernel else "the pool dropped its first %d packets" % short), True)


def flood_calls(lines, ssrcs):
    names = {"rtp-" + s for s in ssrcs}
    return len({x.get("call") for x in lines if x.get("call") in names})


def cat_live_rtp(root):
    if not check("the RTP sender is built (live_send)", os.path.exists(sender("live_send")),
                 sender("live_send")):
        return
    more_fds()
    # the real calls alone: what they give
    lv = LiveRtp(root, "rtp_base")
    try:
        base = real_calls(lv)
    finally:
        lv.stop()
    check("live rtp: the three real calls alone: each one call with events",
          all(len(r[1]) == 1 and r[0] for r in base.values()), str(base)[:600])

    # 5,000 one-packet SSRCs, each re-sent every 0.5 s, from one address (a port each), with the
    # defaults (--max-calls 64): they used to take every place, for as long as they were re-sent
    lv = LiveRtp(root, "rtp_flood")
    try:
        d0 = lv.drops()
        fl = Flood(lv.port, 5000, least=50001)
        mid = lv.stats_until(lambda st: st.get("rtp_unidentified", 0) >= 1000,
                             lambda: fl.proc.poll() is None)
        got = real_calls(lv)
        fl.wait()
        kernel = lv.drops() - d0
        st = lv.stats_until(lambda st: st.get("rtp_unidentified_timeout", 0) >= 5000)
        compare("live rtp: 5,000 made-up SSRCs (one packet each, re-sent every 0.5 s)", base, got,
                kernel)
        n = flood_calls(lv.lines(), fl.ssrcs)
        check("live rtp:   none of the made-up SSRCs became a call (%d datagrams)" % fl.sent,
              n == 0 and fl.sent > 50000, "%d of them are calls, %d sent" % (n, fl.sent))
        check("live rtp:   they waited apart from --max-calls: rtp_unidentified on the stats "
              "during the flood (%s), active at most the 3 real calls" %
              mid.get("rtp_unidentified"),
              mid.get("rtp_unidentified", 0) >= 1000 and mid.get("active", 99) <= 3,
              str({k: v for k, v in mid.items() if k.startswith("rtp") or k == "active"}))
        check("live rtp:   each dropped at --ident-sec (5 s): rtp_unidentified_timeout >= 5,000",
              st.get("rtp_unidentified_timeout", 0) >= 5000,
              str({k: v for k, v in st.items() if k.startswith("rtp")}))
        st = lv.stats_until(lambda st: st.get("rtp_unidentified") == 0 and st.get("active") == 0)
        check("live rtp:   after the flood, by --ident-sec: none waiting (rtp_unidentified 0), "
              "no call open", st.get("rtp_unidentified") == 0 and st.get("active") == 0,
              str({k: v for k, v in st.items() if k.startswith("rtp") or k == "active"}))
    finally:
        rc = lv.stop()
    check("live rtp:   exits 0 on SIGTERM after the flood", rc == 0, "exit %s" % rc)

    # a new sequence number and timestamp each time, from 5,000 addresses, with --max-calls 3:
    # never a stream, so the three real calls have every place there is
    lv = LiveRtp(root, "rtp_random", ["--max-calls", "3"])
    try:
        d0 = lv.drops()
        fl = Flood(lv.port, 5000, naddr=5000, mode="random")
        lv.stats_until(lambda st: st.get("rtp_unidentified", 0) >= 1000,
                       lambda: fl.proc.poll() is None)
        got = real_calls(lv)
        fl.wait()
        compare("live rtp: 5,000 made-up SSRCs from 5,000 addresses, a new sequence number and "
                "timestamp each time, --max-calls 3", base, got, lv.drops() - d0)
        n = flood_calls(lv.lines(), fl.ssrcs)
        st = lv.stats()
        check("live rtp:   none of them became a call, none refused a real one", n == 0 and
              st.get("rtp_refused", 1) == 0, "%d calls; %s" % (
                  n, {k: v for k, v in st.items() if k.startswith("rtp")}))
    finally:
        rc = lv.stop()
    check("live rtp:   exits 0", rc == 0, "exit %s" % rc)

    # made-up SSRCs from the real streams' own sockets (a spoofer who knows the PBX's address
    # and port): one packet each never ends the call as an SSRC change
    lv = LiveRtp(root, "rtp_stray")
    try:
        d0 = lv.drops()
        got = real_calls(lv, ["--stray", "25"])
        compare("live rtp: a one-packet made-up SSRC from each real stream's own socket every "
                "25 packets", base, got, lv.drops() - d0)
        st = lv.stats()
        calls = {x.get("call") for x in lv.lines() if x.get("type") == "call_end"}
        check("live rtp:   no call ended as an SSRC change, and none of them became a call",
              len(calls) == 3, "calls: %s" % sorted(calls))
    finally:
        rc = lv.stop()
    check("live rtp:   exits 0", rc == 0, "exit %s" % rc)

    # a pool of 512 against 5,000: the oldest of those that have shown least (one packet) goes,
    # never a stream on its way to being identified, never the new one
    lv = LiveRtp(root, "rtp_evict", ["--rtp-max-pending", "512"])
    try:
        d0 = lv.drops()
        fl = Flood(lv.port, 5000)
        lv.stats_until(lambda st: st.get("rtp_unidentified_evicted", 0) >= 1,
                       lambda: fl.proc.poll() is None)
        got = real_calls(lv)
        fl.wait()
        kernel = lv.drops() - d0
        st = lv.stats_until(lambda st: st.get("rtp_unidentified_evicted", 0) >= 5000)
        compare("live rtp: 5,000 made-up SSRCs, --rtp-max-pending 512", base, got, kernel,
                SHOWN_BEFORE_CALL)
        most = max([x.get("rtp_unidentified", 1e9) for x in lv.lines()
                    if x.get("type") == "stats"] or [1e9])
        check("live rtp:   the pool held at most 512 (%s on a stats line at most), its oldest "
              "one-packet SSRCs dropped (rtp_unidentified_evicted %s)" %
              (most, st.get("rtp_unidentified_evicted")),
              st.get("rtp_unidentified_evicted", 0) >= 5000 and most <= 512 and
              flood_calls(lv.lines(), fl.ssrcs) == 0,
              str({k: v for k, v in st.items() if k.startswith("rtp")}))
    finally:
        rc = lv.stop()
    check("live rtp:   exits 0", rc == 0, "exit %s" % rc)


def cat_live_rtp_memory(root):
    """12,000 made-up SSRCs of 4 KiB datagrams (48 MB of them): the pool's bytes are bounded
    (1 KiB per place, 16 MiB with the defaults), and the server's memory with them."""
    more_fds()
    if sanitized():
        check("live rtp memory: skipped in a sanitized build (its allocator's quarantine)", True)
        return
    lv = LiveRtp(root, "rtp_mem")
    try:
        time.sleep(0.5)
        before = lv.rss_kb()
        fl = Flood(lv.port, 12000, period=1.0, size=4000, least=40001)
        fl.stop()  # once the least is sent
        peak = before
        while fl.proc.poll() is None:
            peak = max(peak, lv.rss_kb())
            time.sleep(0.1)
        fl.wait()
        st = lv.stats()
        check("live rtp memory: 12,000 made-up SSRCs of 4 KiB datagrams (%d sent): the server "
              "grew %.1f MB at its peak (at most 32 MB)" % (fl.sent, (peak - before) / 1024),
              peak - before < 32 * 1024 and fl.sent > 40000,
              "before %d kB, peak %d kB; %s" % (before, peak, {k: v for k, v in st.items()
                                                               if k.startswith("rtp")}))
    finally:
        rc = lv.stop()
    check("live rtp memory:   exits 0", rc == 0, "exit %s" % rc)


CATEGORIES = [("live_rtp", cat_live_rtp), ("live_rtp_memory", cat_live_rtp_memory)]
