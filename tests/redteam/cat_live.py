"""cat_live.py - `callqa live`'s listeners (AudioSocket, WebSocket, FastAGI) against connections
that send nothing or next to nothing, while real calls come: a connection that has not
identified its call (the AudioSocket UUID frame, the WebSocket Upgrade and first message, the
FastAGI environment) waits apart from --max-calls, for --ident-sec at most, in a pool whose
oldest is closed when it is full (docs/live/connections.md, "Connections that send nothing").

The real calls are sent by the protocol-faithful senders of tests/live: as_send (AudioSocket),
live_send --ws (mod_audio_fork's WebSocket) and agi_client.py (Asterisk's FastAGI side), found
beside the callqa under test (BUILD/tests/). Each case starts its own `callqa live` on loopback.
"""
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time

import rtlib as rt
from rtlib import check

HERE = os.path.dirname(os.path.abspath(__file__))
AGI_CLIENT = os.path.join(HERE, "..", "live", "agi_client.py")


def sender(name):
    return os.path.join(os.path.dirname(os.path.abspath(rt.CQ)), "tests", name)


def more_fds():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 16384 if hard == resource.RLIM_INFINITY else min(hard, 16384)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


class Live:
    """`callqa live` with the three TCP listeners on free loopback ports."""

    def __init__(self, root, name, args=()):
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir, exist_ok=True)
        self.events = os.path.join(self.dir, "events.jsonl")
        self.err = os.path.join(self.dir, "live.err")
        cmd = [rt.CQ, "live", "--audiosocket", "127.0.0.1:0", "--websocket", "127.0.0.1:0",
               "--fastagi", "127.0.0.1:0", "--fastagi-timeout-ms", "300", "--threads", "1",
               "--stats-sec", "1", "--events", self.events] + list(args)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(self.err, "wb"))
        self.asp = self.wsp = self.agip = None
        end = time.time() + rt.HANG
        while time.time() < end:
            t = open(self.err, errors="replace").read()
            for line in t.splitlines():
                w = line.split()
                if "AudioSocket on" in line:
                    self.asp = int(w[w.index("port") + 1].rstrip(","))
                elif "WebSocket on" in line:
                    self.wsp = int(w[w.index("port") + 1].rstrip(","))
                elif "FastAGI on" in line:
                    self.agip = int(w[w.index("port") + 1].rstrip(","))
            if self.asp and self.wsp and self.agip:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("callqa live did not start: %s" % open(self.err).read()[-2000:])

    def lines(self):
        return rt.json_lines(self.events)

    def call_end(self, name, wait=rt.HANG):
        t0 = time.time()
        while time.time() - t0 < wait:
            for l in self.lines():
                if l.get("call") == name and l.get("type") == "call_end":
                    return l
            time.sleep(0.1)
        return None

    def stats(self):
        st = [l for l in self.lines() if l.get("type") == "stats"]
        return st[-1] if st else {}

    def stats_until(self, pred):
        """the latest stats line once pred(it) holds (a line every --stats-sec), or the last one
        after rt.HANG s"""
        last = {}

        def ok():
            nonlocal last
            last = self.stats()
            return pred(last)
        rt.until(ok, step=0.2)
        return last

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def wav():
    return os.path.join(rt.CORPUS, "calls", "call05_ringback_answer.wav")


_seq = [0]


def as_call(lv, secs=1.0, pace=0, wait=rt.HANG):
    """One real AudioSocket call (as_send): its call_end line, or None with what as_send said."""
    _seq[0] += 1
    hexid = "%032x" % (0xC0FFEE000000000000000000000000 + os.getpid() * 100000 + _seq[0])
    cmd = [sender("as_send"), "--port", str(lv.asp), "--uuid", hexid, "--file", wav(),
           "--channel", "1", "--secs", str(secs), "--pace", str(pace), "--hold-sec", "1"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=rt.HANG)
    uuid = [l.split()[1] for l in r.stdout.splitlines() if l.startswith("uuid ")]
    end = lv.call_end(uuid[0], wait) if uuid else None
    return end, r.stdout.replace("\n", "; ")


def as_ok(end, secs=1.0):
    return bool(end) and end.get("reason") == "hangup" and abs(end.get("audio_sec", 0) - secs) < 0.05


