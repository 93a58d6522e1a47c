"""cat_hep.py - `callqa sip --hep`, the HEP collector (docs/hep.md), against senders that would
lock its agents out or mislead it, each case while a real call (INVITE, 200, ACK, BYE over HEP,
as an agent sends it) is collected and announced: a burst of calls that never end (the table of
calls full), an answered call that goes silent, TCP connections that never send a whole packet
(the pool full, one address's share, a byte now and then), Call-IDs that are not UTF-8, agents'
times that name files (0, 4294967295) or pick the stored call a capture joins, and the folder's
bound on disk.

The HEP packets are tests/net/hep.py's (HEP3 as res_hep and Kamailio fill it); UDP is sent only
while the collector's socket holds less than 64 KiB unread (tests/net/hep_send.py's wait_room),
so the kernel drops none. Each case starts its own collector on loopback.
"""
import glob
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import struct
import time

import rtlib as rt
from rtlib import check

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "net"))
import hep  # noqa: E402  tests/net/hep.py
import hep_send  # noqa: E402  its wait_room


class Collector:
    """`callqa sip --hep 127.0.0.1:0` writing to root/name/, its lines in root/name.jsonl; the
    settings added against these cases given as CALLQA_* variables in env (a collector before
    them ignores them: each case shows its lock-out there, not a refusal to start)."""

    def __init__(self, root, name, args=(), env=None):
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir, exist_ok=True)
        self.out = os.path.join(root, name + ".jsonl")
        self.err = os.path.join(root, name + ".err")
        self.proc = subprocess.Popen(
            [rt.CQ, "sip", "--hep", "127.0.0.1:0", "--hep-dir", self.dir] + list(args),
            stdout=open(self.out, "wb"), stderr=open(self.err, "wb"),
            env=dict(os.environ, **(env or {})))
        self.port = None
        m = rt.until(lambda: re.search(r"collecting HEP on \S+ port (\d+)", self.stderr()) or
                     self.proc.poll() is not None)
        if m and m is not True:
            self.port = int(m.group(1))
        check("%s: the collector starts" % name, self.port is not None, self.stderr()[-300:])

    def stderr(self):
        return open(self.err, errors="replace").read()

    def lines(self):
        return rt.json_lines(self.out)

    def line_of(self, cid):
        return next((x for x in self.lines() if x.get("call_id") == cid), None)

    def files(self):
        return sorted(os.path.basename(f) for f in glob.glob(os.path.join(self.dir, "hep-*.pcap")))

    def count(self, what):
        m = re.search(r"(\d+) %s" % re.escape(what), self.stderr())
        return int(m.group(1)) if m else None

    def stop(self):
        return rt.terminate(self.proc)


# ---- what an agent sends ----------------------------------------------------------------------

def sip(first, cid, cseq, extra=b""):
    cid = cid if isinstance(cid, bytes) else cid.encode()
    return (first.encode() + b"\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK" +
            cid.hex().encode()[:24] + b"\r\nFrom: <sip:8005550000@10.0.0.1>;tag=1\r\n"
            b"To: <sip:913125550101@10.0.0.2>;tag=2\r\nCall-ID: " + cid + b"\r\nCSeq: " +
            cseq.encode() + b"\r\n" + extra + b"Content-Length: 0\r\n\r\n")


def call(cid, bye=True, pad=0):
    """the SIP messages of a call: INVITE, 200, ACK, then BYE and its 200 when bye"""
    x = b"X-Pad: %s\r\n" % (b"p" * pad) if pad else b""
    m = [sip("INVITE sip:913125550101@10.0.0.2 SIP/2.0", cid, "1 INVITE", x),
         sip("SIP/2.0 200 OK", cid, "1 INVITE", x), sip("ACK sip:b@10.0.0.2 SIP/2.0", cid, "1 ACK")]
    if bye:
        m += [sip("BYE sip:b@10.0.0.2 SIP/2.0", cid, "2 BYE", x),
              sip("SIP/2.0 200 OK", cid, "2 BYE")]
    return m


