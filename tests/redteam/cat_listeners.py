"""cat_listeners.py - every listener of `callqa live` (FastAGI, AudioSocket, WebSocket, RTP) and the
service's HTTP listener against peers that hold a place without being what they claim
(docs/live-listeners.md):

- listeners_agi: FastAGI requests whose environment is whole but names a call that never comes
  (agi_arg_1 a made-up UUID) used to fill the 2 x --max-calls requests for --fastagi-timeout-ms
  (an hour with --live hold): the next real call's request was closed unanswered. Now a request
  whose call is not known is closed to make room for another, the longest-waiting first, and one
  address holds at most half the requests of those; a request whose call is known is never
  closed for room, however many one PBX address sends.
- listeners_idle: a call that has sent its first whole message and then a byte now and then (a
  frame, or a WebSocket message, that never ends), or an RTP stream that re-sends one packet,
  used to keep its place of --max-calls for as long as it went on: the stall was counted from
  the last byte. Now from the last whole message.
- listeners_rtp_source: an RTP call's probe went to the source of the call's first packet: five
  packets of the call's SSRC sent first from anywhere pointed it there for the whole call. Now it
  follows the address the call's media comes from and answers only a packet from there.
- listeners_http: the service's request body, on a route that reads none or on the login, was
  cut only after request_timeout_sec without a byte; now within upload_timeout_sec of its headers.

Each lock-out is attempted while a real call goes: the call must be decided as it would be alone
(its decision the one `callqa classify --live` makes on the samples sent, its FastAGI answer that
decision). The real calls are sent by the protocol senders of tests/live (as_send, live_send,
agi_client.py), found beside the callqa under test; the attacks come from sockets here.
"""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import wave

import rtlib as rt
from rtlib import check
from cat_live import AGI_CLIENT, more_fds, sender

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "live"))
import agi_client  # noqa: E402


def corpus(name):
    return os.path.join(rt.CORPUS, "calls", name)


class Live:
    """`callqa live` on free loopback ports with the inputs named (audiosocket, websocket, rtp,
    fastagi), its event lines in a file."""

    MARKS = {"audiosocket": "AudioSocket on", "websocket": "WebSocket on", "rtp": "RTP on",
             "fastagi": "FastAGI on"}

    def __init__(self, root, name, inputs, args=()):
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir, exist_ok=True)
        self.events = os.path.join(self.dir, "events.jsonl")
        self.err = os.path.join(self.dir, "live.err")
        cmd = [rt.CQ, "live"]
        for i in inputs:
            cmd += ["--" + i, "127.0.0.1:0"]
        cmd += ["--threads", "1", "--stats-sec", "0.5", "--queue-sec", "600", "--events",
                self.events] + list(args)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(self.err, "wb"))
        self.port = {}

        def ports():
            for line in open(self.err, errors="replace").read().splitlines():
                for i in inputs:
                    if self.MARKS[i] in line:
                        w = line.replace(",", " ").split()
                        self.port[i] = int(w[w.index("port") + 1])
            return len(self.port) == len(inputs) or self.proc.poll() is not None
        rt.until(ports)
        if len(self.port) != len(inputs):
            raise RuntimeError("callqa live did not start: %s" % open(self.err).read()[-2000:])

    def lines(self):
        return rt.json_lines(self.events)

    def call_end(self, name, hang=rt.HANG):
        def end():
            return [x for x in self.lines() if x.get("call") == name and
                    x.get("type") == "call_end"]
        e = rt.until(end, hang=hang, step=0.1)
        return e[0] if e else None

    def stats(self):
        st = [x for x in self.lines() if x.get("type") == "stats"]
        return st[-1] if st else {}

    def stats_until(self, pred):
        last = {}

        def ok():
            nonlocal last
            last = self.stats()
            return pred(last)
        rt.until(ok, step=0.1)
        return last

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


_seq = [0]


def new_uuid(tag):
    _seq[0] += 1
    return "%08x-0000-4000-8000-%012x" % (tag, os.getpid() * 1000 + _seq[0])