def ws_call(lv, secs=1.0):
    """One real mod_audio_fork call (live_send --ws), named by its metadata."""
    _seq[0] += 1
    name = "rt-ws-%d-%d" % (os.getpid(), _seq[0])
    r = subprocess.run([sender("live_send"), "--ws", "--port", str(lv.wsp), "--path",
                        "/calls/" + name, "--meta", json.dumps({"uuid": name}), "--file", wav(),
                        "--channel", "1", "--secs", str(secs), "--pace", "20", "--end", "close"],
                       capture_output=True, text=True, timeout=rt.HANG)
    end = lv.call_end(name)
    return end, r.stdout.replace("\n", "; ")


def ws_ok(end, secs=1.0):
    return bool(end) and end.get("reason") == "hangup" and abs(end.get("audio_sec", 0) - secs) < 0.05


def agi_session(lv):
    """One real FastAGI request (agi_client.py: the environment as Asterisk sends it, then the
    answer checked line by line); the call's UUID has no decision, so NOTSURE or HANGUP."""
    _seq[0] += 1
    uuid = "c0ffee00-0000-4000-8000-%012x" % (os.getpid() * 1000 + _seq[0])
    cmd = [sys.executable, AGI_CLIENT, "--port", str(lv.agip), "--chunk", "512"]
    r = subprocess.run(cmd + [uuid], capture_output=True, text=True, timeout=rt.HANG)
    try:
        res = json.loads(r.stdout.splitlines()[0])
    except (ValueError, IndexError):
        res = {"ok": False, "error": r.stdout + r.stderr}
    return res