def packet(payload, t=None, up=True):
    """one HEP3 packet of a SIP message, stamped t (the agent's time: now when None)"""
    t = time.time() if t is None else t
    a, b = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
    return hep.hep3(4, a if up else b, b if up else a, 5060, 5060, 17, int(t) & 0xffffffff,
                    int((t % 1) * 1e6), 1, payload, None)


def packets(msgs, t=None):
    return [packet(m, t, i % 2 == 0) for i, m in enumerate(msgs)]


def send_udp(port, pkts, every=8):
    """over UDP, waiting for room on the collector's socket before every `every` datagrams"""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i, p in enumerate(pkts):
        if i % every == 0 and not hep_send.wait_room(port):
            break
        s.sendto(p, ("127.0.0.1", port))
    s.close()


def send_tcp(port, pkts, source="127.0.0.1"):
    """over one connection from source; whether every byte went"""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=rt.HANG,
                                     source_address=(source, 0))
        s.sendall(b"".join(pkts))
        s.shutdown(socket.SHUT_WR)
        s.settimeout(rt.HANG)
        s.recv(1)  # the collector closes it once it has read it all (the peer's end)
        s.close()
        return True
    except OSError:
        return False


def real_call(col, name, how="udp"):
    """a whole call sent by an agent; whether it was written and announced (closed bye: 5 s
    after its BYE), awaited up to rt.HANG (a hang guard)"""
    cid = "real-%s@10.0.0.1" % name
    pk = packets(call(cid))
    if how == "udp":
        send_udp(col.port, pk)
    else:
        send_tcp(col.port, pk)
    line = rt.until(lambda: col.line_of(cid), step=0.1)
    ok = bool(line) and line.get("closed") == "bye" and os.path.exists(
        os.path.join(col.dir, line.get("file", "?")))
    return check("  %s: a real call over %s meanwhile: written and announced (closed bye)" %
                 (name, how.upper()), ok, "line %s" % line)


def accept_queue(port):
    """connections waiting to be accepted on the listener of 127.0.0.1:port (/proc/net/tcp)"""
    want = "0100007F:%04X" % port
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            x = line.split()
            if x[1] == want and x[3] == "0A":
                return int(x[4].split(":")[1], 16)
    return 0