def as_send(lv, uuid, args):
    """as_send of one call named uuid (its 8-4-4-4-12 form), started; its process."""
    return subprocess.Popen([sender("as_send"), "--port", str(lv.port["audiosocket"]), "--uuid",
                             uuid.replace("-", "")] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def agi_request(lv, uuid, script="hold"):
    """agi_client.py's request for uuid, started (the answer read from its stdout once it ends)."""
    return subprocess.Popen([sys.executable, AGI_CLIENT, "--port", str(lv.port["fastagi"]),
                             "--script", script, "--chunk", "512", uuid],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def agi_answer(p):
    out = p.communicate(timeout=5 * rt.HANG)[0]
    try:
        return json.loads(out.splitlines()[0])
    except (ValueError, IndexError):
        return {"ok": False, "error": out[-400:]}


def ms(x):
    return int(x * 1000 + 0.5)


def hold_decision(lines, name):
    """What the FastAGI hold answer of call `name` must be, from its event lines (agi_server.c's
    table): (HOLDSTATUS, HOLDCAUSE), the cause's figure as (prefix, ms) to compare within 1 ms."""
    for x in lines:
        if x.get("call") != name:
            continue
        if x.get("type") == "human":
            rule = x.get("rule")
            if rule == "quiet_handover":
                return "HUMAN", ("QUIETHANDOVER", ms(x["quiet_sec"]), "1280")
            if rule == "probe_reply":
                return "HUMAN", ("PROBEREPLY", ms(x["reply_sec"]), "1280")
            return "HUMAN", ("NOMUSICAFTER", ms(x["end"] - x["start"]), "10500")
        if x.get("type") == "hold_ended" and x.get("rule") == "no_music":
            return "ENDED", ("NOMUSIC", ms(x["end"] - x["start"]), "30000")
        if x.get("type") == "call_end":
            return "HANGUP", None
    return None, None


def same_answer(ans, want):
    st, cause = want
    if not ans.get("ok") or ans.get("status") != st or st is None:
        return False
    if cause is None:
        return ans.get("cause") == ""
    w = ans.get("cause", "").split("-")
    return len(w) == 3 and w[0] == cause[0] and w[2] == cause[2] and abs(int(w[1]) - cause[1]) <= 1


class MadeUp:
    """n FastAGI requests of script `script`, each a whole environment naming a made-up UUID,
    from `source`, kept open until close(); with `keep`, a thread opens a new one every 10 ms
    (a flood that never lets up). gone: how many the server has closed."""

    def __init__(self, port, n, source="127.0.0.1", script="hold", keep=False):
        self.port, self.source, self.script = port, source, script
        self.socks, self.gone, self.quit = [], 0, False
        self.lock = threading.Lock()
        for _ in range(n):
            self._one()
        self.th = None
        if keep:
            self.th = threading.Thread(target=self._run, daemon=True)
            self.th.start()

    def _one(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((self.source, 0))
        s.settimeout(rt.HANG)
        s.connect(("127.0.0.1", self.port))
        s.sendall(agi_client.environment("127.0.0.1", self.port, self.script,
                                         new_uuid(0xdead0000), len(self.socks)))
        s.setblocking(False)
        with self.lock:
            self.socks.append(s)

    def poll(self):
        """the connections the server has closed are taken out (and counted)"""
        with self.lock:
            keep = []
            for s in self.socks:
                try:
                    d = s.recv(4096)
                    if not d:
                        s.close()
                        self.gone += 1
                        continue
                except BlockingIOError:
                    pass
                except OSError:
                    s.close()
                    self.gone += 1
                    continue
                keep.append(s)
            lost = len(self.socks) - len(keep)
            self.socks = keep
        return lost

    def _run(self):
        while not self.quit:
            self.poll()
            try:
                self._one()
            except OSError:
                pass
            time.sleep(0.01)

    def close(self):
        self.quit = True
        if self.th:
            self.th.join()
        self.poll()
        for s in self.socks:
            s.close()


# ---- FastAGI: requests that name no call ------------------------------------------------------

def cat_listeners_agi(root):
    if not os.path.exists(sender("as_send")):
        check("as_send is built", False, sender("as_send"))
        return
    more_fds()
    # --live hold: a request waits an hour for its call's decision (the default)
    lv = Live(root, "agi", ["audiosocket", "fastagi"], ["--live", "hold"])
    hold = ["--file", corpus("call04_hold_music.wav"), "--channel", "2", "--pace", "0"]
    try:
        # 128 requests (2 x --max-calls), each a whole environment for `hold` naming a made-up
        # UUID: every place of the requests
        fake = MadeUp(lv.port["fastagi"], 128)
        st = lv.stats_until(lambda st: st.get("agi_accepted", 0) >= 128 and
                            st.get("agi_unidentified") == 0)
        check("agi: 128 requests naming made-up calls are in, each waiting (agi_unknown %s)"
              % st.get("agi_unknown"), st.get("agi_accepted", 0) >= 128,
              str({k: v for k, v in st.items() if k.startswith("agi_")}))
        # a real call, as the hold dialplan makes it: its audio comes (a hold, then a person),
        # and the dialplan's AGI waits for the person
        u1 = new_uuid(0x1)
        call = as_send(lv, u1, hold)
        lv.stats_until(lambda st: st.get("calls", 0) >= 1)
        ans = agi_answer(agi_request(lv, u1))
        call.communicate(timeout=rt.HANG)
        lv.call_end(u1)
        want = hold_decision(lv.lines(), u1)
        check("agi: 128 requests naming made-up calls: a real call's request is answered with its "
              "decision (%s %s, the call's events: %s)" % (ans.get("status"), ans.get("cause"),
                                                          want[0]),
              want[0] == "HUMAN" and same_answer(ans, want), "answer %s; want %s" % (ans, want))
        # the request made before the call's audio (AMD's dialplan), then another address floods
        # made-up requests without letting up: the flood's share (half the requests) is all it
        # holds, and the real request, unknown until its audio comes, is not closed
        u2 = new_uuid(0x2)
        req = agi_request(lv, u2)
        lv.stats_until(lambda st: st.get("agi_accepted", 0) >= 128 + 1 + 1 and
                       st.get("agi_unidentified") == 0)
        flood = MadeUp(lv.port["fastagi"], 64, source="127.0.0.2", keep=True)
        rt.until(lambda: flood.gone >= 200 or req.poll() is not None, step=0.1)
        call = as_send(lv, u2, hold)
        ans = agi_answer(req)
        call.communicate(timeout=rt.HANG)
        lv.call_end(u2)
        flood.close()
        fake.close()
        want = hold_decision(lv.lines(), u2)
        st = lv.stats_until(lambda st: st.get("agi_human", 0) >= 2)
        check("agi: a request made before its call's audio, while 127.0.0.2 floods made-up "
              "requests (%d closed by the server): answered with the call's decision (%s %s)"
              % (flood.gone, ans.get("status"), ans.get("cause")),
              want[0] == "HUMAN" and same_answer(ans, want) and flood.gone > 0,
              "answer %s; want %s; flood closed %d" % (ans, want, flood.gone))
        check("agi:   the made-up requests were closed for room (agi_unknown_evicted %s), none "
              "answered" % st.get("agi_unknown_evicted"),
              st.get("agi_unknown_evicted", 0) >= 64 and
              st.get("agi_human", 0) == 2 and st.get("agi_notsure", 0) == 0,
              str({k: v for k, v in st.items() if k.startswith("agi_")}))
    finally:
        rc = lv.stop()
    check("agi: exits 0", rc == 0, "exit %s" % rc)

    # one PBX, one address, many calls: 24 calls open (--max-calls 24: 48 requests, a share of
    # 24 unknown ones), each with its request, and 36 made-up requests from the same address:
    # the calls' requests are known, never closed for room nor counted in the share (this held
    # before too: the requests were all taken only once the made-up ones came)
    lv = Live(root, "agi_pbx", ["audiosocket", "fastagi"],
              ["--live", "hold", "--max-calls", "24"])
    calls, uuids = [], []
    try:
        for i in range(24):
            uuids.append(new_uuid(0x40))
            calls.append(as_send(lv, uuids[-1], [
                "--file", corpus("call05_ringback_answer.wav"), "--channel", "1", "--secs",
                "3600", "--pace", "0.1", "--hold-sec", "1"]))
        lv.stats_until(lambda st: st.get("active", 0) >= 24)
        req = subprocess.Popen([sys.executable, AGI_CLIENT, "--port", str(lv.port["fastagi"]),
                                "--script", "hold", "--chunk", "512"] + uuids,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        st = lv.stats_until(lambda st: st.get("agi_accepted", 0) >= 24 and
                            st.get("agi_unidentified") == 0)
        fake = MadeUp(lv.port["fastagi"], 36)
        st = lv.stats_until(lambda st: st.get("agi_accepted", 0) >= 60 and
                            st.get("agi_unidentified") == 0)
        fake.poll()
        for p in calls:  # the calls end: each request's answer is HANGUP
            p.terminate()
        out = req.communicate(timeout=5 * rt.HANG)[0]
        answers = []
        for line in out.splitlines():
            try:
                answers.append(json.loads(line))
            except ValueError:
                pass
        for p in calls:
            p.wait(rt.HANG)
        fake.close()
        good = sum(1 for a in answers if a.get("ok") and a.get("status") == "HANGUP")
        check("agi: 24 calls of one address, each with its request, and 36 made-up requests from "
              "that address (24 x 2 places, a share of 24): every call's request answered (%d "
              "HANGUP as its call ended), %d made-up ones closed" % (good, fake.gone),
              good == 24 and fake.gone >= 12 and st.get("active", 0) >= 24,
              "answers %s; stats %s" % ([a.get("status") or a.get("error") for a in answers],
                                        {k: v for k, v in st.items() if k.startswith("agi_")}))
    finally:
        for p in calls:
            if p.poll() is None:
                p.kill()
                p.wait()
        rc = lv.stop()
    check("agi: exits 0", rc == 0, "exit %s" % rc)


# ---- the idle limit from the last whole message ----------------------------------------------

UPGRADE = (b"GET /calls/%s HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


def ws_frame(op, data, length=None):
    """a client's frame (masked), its length said as `length` when given"""
    n = len(data) if length is None else length
    h = bytes([0x80 | op])
    if n < 126:
        h += bytes([0x80 | n])
    elif n < 65536:
        h += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        h += bytes([0x80 | 127]) + struct.pack("!Q", n)
    mask = b"\x11\x22\x33\x44"
    return h + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def rtp_packet(seq, ts, ssrc):
    return struct.pack("!BBHII", 0x80, 0, seq & 0xffff, ts & 0xffffffff, ssrc) + b"\xff" * 160


class Holder:
    """One call of each input that sends its first whole messages and then only what never makes
    another: AudioSocket a UUID frame, 5 audio frames and the header of a 16,000-byte frame;
    WebSocket the Upgrade, the metadata, 5 binary messages and the header of a 60,000-byte one;
    RTP 5 packets in sequence (a stream) from one socket. Then step() sends each its next
    byte of the frame that never ends, and RTP its last packet again; closed says which the
    server has ended (a TCP connection closed; the RTP call's call_end)."""

    def __init__(self, lv, tag):
        self.lv = lv
        self.name = {"audiosocket": new_uuid(tag), "websocket": "hold-ws-%d-%d" % (
            os.getpid(), tag), "rtp": "rtp-%08x" % (0x5eed0000 + tag)}
        self.closed = {}
        a = socket.create_connection(("127.0.0.1", lv.port["audiosocket"]), timeout=rt.HANG)
        a.sendall(b"\x01\x00\x10" + bytes.fromhex(self.name["audiosocket"].replace("-", "")) +
                  (b"\x10\x01\x40" + b"\x00" * 320) * 5 + b"\x10\x3e\x80")
        w = socket.create_connection(("127.0.0.1", lv.port["websocket"]), timeout=rt.HANG)
        w.sendall(UPGRADE % self.name["websocket"].encode())
        got = b""
        while b"\r\n\r\n" not in got:
            d = w.recv(4096)
            if not d:
                break
            got += d
        self.ws_status = got.split(b" ")[1] if b" " in got else b""
        w.sendall(ws_frame(1, json.dumps({"uuid": self.name["websocket"]}).encode()) +
                  ws_frame(2, b"\x00" * 320) * 5 + ws_frame(2, b"", length=60000)[:8])
        self.r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.r.connect(("127.0.0.1", lv.port["rtp"]))
        self.ssrc = 0x5eed0000 + tag
        for i in range(5):
            self.r.send(rtp_packet(1000 + i, 160 * i, self.ssrc))
        self.tcp = {"audiosocket": a, "websocket": w}
        for s in self.tcp.values():
            s.setblocking(False)
        self.sent = 0

    def step(self):
        self.sent += 1
        for k, s in self.tcp.items():
            if k in self.closed:
                continue
            try:
                if s.recv(65536) == b"":
                    self.closed[k] = self.sent
                    continue
            except BlockingIOError:
                pass
            except OSError:
                self.closed[k] = self.sent
                continue
            try:
                s.send(b"\x00")
            except OSError:
                self.closed[k] = self.sent
        if "rtp" not in self.closed:
            if any(x.get("call") == self.name["rtp"] and x.get("type") == "call_end"
                   for x in self.lv.lines()):
                self.closed["rtp"] = self.sent
            else:
                self.r.send(rtp_packet(1004, 640, self.ssrc))

    def close(self):
        for s in self.tcp.values():
            s.close()
        self.r.close()


def classify_first(raw):
    """the first human or machine decision of `callqa classify --live amd` on raw s16le 8 kHz"""
    r = subprocess.run([rt.CQ, "classify", "--live", "amd", "--rate", "8000", "-"],
                       stdin=open(raw, "rb"), capture_output=True, text=True, timeout=rt.HANG)
    for line in r.stdout.splitlines():
        x = json.loads(line)
        if x.get("type") in ("human", "machine"):
            return x
    return None


def cat_listeners_idle(root):
    for t in ("as_send", "live_send"):
        if not check("%s is built" % t, os.path.exists(sender(t)), sender(t)):
            return
    more_fds()
    # --max-calls 3: the three holders take every place; --stall-sec 1
    lv = Live(root, "idle", ["audiosocket", "websocket", "rtp"],
              ["--max-calls", "3", "--stall-sec", "1", "--live", "amd"])
    h = None
    try:
        h = Holder(lv, 1)
        st = lv.stats_until(lambda st: st.get("active", 0) >= 3)
        check("idle: a call of each input has sent its first whole messages (active %s, the "
              "WebSocket Upgrade %s)" % (st.get("active"), h.ws_status.decode()),
              st.get("active", 0) == 3 and h.ws_status == b"101", str(st))
        # a byte every 0.25 s, 48 at most (12 s: 12 x --stall-sec) while none is ended
        for _ in range(48):
            h.step()
            if len(h.closed) == 3:
                break
            time.sleep(0.25)
        for k in ("audiosocket", "websocket", "rtp"):
            end = lv.call_end(h.name[k], hang=10) if k in h.closed else None
            check("idle: %s: a frame that never ends (a byte every 0.25 s; RTP its last packet "
                  "again) does not hold the call: ended stalled, %s bytes in" % (
                      k, h.closed.get(k)),
                  k in h.closed and end and end.get("reason") == "stalled" and
                  h.closed[k] < 48,
                  "closed after %s of 48 steps; call_end %s" % (h.closed.get(k), end))
        # a real call, while the holders still try to hold their places: they were all
        # refused before (every place held for as long as the bytes came)
        u = new_uuid(0x1d1e)
        raw = os.path.join(lv.dir, "real.raw")
        p = as_send(lv, u, ["--file", corpus("call05_ringback_answer.wav"), "--channel", "2",
                            "--secs", "20", "--pace", "0", "--dump", raw])
        out = p.communicate(timeout=rt.HANG)[0]
        h.step()
        end = lv.call_end(u, hang=5 if "got error" in out else rt.HANG)
        mine = [x for x in lv.lines() if x.get("call") == u and
                x.get("type") in ("human", "machine")]
        ref = classify_first(raw) if end else None
        check("idle: a real AudioSocket call meanwhile is decided as `callqa classify --live amd` "
              "decides on its samples (%s at %s s)" % (ref and ref["type"], ref and ref["start"]),
              end and end.get("reason") == "hangup" and ref and mine and
              mine[0]["type"] == ref["type"] and mine[0].get("rule") == ref.get("rule") and
              abs(mine[0]["start"] - ref["start"]) < 0.033,
              "call_end %s; decision %s; classify %s; as_send: %s" % (
                  end, mine[:1], ref, out.replace("\n", "; ")[-300:]))
    finally:
        if h:
            h.close()
        rc = lv.stop()
    check("idle: exits 0", rc == 0, "exit %s" % rc)


# ---- RTP: the probe goes where the call's media comes from ------------------------------------

def cat_listeners_rtp_source(root):
    if not check("live_send is built", os.path.exists(sender("live_send")), sender("live_send")):
        return
    more_fds()
    lv = Live(root, "rtp_source", ["rtp"],
              ["--live", "hold", "--probe", "default", "--stall-sec", "2"])
    forger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        if "probe" not in open(lv.err, errors="replace").read():
            check("rtp source: the build has the default probe # SKIP no espeak-ng at build time",
                  True)
            return
        forger.bind(("127.0.0.1", 0))
        forger.setblocking(False)
        ssrc = 0x0a0b0c0d
        # five packets of the call's SSRC, in sequence, from another socket, before the call's
        # own stream starts: its first packets (live_send's numbering starts at 65000, its
        # timestamps at 4294960000: these come just before)
        for i in range(5):
            forger.sendto(rtp_packet(64990 + i, 4294960000 - 160 * (10 - i), ssrc),
                          ("127.0.0.1", lv.port["rtp"]))
        lv.stats_until(lambda st: st.get("calls", 0) >= 1)
        # the stream itself, a hold and then a person (the probe is sent once the person's
        # speech pauses), from live_send, which counts what comes back to its own socket
        fd, reply = tempfile.mkstemp(suffix=".wav", dir=lv.dir)
        os.close(fd)
        with wave.open(reply, "wb") as wv:
            wv.setnchannels(1)
            wv.setsampwidth(2)
            wv.setframerate(8000)
            wv.writeframes(b"\x00\x00" * 800)
        r = subprocess.run([sender("live_send"), "--rtp", "--port", str(lv.port["rtp"]), "--file",
                            corpus("call04_hold_music.wav"), "--channel", "2", "--from", "20",
                            "--pace", "8", "--ssrc", "%08x" % ssrc, "--reply", reply],
                           capture_output=True, text=True, timeout=rt.HANG)
        back = [line.split() for line in r.stdout.splitlines() if line.startswith("rtp-back ")]
        got = int(back[0][2]) if back else -1
        end = lv.call_end("rtp-%08x" % ssrc)
        stolen = 0
        while True:
            try:
                forger.recv(2048)
                stolen += 1
            except OSError:
                break
        decided = [x for x in lv.lines() if x.get("call") == "rtp-%08x" % ssrc and
                   x.get("type") == "human"]
        check("rtp source: five forged first packets of the call from another socket: the probe "
              "goes to the socket the call's media comes from (%d packets back to it, %d to the "
              "forger; the call's source now %s, %s change)" % (
                  got, stolen, end and end.get("source"), end and end.get("source_changes")),
              end and end.get("probes", 0) >= 1 and got > 0 and stolen == 0 and
              end.get("source_changes") == 1,
              "call_end %s; live_send: %s; forger got %d" % (end, r.stdout[-300:], stolen))
        check("rtp source:   the call is decided all the same (a person: %s)" % (
            decided and decided[0].get("rule")), bool(decided), str(end))
    finally:
        forger.close()
        rc = lv.stop()
    check("rtp source: exits 0", rc == 0, "exit %s" % rc)


# ---- the service: a request's body within upload_timeout_sec ----------------------------------

def trickle(svc, head, n=60, every=0.25):
    """head (a request's line and headers announcing a body of n bytes or more), then its body a
    byte every `every` s: how many bytes went before the service closed the connection (n when
    it never did)"""
    s = socket.create_connection(("127.0.0.1", svc.port), timeout=rt.HANG)
    s.sendall(head)
    s.setblocking(False)
    sent = 0
    try:
        while sent < n:
            try:
                if s.recv(65536) == b"":
                    break
            except BlockingIOError:
                pass
            s.send(b"x")
            sent += 1
            time.sleep(every)
    except OSError:
        pass
    s.close()
    return sent


def cat_listeners_http(root):
    svc = rt.Service(os.path.join(root, "http"), env={"CALLQA_UPLOAD_TIMEOUT_SEC": "1",
                                                       "CALLQA_UPLOAD_IDLE_SEC": "1"})
    try:
        host = ("Host: 127.0.0.1:%d\r\n" % svc.port).encode()
        for what, head in (
                ("POST /api/session (the login, before any token)",
                 b"POST /api/session HTTP/1.1\r\n" + host +
                 b"Content-Type: application/json\r\nContent-Length: 200\r\n\r\n"),
                ("GET /health with a body (a route that reads none)",
                 b"GET /health HTTP/1.1\r\n" + host + b"Content-Length: 200\r\n\r\n")):
            sent = trickle(svc, head)
            check("http: %s, its body a byte every 0.25 s: cut within upload_timeout_sec (1 s) "
                  "of its headers (%d bytes in)" % (what, sent), sent < 60,
                  "the connection took all 60 bytes (15 s) and was still open")
        rt.healthy(svc, "bodies that trickle")
    finally:
        svc.stop()


CATEGORIES = [("listeners_agi", cat_listeners_agi), ("listeners_idle", cat_listeners_idle),
              ("listeners_rtp_source", cat_listeners_rtp_source),
              ("listeners_http", cat_listeners_http)]