class Silent:
    """n TCP connections to port that send nothing (or, with trickle, the bytes of `data` one
    at a time every `every` seconds), kept open until close(); with reopen, each is closed and
    opened again every `reopen` seconds. closed_at[i]: when the server closed connection i
    (from its connect), for the first generation."""

    def __init__(self, port, n, source="127.0.0.1", data=b"", every=2.0, reopen=0.0):
        self.port, self.n, self.source, self.data, self.every = port, n, source, data, every
        self.reopen = reopen
        self.socks = [None] * n
        self.t_open = [0.0] * n
        self.closed_at = [None] * n
        self.sent = [0] * n
        self.opened = 0
        self.quit = False
        self.gen = 0
        self._open_all()
        self.th = threading.Thread(target=self._run, daemon=True)
        self.th.start()

    def _one(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((self.source, 0))
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", self.port))
        except BlockingIOError:
            pass
        self.opened += 1
        return s

    def _open_all(self):
        for i in range(self.n):
            try:
                self.socks[i] = self._one()
            except OSError:
                self.socks[i] = None
            self.t_open[i] = time.time()
            self.sent[i] = 0

    def _run(self):
        last_reopen = time.time()
        last_byte = time.time()
        while not self.quit:
            now = time.time()
            for i, s in enumerate(self.socks):
                if s is None or (self.gen == 0 and self.closed_at[i] is not None):
                    continue
                try:
                    d = s.recv(4096)
                    if not d and self.gen == 0:
                        self.closed_at[i] = now - self.t_open[i]
                except BlockingIOError:
                    pass
                except OSError:
                    if self.gen == 0:
                        self.closed_at[i] = now - self.t_open[i]
            if self.data and now - last_byte >= self.every:
                last_byte = now
                for i, s in enumerate(self.socks):
                    if s is not None and self.sent[i] < len(self.data) and (
                            self.gen > 0 or self.closed_at[i] is None):
                        try:
                            s.send(self.data[self.sent[i]:self.sent[i] + 1])
                            self.sent[i] += 1
                        except OSError:
                            pass
            if self.reopen and now - last_reopen >= self.reopen:
                last_reopen = now
                for s in self.socks:
                    if s is not None:
                        s.close()
                self.gen += 1
                self._open_all()
            time.sleep(0.05)

    def close(self):
        self.quit = True
        self.th.join()
        for s in self.socks:
            if s is not None:
                s.close()


def tools_there():
    miss = [p for p in (sender("as_send"), sender("live_send"), AGI_CLIENT) if not os.path.exists(p)]
    return check("the protocol senders are built (as_send, live_send, agi_client.py)", not miss,
                 "missing: %s" % miss)


# ---- connections that send nothing ----------------------------------------------------------

def cat_live_silent(root):
    if not tools_there():
        return
    more_fds()
    # --stall-sec 600: --ident-sec (5 s) is the one rule that closes a silent connection within
    # the waits' bound (rt.HANG)
    lv = Live(root, "silent", ["--stall-sec", "600"])
    try:
        end, said = as_call(lv)
        check("live: a real AudioSocket call with nothing else open", as_ok(end), said)
        # 64 silent connections: --max-calls (64) used to be full with them
        sl = Silent(lv.asp, 64)
        time.sleep(0.5)
        end, said = as_call(lv)
        check("live: 64 silent AudioSocket connections open: a real call gets through "
              "(hangup, 1 s of audio)", as_ok(end), "%s; %s" % (end, said))
        # to 1,000: more than the pool holds from one address, its oldest closed
        sl2 = Silent(lv.asp, 936)
        time.sleep(1.0)
        end, said = as_call(lv)
        check("live: 1,000 silent AudioSocket connections: a real call gets through",
              as_ok(end), "%s; %s" % (end, said))
        # the WebSocket input beside them, with 64 silent of its own
        sw = Silent(lv.wsp, 64)
        time.sleep(0.5)
        end, said = ws_call(lv)
        check("live: 64 silent WebSocket connections (and the 1,000 on AudioSocket): a real "
              "mod_audio_fork call gets through", ws_ok(end), "%s; %s" % (end, said))
        # FastAGI: 129 silent connections used to take every place (2 x --max-calls)
        sa = Silent(lv.agip, 129)
        time.sleep(0.5)
        r = agi_session(lv)
        check("live: 129 silent FastAGI connections: a real AGI request is answered",
              r.get("ok"), str(r))
        sa2 = Silent(lv.agip, 871)
        time.sleep(1.0)
        r = agi_session(lv)
        check("live: 1,000 silent FastAGI connections: a real AGI request is answered",
              r.get("ok"), str(r))
        # each silent connection is closed by the server (--ident-sec 5 s, or the pool's
        # eviction of its address's oldest)
        for what, s in (("AudioSocket", sl), ("WebSocket", sw), ("FastAGI", sa)):
            rt.until(lambda: all(c is not None for c in s.closed_at), step=0.2)
            late = [c for c in s.closed_at if c is None]
            check("live: every silent %s connection closed by the server (--ident-sec 5 s; the "
                  "latest after %.1f s)" % (what, max([c for c in s.closed_at if c] or [0])),
                  not late, "%d of %d still open after %d s (closed after %s s)" %
                  (len(late), s.n, rt.HANG,
                   sorted(set(round(c, 1) for c in s.closed_at if c))[-3:]))
        # the rest of the floods too, before they are closed here (what the stats count)
        rt.until(lambda: all(c is not None for s in (sl2, sa2) for c in s.closed_at), step=0.2)
        for s in (sl, sl2, sw, sa, sa2):
            s.close()
        st = lv.stats_until(lambda st: st.get("unidentified_timeout", 0) + st.get(
            "unidentified_evicted", 0) >= 1064 and st.get("agi_unidentified_timeout", 0) +
            st.get("agi_unidentified_evicted", 0) >= 1000)
        check("live: the stats count them: unidentified_timeout + unidentified_evicted >= 1,064",
              st.get("unidentified_timeout", 0) + st.get("unidentified_evicted", 0) >= 1064,
              str({k: v for k, v in st.items() if "unident" in k or "refused" in k}))
        check("live: the FastAGI stats count them: agi_unidentified_timeout + _evicted >= 1,000",
              st.get("agi_unidentified_timeout", 0) + st.get("agi_unidentified_evicted", 0)
              >= 1000, str({k: v for k, v in st.items() if k.startswith("agi_")}))
    finally:
        rc = lv.stop()
    check("live: exits 0 on SIGTERM after the floods", rc == 0, "exit %s: %s" %
          (rc, open(lv.err, errors="replace").read()[-600:]))


# ---- re-opened every few seconds, and slowloris ---------------------------------------------

def cat_live_slow(root):
    if not tools_there():
        return
    more_fds()
    # --stall-sec 600: --ident-sec (5 s) is the one rule that closes a connection whose bytes
    # trickle in within the waits' bound (rt.HANG)
    lv = Live(root, "slow", ["--stall-sec", "600"])
    try:
        # 1,000 silent connections on each listener, each closed and opened again every 3 s
        # (before --ident-sec ends them): for 9 s and two rounds at least, real calls of each
        # input every second
        churn = [Silent(lv.asp, 1000, reopen=3.0), Silent(lv.wsp, 300, reopen=3.0),
                 Silent(lv.agip, 300, reopen=3.0)]
        time.sleep(0.5)
        t0, res, agi_err, ws_err = time.time(), {"as": [], "ws": [], "agi": []}, [], []
        while (time.time() - t0 < 9.0 or min(c.gen for c in churn) < 2) and \
                time.time() - t0 < rt.HANG:
            res["as"].append(as_ok(as_call(lv)[0]))
            end, said = ws_call(lv)
            res["ws"].append(ws_ok(end))
            if not res["ws"][-1]:
                ws_err.append((end, said))
            r = agi_session(lv)
            res["agi"].append(bool(r.get("ok")))
            if not r.get("ok"):
                agi_err.append(r)
            time.sleep(0.3)
        gens = min(c.gen for c in churn)
        for c in churn:
            c.close()
        check("live: silent connections re-opened every 3 s (1,000 AudioSocket, 300 WebSocket, "
              "300 FastAGI; %d rounds): every real AudioSocket call got through" % gens,
              res["as"] and all(res["as"]) and gens >= 2, "%s" % res["as"])
        check("live:   every real WebSocket call got through", res["ws"] and all(res["ws"]),
              "%s; the failed (call_end, what live_send said): %s; stats %s"
              % (res["ws"], ws_err, {k: v for k, v in lv.stats().items()
                                     if k.startswith("unidentified")}))
        check("live:   every real FastAGI request was answered", res["agi"] and all(res["agi"]),
              "%s; the failed: %s; stats %s" % (res["agi"], agi_err,
                                                {k: v for k, v in lv.stats().items()
                                                 if k.startswith("agi_")}))
        # slowloris: the identifying bytes one at a time, one every 2 s (so never silent for
        # --stall-sec): closed at --ident-sec all the same, and real calls get through meanwhile
        uuid_frame = b"\x01\x00\x10" + bytes(range(16))
        upgrade = (b"GET /calls/slow HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                   b"Connection: Upgrade\r\n")
        env = b"agi_network: yes\nagi_network_script: amd\nagi_request: agi://h/amd\n"
        slow = [("AudioSocket", Silent(lv.asp, 64, data=uuid_frame, every=2.0)),
                ("WebSocket", Silent(lv.wsp, 64, data=upgrade, every=2.0)),
                ("FastAGI", Silent(lv.agip, 129, data=env, every=2.0))]
        time.sleep(1.0)
        end, said = as_call(lv)
        check("live: 64 slowloris AudioSocket, 64 WebSocket and 129 FastAGI connections (a byte "
              "every 2 s): a real AudioSocket call gets through", as_ok(end), said)
        end, said = ws_call(lv)
        check("live:   a real WebSocket call gets through", ws_ok(end), said)
        r = agi_session(lv)
        check("live:   a real FastAGI request is answered", r.get("ok"), str(r))
        for what, s in slow:
            rt.until(lambda: all(c is not None for c in s.closed_at), step=0.2)
            late = [c for c in s.closed_at if c is None]
            check("live: every slowloris %s connection closed by --ident-sec (5 s), bytes coming "
                  "all along (the latest after %.1f s)"
                  % (what, max([c for c in s.closed_at if c] or [0])), not late,
                  "%d of %d still open after %d s" % (len(late), s.n, rt.HANG))
            s.close()
    finally:
        rc = lv.stop()
    check("live: exits 0 after the slow clients", rc == 0, "exit %s" % rc)


# ---- one address, many calls: the share per client ------------------------------------------

def burst(lv, n, gap):
    """n real AudioSocket calls of 2 s at real-time pace, started `gap` seconds apart (0: at
    once), each from its own as_send: the call_end lines of those that were calls as sent."""
    procs = []
    for _ in range(n):
        _seq[0] += 1
        hexid = "%032x" % (0xBEEF0000000000000000000000000000 + os.getpid() * 1000 + _seq[0])
        procs.append(subprocess.Popen(
            [sender("as_send"), "--port", str(lv.asp), "--uuid", hexid, "--file", wav(),
             "--channel", "1", "--secs", "2", "--pace", "1", "--hold-sec", "1"],
            stdout=subprocess.PIPE, text=True))
        if gap:
            time.sleep(gap)
    outs = [p.communicate(timeout=rt.HANG)[0] for p in procs]
    uuids = [l.split()[1] for o in outs for l in o.splitlines() if l.startswith("uuid ")]
    ends = [lv.call_end(u) for u in uuids]
    good = [e for e in ends if e and e.get("reason") == "hangup" and
            abs(e.get("audio_sec", 0) - 2) < 0.05]
    return good, [e and e.get("reason") for e in ends]


def cat_live_pbx(root):
    if not tools_there():
        return
    more_fds()
    # one PBX carries many calls from one address: the share per client binds only the
    # connections that have not identified their call, never the calls. --ident-sec 120: a
    # connection a loaded machine has not read yet is not closed for its wait (the cases are
    # about the share)
    lv = Live(root, "pbx", ["--max-calls", "100", "--ident-sec", "120"])
    try:
        good, why = burst(lv, 60, 0)
        check("live: 60 calls set up at once from one address (the default share): all 60 are "
              "calls",
              len(good) == 60, "%d of 60: %s" % (len(good), why))
        # 1,000 silent connections from 127.0.0.1; a slow but real client from 127.0.0.2 sends
        # its UUID 1.8 s after connecting: the flood evicts only its own address's oldest
        sl = Silent(lv.asp, 1000)
        time.sleep(0.5)
        late = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        late.bind(("127.0.0.2", 0))
        late.connect(("127.0.0.1", lv.asp))
        time.sleep(1.5)
        sl2 = Silent(lv.asp, 500)  # more of the flood while it waits
        time.sleep(0.3)
        try:  # its UUID (00 01 .. 0f), then a hangup frame
            late.sendall(b"\x01\x00\x10" + bytes(range(16)) + b"\x00\x00\x00")
        except OSError as e:
            check("live: the slow client of 127.0.0.2 could send its UUID", False, str(e))
        end = lv.call_end("00010203-0405-0607-0809-0a0b0c0d0e0f")
        check("live: a client of another address that identifies 1.8 s after connecting, while "
              "1,500 silent connections come from 127.0.0.1: its call is taken (not evicted)",
              bool(end) and end.get("reason") == "hangup", str(end))
        late.close()
        sl.close()
        sl2.close()
        end, said = as_call(lv)
        check("live: a real AudioSocket call after the flood", as_ok(end), said)
    finally:
        rc = lv.stop()
    check("live: exits 0", rc == 0, "exit %s" % rc)
    # a share of 4: 40 calls open at once from one address, each set up once the one before is
    # a call (the sender never has more than one connection waiting to identify, however slow
    # the server), each held open (a frame every 0.2 s) until all 40 are: the share of 4 must
    # never bind the calls
    lv = Live(root, "pbx4", ["--max-pending-per-client", "4", "--max-calls", "64",
                             "--stats-sec", "0.2"])
    procs, uuids = [], []
    try:
        for i in range(40):
            _seq[0] += 1
            hexid = "%032x" % (0xBEEF0000000000000000000000000000 + os.getpid() * 1000 + _seq[0])
            uuids.append("%s-%s-%s-%s-%s" % (hexid[:8], hexid[8:12], hexid[12:16], hexid[16:20],
                                             hexid[20:]))
            procs.append(subprocess.Popen(
                [sender("as_send"), "--port", str(lv.asp), "--uuid", hexid, "--file", wav(),
                 "--channel", "1", "--secs", "3600", "--pace", "0.1", "--hold-sec", "1"],
                stdout=subprocess.DEVNULL))
            if lv.stats_until(lambda st: st.get("active", 0) >= i + 1).get("active", 0) < i + 1:
                break
        st = lv.stats()
        for p in procs:  # the calls end: each sender goes away
            p.terminate()
        for p in procs:
            p.wait(rt.HANG)
        ends = [lv.call_end(u) for u in uuids]
        check("live: 40 calls open at once from one address with --max-pending-per-client 4 "
              "(each set up once the one before was a call): all 40 are calls, none evicted",
              len(procs) == 40 and st.get("active", 0) >= 40 and all(ends) and
              st.get("unidentified_evicted", 0) == 0,
              "%d started, active %s, evicted %s, %d call_end lines" % (
                  len(procs), st.get("active"), st.get("unidentified_evicted"),
                  sum(1 for e in ends if e)))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        rc = lv.stop()
    check("live: exits 0", rc == 0, "exit %s" % rc)


CATEGORIES = [("live_silent", cat_live_silent), ("live_slow", cat_live_slow),
              ("live_pbx", cat_live_pbx)]