def closed(s):
    """whether the collector closed connection s (an end or a reset is waiting on it)"""
    s.setblocking(False)
    try:
        return s.recv(1, socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


# ---- the cases --------------------------------------------------------------------------------

def cat_hep_calls(root):
    """Finding 2: a burst of answered calls that never end (INVITE, 200, ACK) filled
    hep_max_calls and every later call was refused until hep_max_call_sec (4 h) freed them. The
    burst here is three times --hep-max-calls 100 (the review's was 10,000 against the default
    10,000: the same lock-out, a thirtieth of the cost)."""
    col = Collector(root, "calls", ["--hep-max-calls", "100"])
    if not col.port:
        return
    burst = ["burst-%d@10.0.0.9" % i for i in range(300)]
    t0 = rt.cpu_tree(col.proc.pid)
    send_udp(col.port, [p for c in burst for p in packets(call(c, bye=False))])
    real_call(col, "calls")
    cpu = rt.cpu_tree(col.proc.pid) - t0
    rc = col.stop()
    lines = {x.get("call_id"): x for x in col.lines()}
    closed_as = [lines[c]["closed"] for c in burst if c in lines]
    check("calls: 300 unfinished calls past --hep-max-calls 100: each written once (%d full, "
          "%d at the stop), none refused; the collector's CPU %.2f s" % (
              closed_as.count("full"), closed_as.count("shutdown"), cpu),
          len(closed_as) == 300 and closed_as.count("full") == 201 and
          closed_as.count("shutdown") == 99 and col.count("calls written early (max_calls)") == 201,
          "%d lines, %s" % (len(closed_as), col.stderr()[-600:]))
    check("calls: exits 0", rc == 0, "exit %s" % rc)
    # an answered call that goes silent is written after --hep-silent-sec, not 4 h later
    col = Collector(root, "silent", env={"CALLQA_HEP_SILENT_SEC": "1"})
    if not col.port:
        return
    send_udp(col.port, packets(call("quiet-1@10.0.0.9", bye=False)))
    line = rt.until(lambda: col.line_of("quiet-1@10.0.0.9"), step=0.1)
    check("silent: an answered call silent past hep_silent_sec 1: written and announced "
          "before the stop (closed silent)", line and line.get("closed") == "silent", str(line))
    real_call(col, "silent")
    check("silent: exits 0", col.stop() == 0)


def cat_hep_conns(root):
    """Finding 3: 256 idle TCP connections locked agents out: idle counted from the last byte,
    no share per address, no deadline for the first whole packet."""
    # the pool full of connections that never send a whole packet (16 addresses, 2 bytes each):
    # an agent's connection closes the one waiting longest, and its call is written
    col = Collector(root, "pool", ["--hep-max-conns", "16"])
    if not col.port:
        return
    idle = []
    for i in range(16):
        s = socket.create_connection(("127.0.0.1", col.port), timeout=rt.HANG,
                                     source_address=("127.0.0.%d" % (i + 2), 0))
        s.sendall(b"HE")
        idle.append(s)
    rt.until(lambda: accept_queue(col.port) == 0)
    real_call(col, "pool", "tcp")
    n, first = sum(closed(s) for s in idle), closed(idle[0])
    for s in idle:
        s.close()
    rc = col.stop()
    check("pool: 16 connections of 2 bytes filled --hep-max-conns 16: the agent's connection "
          "closed the oldest of them (%d closed, counted %s); exits 0" % (
              n, col.count("closed before a whole packet")),
          n == 1 and first and col.count("closed before a whole packet") == 1 and
          rc == 0, col.stderr()[-400:])
    # one address's share: of 16 connections from 127.0.0.2 that send nothing whole, 4 stay
    col = Collector(root, "share", ["--hep-max-conns", "16"], {"CALLQA_HEP_CONNS_PER_ADDR": "4"})
    if not col.port:
        return
    idle = []
    for i in range(16):
        s = socket.create_connection(("127.0.0.1", col.port), timeout=rt.HANG,
                                     source_address=("127.0.0.2", 0))
        s.sendall(b"HE")
        idle.append(s)
    rt.until(lambda: accept_queue(col.port) == 0)
    n = rt.until(lambda: sum(closed(s) for s in idle) >= 12 and sum(closed(s) for s in idle))
    check("share: 16 connections from one address with hep_conns_per_addr 4: 12 closed, the "
          "newest 4 open (%s closed)" % n,
          n == 12 and not any(closed(s) for s in idle[12:]), col.stderr()[-400:])
    real_call(col, "share", "tcp")
    for s in idle:
        s.close()
    check("share: exits 0", col.stop() == 0)
    # a byte now and then holds no connection: before its first whole packet (first_sec), and
    # after it (idle counted from the last whole packet, not the last byte)
    col = Collector(root, "trickle", ["--hep-conn-idle-sec", "2"],
                    {"CALLQA_HEP_CONN_FIRST_SEC": "1"})
    if not col.port:
        return
    a = socket.create_connection(("127.0.0.1", col.port), timeout=rt.HANG)
    b = socket.create_connection(("127.0.0.1", col.port), timeout=rt.HANG)
    ping = packet(sip("OPTIONS sip:b@10.0.0.2 SIP/2.0", "ping-1@10.0.0.1", "1 OPTIONS"))
    b.sendall(ping)  # a whole packet: b has identified itself
    half = packet(sip("OPTIONS sip:b@10.0.0.2 SIP/2.0", "ping-2@10.0.0.1", "1 OPTIONS"))
    sent = [0, 0]

    def trickle():
        for i, s in enumerate((a, b)):
            if not closed(s) and sent[i] < len(half) - 1:
                try:
                    s.send(half[sent[i]:sent[i] + 1])
                    sent[i] += 1
                except OSError:
                    pass
        return closed(a) and closed(b)

    done = rt.until(trickle, step=0.2)
    check("trickle: a byte every 0.2 s holds no connection: closed before a whole packet "
          "(hep_conn_first_sec 1) and after one (--hep-conn-idle-sec 2) (%d and %d bytes sent)"
          % tuple(sent), done and max(sent) < len(half) - 1, col.stderr()[-400:])
    real_call(col, "trickle", "tcp")
    rc = col.stop()
    check("trickle: exits 0, its counts: one closed without a packet in time, one idle",
          rc == 0 and col.count("closed without a packet in time (first)") == 1 and
          col.count("closed idle") == 1, col.stderr()[-400:])
    a.close()
    b.close()


def cat_hep_names(root):
    """Finding 9: a call whose Call-ID is not UTF-8 was written and never announced. Finding
    10: an agent's time named the file (0 and 4294967295 accepted)."""
    col = Collector(root, "names")
    if not col.port:
        return
    odd = [b"\xff\xfe-1@10.0.0.1", b"caf\xe9-2@10.0.0.1", b"\xc3\x28-3@10.0.0.1"]
    before = time.time()
    for c in odd:
        send_udp(col.port, packets(call(c)))
    send_udp(col.port, packets(call("epoch0-4@10.0.0.1"), t=0))
    send_udp(col.port, packets(call("epochmax-5@10.0.0.1"), t=4294967295))
    real_call(col, "names")
    after = time.time()
    rt.until(lambda: len(col.lines()) >= 6 and len(col.lines()) == len(col.files()), step=0.1)
    rc = col.stop()
    lines, files = col.lines(), col.files()
    hexes = sorted(x.get("call_id_hex") for x in lines if "call_id_hex" in x)
    check("names: every call written is announced: %d files, %d lines, each file named once" % (
        len(files), len(lines)),
        len(files) == 6 and sorted(x.get("file") for x in lines) == files, "%s %s" % (files, lines))
    check("names: the 3 Call-IDs that are not UTF-8 given exactly in call_id_hex",
          hexes == sorted(c.hex() for c in odd), str(hexes))
    epochs = [int(f.split("-")[1]) for f in files]
    check("names: each file named by its arrival on the collector's clock (agents' times 0 and "
          "4294967295 among them): %s" % sorted(set(epochs)),
          all(int(before) - 1 <= e <= after + 1 for e in epochs), str(files))
    check("names: exits 0", rc == 0)


def short_wav(path, sec=4):
    """the first sec seconds of a corpus call (a WAV of G.711, as it is: its chunks kept, its
    data cut)"""
    d = open(os.path.join(rt.CORPUS, "calls", "call01_normal.wav"), "rb").read()
    out, off, rate = b"", 12, 0
    while off + 8 <= len(d):
        cid, n = d[off:off + 4], struct.unpack("<I", d[off + 4:off + 8])[0]
        body = d[off + 8:off + 8 + n]
        if cid == b"fmt ":
            rate = struct.unpack("<I", body[8:12])[0]  # bytes a second
        if cid == b"data":
            body = body[:rate * sec]
            out += cid + struct.pack("<I", len(body)) + body
            break
        out += cid + struct.pack("<I", n) + body + (b"\0" if n % 2 else b"")
        off += 8 + n + n % 2
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 4 + len(out)) + b"WAVE" + out)


def cat_hep_attach(root):
    """Finding 10: an agent's time decided which stored call a capture joined. A capture whose
    packets claim 2024-05-02 10:30:00 UTC, sent now, against a recording of that time: the
    worker (hep_dir) matched it by that time and gave the call its network; now the files and
    the match are the collector's clock, and it gives none."""
    col = Collector(root, "attach")
    if not col.port:
        return
    t = 1714645800.0
    msgs = call("forged-6@10.0.0.1")
    send_udp(col.port, [packet(m, t + (0, 5, 5.01, 65, 65.01)[i], i % 2 == 0)
                        for i, m in enumerate(msgs)])
    real_call(col, "attach")
    rt.until(lambda: col.line_of("forged-6@10.0.0.1"), step=0.1)
    col.stop()
    forged = col.line_of("forged-6@10.0.0.1") or {}
    w = os.path.join(root, "attach-watched")
    os.makedirs(w, exist_ok=True)
    short_wav(os.path.join(w, "20240502-103005_913125550101.wav"))
    db = os.path.join(root, "attach.db")
    env = dict(os.environ, CALLQA_HEP_DIR=col.dir, TMPDIR=root,
               CALLQA_MODEL_DIR=os.path.join(os.path.dirname(rt.CORPUS.rstrip("/")), "models"))
    subprocess.run([rt.CQ, "ingest", "watch", "--dir", w, "--db", db, "--tz", "UTC",
                    "--settle-sec", "0.2", "--once"], capture_output=True, env=env, timeout=600)
    wk = subprocess.run([rt.CQ, "worker", "--once", "--max-load", "0", "--no-idle", "--db", db],
                        capture_output=True, text=True, env=env, timeout=600)
    reps = [json.loads(r[0]) for r in sqlite3.connect(db).execute("SELECT report FROM analyses")]
    net = reps[0].get("network") if reps else "?"
    check("attach: a forged agent's time (2024-05-02 10:30:00) neither names the file (%s) nor "
          "joins the stored call of that time (network: %s)" % (
              forged.get("file"), net and net.get("capture")),
          len(reps) == 1 and net is None and reps[0].get("network_error") is None and
          forged.get("file", "hep-1714645800-").split("-")[1] != "1714645800",
          "%d reports; worker: %s" % (len(reps), wk.stdout[-300:] + wk.stderr[-300:]))


def folder_bytes(d):
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)
               if os.path.isfile(os.path.join(d, f)))


def cat_hep_disk(root):
    """Finding 10: the HEP folder had no bound on disk. With hep_dir_max_mb 1 and 0.5 MiB of
    evidence already there, 12 calls of 90 KiB: those that fit written, the rest not, each
    counted and said; nothing deleted; once the evidence is moved away, calls are written
    again."""
    d = os.path.join(root, "disk")
    os.makedirs(d, exist_ok=True)
    ev = os.path.join(d, "evidence.pcap")
    with open(ev, "wb") as f:
        f.write(b"\x00" * (512 << 10))
    col = Collector(root, "disk", env={"CALLQA_HEP_DIR_MAX_MB": "1"})
    if not col.port:
        return
    big = ["big-%d@10.0.0.1" % i for i in range(12)]
    for c in big:
        send_udp(col.port, packets(call(c, pad=30000)), every=1)
    said_re = re.compile(r"at its bound \(hep_dir_max_mb 1\): call big-")
    rt.until(lambda: sum(1 for x in col.lines() if x.get("call_id") in big) +
             len(said_re.findall(col.stderr())) >= 12, step=0.1)
    written = [x for x in col.lines() if x.get("call_id") in big]
    said = len(said_re.findall(col.stderr()))
    size = folder_bytes(col.dir)
    check("disk: 12 calls of 90 KiB into a folder bound to 1 MiB holding 0.5 MiB: %d written, "
          "%d not (each said on stderr), the folder %d KiB, the evidence kept" % (
              len(written), said, size >> 10),
          0 < len(written) < 12 and len(written) + said == 12 and size <= 1 << 20 and
          os.path.getsize(ev) == 512 << 10, col.stderr()[-600:])
    os.rename(ev, os.path.join(root, "evidence-moved.pcap"))
    for f in col.files():
        os.rename(os.path.join(col.dir, f), os.path.join(root, f))
    time.sleep(1.1)  # the folder is counted again at most once a second: past it, room again
    real_call(col, "disk")
    rc = col.stop()
    check("disk: exits 0; its count of calls not written matches (%s)" % col.count(
        "calls not written (hep_dir_max_mb)"),
        rc == 0 and col.count("calls not written (hep_dir_max_mb)") == said)


CATEGORIES = [("hep_calls", cat_hep_calls), ("hep_conns", cat_hep_conns),
              ("hep_names", cat_hep_names), ("hep_attach", cat_hep_attach),
              ("hep_disk", cat_hep_disk)]
