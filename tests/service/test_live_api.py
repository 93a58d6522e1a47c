#!/usr/bin/env python3
"""test_live_api.py - the calls in progress in the QA service (/api/live/*, docs/live.md).

    test_live_api.py BUILD/callqa [BUILD/tests/as_send]

`callqa serve` on 127.0.0.1 with a SQLite store, its shared token, users made with `callqa user
add` (a supervisor, an agent, a supervisor limited to a campaign) and --live-events FILE, where
the test writes event lines as `callqa live --events FILE` does (docs/live/server.md, "Event lines"),
with fields the service does not know. Checked:
- a call begun before the service started (read back from the file) is active at once;
- the roles: no credential 401, an agent 403 forbidden, a campaign-limited supervisor 403
  out_of_scope, the supervisor served; a malformed ?call= is 400;
- the stream: every call's, one call's (?call=), heartbeats, resuming with Last-Event-ID from
  the ring (an id of an earlier process: from now), the ids in order; 40,000 lines in bursts
  of 2,000 all delivered to a client that reads, and a client that stopped reading ended;
- malformed lines (not JSON, not an object, no type, a bad call id, a line over the limit) are
  counted and skipped; a call_end moves its call to the recently ended list with its reason;
- the file truncated, then rotated by rename (the old file's last lines read, then the new
  one's);
- a second service with live_mask_digits, started before its file exists: the file is picked up
  when it appears and keyed digits are '*' in both routes;
- with as_send, the real `callqa live --audiosocket` writing the file: a call with a DTMF frame
  and a hangup, and the stats line, as the service reads them.
Prints TAP lines; exits 1 on any failure.
"""
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cqport import free_port  # noqa: E402  a port below the ephemeral range

CQ = sys.argv[1]
# tests/live/as_send: `callqa live` end to end (left out when it was not built: the TSan build)
AS_SEND = sys.argv[2] if len(sys.argv) > 2 and os.path.exists(sys.argv[2]) else None
T = tempfile.mkdtemp(prefix="callqa-live-api-")
DB = os.path.join(T, "store.db")
EV = os.path.join(T, "live.jsonl")
TOKEN = "live-api-test-token-0123456789"
n = 0
fails = 0
procs = []


def check(name, ok, detail=""):
    global n, fails
    n += 1
    print(("ok %d - %s" if ok else "not ok %d - %s") % (n, name) + ("" if ok else "  # " + str(detail)[:600]))
    sys.stdout.flush()
    if not ok:
        fails += 1


def run(*args, stdin=None):
    return subprocess.run([CQ, *args], input=stdin, capture_output=True, text=True)


def wall(ago=0.0):
    t = time.time() - ago
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % int((t % 1) * 1000)


def line(path, obj_or_text):
    with open(path, "a", encoding="utf-8") as f:
        f.write((obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text)) + "\n")


def ev(call, typ, **kw):
    o = {"call": call, "type": typ}
    o.update(kw)
    o.setdefault("call_sec", 1.0)
    o.setdefault("wall", wall())
    return o


# HANG: how long an awaited state may take before the test calls it a hang (a slow machine, the
# sanitizers at nice 19, only make it come later)
HANG = 120.0


def until(pred, sec=HANG):
    """pred() as soon as it holds, polled every 50 ms; its last value after sec seconds."""
    end = time.monotonic() + sec
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def start(port, *extra, env=None):
    e = dict(os.environ, CALLQA_EVENTS_HEARTBEAT_SEC="1")
    e.update(env or {})
    path = os.path.join(T, "serve-%d.log" % port)
    log = open(path, "w")
    p = subprocess.Popen([CQ, "serve", "--db", DB, "--listen", "127.0.0.1:%d" % port, *extra],
                         stdout=log, stderr=log, env=e)
    procs.append(p)

    def up():
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=HANG)
            c.request("GET", "/health")
            c.getresponse().read()
            return True
        except OSError:
            return p.poll() is not None
    if not until(up) or p.poll() is not None:
        raise SystemExit("not ok - the service on port %d did not start: %s" % (port, open(path).read()[-2000:]))
    return p


def get(port, path, tok=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=HANG)
    h = {"Authorization": "Bearer " + tok} if tok else {}
    c.request("GET", path, headers=h)
    r = c.getresponse()
    body = r.read()
    try:
        return r.status, json.loads(body)
    except ValueError:
        return r.status, body


class Stream:
    """A server-sent event stream read in a thread: its events (id, event, data) and comments."""

    def __init__(self, port, path, tok=None, last=None, read=True):
        self.events, self.comments, self.status, self.ended = [], 0, None, False
        self.error, self.stopped = None, False  # stopped: the reading thread has returned
        self.sock = socket.socket()
        if not read:  # a client that stops reading: a small receive window
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(HANG)
        self.sock.connect(("127.0.0.1", port))
        h = "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % (path, port)
        if tok:
            h += "Authorization: Bearer %s\r\n" % tok
        if last is not None:
            h += "Last-Event-ID: %s\r\n" % last
        self.sock.sendall((h + "\r\n").encode())
        self.t = threading.Thread(target=self._read, daemon=True)
        if read:
            self.t.start()

    def start(self):
        self.t.start()

    def _read(self):
        try:
            self._read_all()
        finally:
            self.stopped = True

    def _read_all(self):
        f = self.sock.makefile("rb")
        try:
            status = f.readline().split()
            self.status = int(status[1]) if len(status) > 1 else 0
            chunked = False
            while True:
                h = f.readline()
                if h in (b"\r\n", b"\n", b""):
                    break
                chunked |= h.lower().startswith(b"transfer-encoding:") and b"chunked" in h.lower()
            buf, cur = b"", {}
            while True:
                if chunked:
                    size = f.readline()
                    if not size or int(size.split(b";")[0], 16) == 0:
                        self.ended = True
                        return
                    data = f.read(int(size.split(b";")[0], 16))
                    f.readline()
                else:
                    data = f.read1(65536)
                    if not data:
                        self.ended = True
                        return
                buf += data
                while b"\n" in buf:
                    raw, buf = buf.split(b"\n", 1)
                    ln = raw.decode("utf-8", "replace").rstrip("\r")
                    if ln.startswith(":"):
                        self.comments += 1
                    elif ln.startswith("id: "):
                        cur["id"] = int(ln[4:])
                    elif ln.startswith("event: "):
                        cur["event"] = ln[7:]
                    elif ln.startswith("data: "):
                        cur["data"] = json.loads(ln[6:])
                    elif ln == "" and "data" in cur:
                        self.events.append(cur)
                        cur = {}
        except (OSError, ValueError) as e:  # not an end of the stream: the checks fail
            self.error = str(e)
            return

    def wait(self, pred, sec=HANG):
        """pred(self) as soon as it holds; False at once when the stream has stopped without it"""
        return until(lambda: pred(self) or self.stopped, sec) and pred(self)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def calls_of(doc, key):
    return sorted(c["call"] for c in doc.get(key, []))


def wait_calls(port, tok, pred, sec=HANG, path="/api/live/calls"):
    end = time.monotonic() + sec
    doc = {}
    while time.monotonic() < end:
        s, doc = get(port, path, tok)
        if s == 200 and pred(doc):
            return doc
        time.sleep(0.1)
    return doc


def live_metric(port, name):
    """a callqa_live_* value on /metrics (None when absent)"""
    _, body = get(port, "/metrics", TOKEN)
    for ln in (body.decode() if isinstance(body, bytes) else str(body)).splitlines():
        if ln.startswith(name + " "):
            return float(ln.rsplit(" ", 1)[1])
    return None


try:
    # ---- users and the token ----------------------------------------------------------------------
    tok_path = os.path.join(T, "token")
    with open(tok_path, "w") as f:
        f.write(TOKEN + "\n")
    os.chmod(tok_path, 0o600)
    tokens = {}
    for name, role, scope in (("sue", "supervisor", None), ("ann", "agent", None),
                              ("dana", "supervisor", "campaign:C1")):
        args = ["user", "add", name, "--role", role, "--db", DB]
        if scope:
            args += ["--scope", scope]
        r = run(*args, "--password-stdin", stdin="a-long-password-1\n")
        tokens[name] = run("user", "token", name, "--db", DB).stdout.strip()
        check("callqa user add %s (%s)" % (name, role), r.returncode == 0 and tokens[name], r.stderr)
    sue = tokens["sue"]

    # ---- a call begun before the service, read back from the file ---------------------------------
    # 1.5 MiB of ended calls first: only the last 1 MiB is read back, from a line's start
    with open(EV, "w", encoding="utf-8") as f:
        k = 0
        while f.tell() < 1536 * 1024:
            f.write(json.dumps(ev("OLD%05d" % k, "speech", id=1, state="closed", start=0.0, end=1.0)) + "\n")
            f.write(json.dumps(ev("OLD%05d" % k, "call_end", reason="hangup", audio_sec=1.0)) + "\n")
            k += 1
    old_lines = 2 * k
    line(EV, ev("B0", "speech", id=1, state="open", start=0.2, source="audiosocket", extra={"x": 1}))
    line(EV, ev("B0", "dtmf", digit="4", start=0.9, source="audiosocket"))
    P = free_port()
    serve = start(P, "--token-file", tok_path, "--live-events", EV)
    doc = wait_calls(P, sue, lambda d: calls_of(d, "active") == ["B0"])
    check("a call begun before the service started is active at once (read back)",
          calls_of(doc, "active") == ["B0"] and doc["active"][0]["dtmf"] == 1 and
          doc["active"][0]["source"] == "audiosocket" and doc["following"] and doc["file"] == "live.jsonl",
          doc)
    c = doc.get("counts", {})
    check("read back: the file's last 1 MiB only, no line counted bad (%d of %d lines)" % (c.get("lines", 0), old_lines + 2),
          0 < c.get("lines", 0) < old_lines and c.get("bad_lines") == 0 and c.get("long_lines") == 0 and
          c.get("ended") == 64, c)
    check("no digits masked without redaction or live_mask_digits",
          any(e.get("digit") == "4" for e in doc.get("recent", [])) and doc["mask_digits"] is False, doc)

    # ---- roles -----------------------------------------------------------------------------------
    bad = []
    for path in ("/api/live/calls", "/api/live/events"):
        for who, tok, want, code in (("nobody", None, 401, None), ("an agent", tokens["ann"], 403, "forbidden"),
                                     ("a campaign-limited supervisor", tokens["dana"], 403, "out_of_scope")):
            s, b = get(P, path, tok)
            if s != want or (code and (not isinstance(b, dict) or b.get("code") != code)):
                bad.append("%s as %s: %d %s" % (path, who, s, b))
    check("no credential 401, an agent 403 forbidden, a campaign-limited supervisor 403 out_of_scope", not bad, bad)
    s, _ = get(P, "/api/live/calls", TOKEN)
    check("the shared token (admin) is served", s == 200)
    bad = []
    for q in ("a%20b", "", "x" * 129, "%00x", "%C3%A9"):
        for path in ("/api/live/calls", "/api/live/events"):
            s, b = get(P, "%s?call=%s" % (path, q), sue)
            if s != 400:
                bad.append("%s?call=%s: %d" % (path, q[:20], s))
    check("?call= not 1-128 printable characters is 400", not bad, bad)

    # ---- the stream ------------------------------------------------------------------------------
    every = Stream(P, "/api/live/events", sue)
    one = Stream(P, "/api/live/events?call=C1", sue)
    # the status line comes after the stream joined the hub: the lines below reach both
    check("both streams open (200)", every.wait(lambda s: s.status is not None) and every.status == 200 and
          one.wait(lambda s: s.status is not None) and one.status == 200, (every.status, one.status))
    line(EV, ev("C1", "speech", id=1, state="open", start=0.0, source="audiosocket", future_field=[1, 2]))
    line(EV, ev("C2", "ringback", id=1, state="open", start=0.0))
    line(EV, "this is not JSON")
    line(EV, "[1,2,3]")
    line(EV, json.dumps({"call": "C1", "wall": wall()}))  # no type
    line(EV, json.dumps({"call": "bad id", "type": "speech", "wall": wall()}))
    line(EV, json.dumps({"call": "C1", "type": "speech", "pad": "x" * 20000}))
    line(EV, ev("C1", "dtmf", digit="7", start=1.5))
    line(EV, ev("C1", "dtmf", id=2, state="closed", start=1.4, end=1.6, digits="7"))
    line(EV, ev("C1", "human", id=3, state="closed", start=2.0, end=2.0, rule="quiet_handover"))
    line(EV, ev("C2", "speech", id=2, state="open", start=1.0))
    line(EV, {"type": "stats", "final": False, "accepted": 3, "active": 3, "wall": wall()})
    ok = every.wait(lambda s: len(s.events) >= 6) and one.wait(lambda s: len(s.events) >= 4)
    check("every call's stream has the 6 good lines, in order with rising ids",
          [(e["data"]["call"], e["data"]["type"]) for e in every.events] ==
          [("C1", "speech"), ("C2", "ringback"), ("C1", "dtmf"), ("C1", "dtmf"), ("C1", "human"), ("C2", "speech")]
          and all(e["event"] == "live" for e in every.events)
          and [e["id"] for e in every.events] == sorted({e["id"] for e in every.events}),
          every.events)
    check("?call=C1 carries C1's lines only",
          ok and [e["data"]["type"] for e in one.events] == ["speech", "dtmf", "dtmf", "human"]
          and all(e["data"]["call"] == "C1" for e in one.events), one.events)
    check("unknown fields are kept as they are", every.events and every.events[0]["data"].get("future_field") == [1, 2],
          every.events[:1])
    check("heartbeats on the streams", every.wait(lambda s: s.comments >= 1), every.comments)
    doc = wait_calls(P, sue, lambda d: d["counts"]["bad_lines"] >= 4 and d["counts"]["long_lines"] >= 1 and
                     d.get("stats") is not None)
    c = doc["counts"]
    check("malformed lines counted and skipped (4 bad, 1 too long), the service still up",
          c["bad_lines"] == 4 and c["long_lines"] == 1 and serve.poll() is None, c)
    a = {x["call"]: x for x in doc["active"]}
    check("C1's summary: last type human, decision human, 2 DTMF",
          "C1" in a and a["C1"]["last_type"] == "human" and a["C1"]["decision"] == "human" and a["C1"]["dtmf"] == 2,
          a.get("C1"))
    check("the last stats line is kept", isinstance(doc.get("stats"), dict) and doc["stats"].get("accepted") == 3,
          doc.get("stats"))
    s, d1 = get(P, "/api/live/calls?call=C1", sue)
    check("/api/live/calls?call=C1: that call and its events only",
          s == 200 and calls_of(d1, "active") == ["C1"] and d1["recent"] and
          all(e["call"] == "C1" for e in d1["recent"]), d1)

    # ---- resume with Last-Event-ID -----------------------------------------------------------------
    first_c1 = one.events[0]["id"]
    again = Stream(P, "/api/live/events?call=C1", sue, last=first_c1)
    again.wait(lambda s: len(s.events) >= 3)
    check("Last-Event-ID resumes within the ring: C1's three events after it",
          [e["id"] for e in again.events] == [e["id"] for e in one.events[1:]], (again.events, one.events))
    again.close()
    older = Stream(P, "/api/live/events", sue, last=5)
    # a replay would come before the stream's first heartbeat
    older.wait(lambda s: s.comments >= 1)
    check("an id of an earlier process resumes from now (nothing replayed)",
          older.status == 200 and older.comments >= 1 and not older.events, (older.comments, older.events[:2]))
    older.close()
    s, b = get(P, "/api/live/events?after=x1", sue)
    check("a malformed event id is 400", s == 400, s)

    # ---- call_end ----------------------------------------------------------------------------------
    line(EV, ev("C1", "call_end", reason="hangup", error=None, rate_hz=8000, audio_sec=3.2, analysed_sec=3.2,
                audio_dropped_sec=0.0))
    doc = wait_calls(P, sue, lambda d: "C1" in calls_of(d, "ended"))
    e = [x for x in doc.get("ended", []) if x["call"] == "C1"]
    check("call_end: C1 leaves the active calls for the ended ones, with its reason",
          "C1" not in calls_of(doc, "active") and e and e[0]["reason"] == "hangup" and e[0]["audio_sec"] == 3.2,
          doc.get("ended"))
    check("the streams carry the call_end", one.wait(lambda s: s.events[-1]["data"]["type"] == "call_end"),
          one.events[-1:])

    # ---- truncation, then rotation by rename -------------------------------------------------------
    with open(EV, "w"):
        pass
    time.sleep(0.6)
    line(EV, ev("C3", "speech", id=1, state="open", start=0.0))
    doc = wait_calls(P, sue, lambda d: "C3" in calls_of(d, "active"))
    check("the file truncated: read again from its start",
          "C3" in calls_of(doc, "active") and doc["counts"]["truncations"] >= 1, doc.get("counts"))
    line(EV, ev("C3", "call_end", reason="peer_closed"))
    os.rename(EV, EV + ".1")
    line(EV, ev("C4", "speech", id=1, state="open", start=0.0))
    doc = wait_calls(P, sue, lambda d: "C4" in calls_of(d, "active") and "C3" in calls_of(d, "ended"))
    check("rotated by rename: the old file's last line, then the new file's",
          "C4" in calls_of(doc, "active") and "C3" in calls_of(doc, "ended") and doc["counts"]["rotations"] >= 1,
          (doc.get("counts"), calls_of(doc, "active"), calls_of(doc, "ended")))
    check("the stream goes on across both", every.wait(lambda s: s.events[-1]["data"]["call"] == "C4"),
          every.events[-2:])

    # ---- the follower's metrics ------------------------------------------------------------------
    s, doc = get(P, "/api/live/calls", sue)
    ms, body = get(P, "/metrics", TOKEN)
    text = body.decode() if isinstance(body, bytes) else str(body)
    m = {}
    for l in text.splitlines():
        if l.startswith("callqa_live_"):
            k, _, v = l.rpartition(" ")
            m[k] = float(v)
    c = doc["counts"]
    check("/metrics: the follower's counts as /api/live/calls gives them",
          ms == 200 and m.get("callqa_live_lines_total") == c["lines"] and
          m.get("callqa_live_bad_lines_total") == c["bad_lines"] and
          m.get("callqa_live_truncations_total") == c["truncations"] >= 1 and
          m.get("callqa_live_rotations_total") == c["rotations"] >= 1 and
          m.get('callqa_live_calls{state="active"}') == c["active"] and
          m.get("callqa_live_following") == 1 and m.get("callqa_live_event_streams", 0) >= 2 and
          "callqa_live_lag_bytes" in m and m.get("callqa_live_last_line_age_seconds", -1) >= 0,
          (ms, m, c))
    if shutil.which("promtool"):
        r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        check("/metrics with the follower's passes promtool check metrics", r.returncode == 0,
              r.stdout + r.stderr)

    # ---- a client that stops reading is ended; one that reads gets everything -------------------
    # the streams closed above have left the hub (every and one remain), then the client that
    # will not read joins it before the burst: the service counts three streams
    until(lambda: live_metric(P, "callqa_live_event_streams") == 2)
    slow = Stream(P, "/api/live/events", sue, read=False)
    streams = until(lambda: live_metric(P, "callqa_live_event_streams") == 3)
    check("the client that will not read has joined the streams", streams,
          live_metric(P, "callqa_live_event_streams"))
    # bursts of 2,000 lines (400 kB) written at once, each after the reading client has had the
    # last: a client that keeps up is never the 1 MiB behind that ends a stream, however slowly
    # this machine runs it (a whole 8 MB at once would end a client starved of CPU, by design)
    n0 = len(every.events)
    burst, chunk = 40000, 2000
    for b in range(0, burst, chunk):
        with open(EV, "a", encoding="utf-8") as f:
            for i in range(b, b + chunk):
                f.write(json.dumps(ev("F%d" % (i % 100), "speech", id=i, state="open", start=0.0,
                                      pad="y" * 120)) + "\n")
        if not every.wait(lambda s: len(s.events) >= n0 + b + chunk):
            break
    check("%d lines (8 MB) in bursts of %d: the stream that reads gets them all" % (burst, chunk),
          len(every.events) - n0 == burst and not every.ended,
          (len(every.events) - n0, every.ended, every.error))
    slow.start()
    slow.wait(lambda s: s.ended)
    check("the client that stopped reading was ended, more than 1 MiB behind (%d events had)" % len(slow.events),
          slow.ended and len(slow.events) < burst, len(slow.events))
    slow.close()
    check("the service is still up", serve.poll() is None and get(P, "/api/live/calls", sue)[0] == 200)
    for st in (every, one):
        st.close()

    # ---- a second service: the file appears later, digits masked ------------------------------------
    EV2 = os.path.join(T, "later.jsonl")
    P2 = free_port()
    start(P2, "--no-auth", "--live-events", EV2, env={"CALLQA_LIVE_MASK_DIGITS": "true"})
    s, doc = get(P2, "/api/live/calls")
    check("a file not there yet: served, not following", s == 200 and doc["following"] is False, doc)
    masked = Stream(P2, "/api/live/events")
    masked.wait(lambda s: s.status is not None)  # joined: the lines below reach it
    line(EV2, ev("M1", "dtmf", digit="9", start=0.5))
    line(EV2, ev("M1", "dtmf", id=1, state="closed", start=0.4, end=0.9, digits="8275#"))
    doc = wait_calls(P2, None, lambda d: d["counts"]["lines"] >= 2)
    rec = doc.get("recent", [])
    check("the file picked up when it appears", doc.get("following") is True and calls_of(doc, "active") == ["M1"],
          doc)
    check("live_mask_digits: keyed digits are '*' in /api/live/calls",
          doc.get("mask_digits") is True and [e.get("digit") or e.get("digits") for e in rec] == ["*", "*****"], rec)
    masked.wait(lambda s: len(s.events) >= 2)
    check("... and in the stream",
          [e["data"].get("digit") or e["data"].get("digits") for e in masked.events] == ["*", "*****"],
          masked.events)
    masked.close()
    P5 = free_port()
    start(P5, "--no-auth", "--live-events", EV2, env={"CALLQA_REDACT": "card"})
    doc = wait_calls(P5, None, lambda d: len(d.get("recent", [])) >= 2)
    rec = doc.get("recent", [])
    check("a redacted campaign masks them too (redact = card, read back from the file)",
          doc.get("mask_digits") is True and [e.get("digit") or e.get("digits") for e in rec] == ["*", "*****"], rec)
    # the dashboard learns from its session whether to ask for the live routes at all
    s0, b0 = get(P5, "/api/session")
    check("GET /api/session with live_events: live_feed true", s0 == 200 and b0.get("live_feed") is True, b0)
    P3 = free_port()
    start(P3, "--no-auth")
    s1, b1 = get(P3, "/api/live/calls")
    s2, b2 = get(P3, "/api/live/events")
    check("without live_events both routes say so (404 live_off)",
          s1 == 404 and s2 == 404 and b1.get("code") == "live_off" and b2.get("code") == "live_off", (s1, b1, s2))
    s0, b0 = get(P3, "/api/session")
    check("... and GET /api/session says live_feed false (the dashboard asks neither)",
          s0 == 200 and b0.get("live_feed") is False, b0)

    # ---- end to end: `callqa live` writes, the service follows ------------------------------------
    if AS_SEND:
        import math
        import struct
        wav = os.path.join(T, "tone.wav")
        data = b"".join(struct.pack("<h", int(3000 * math.sin(2 * math.pi * 440 * i / 8000))) for i in range(24000))
        with open(wav, "wb") as f:
            f.write(b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE")
            f.write(b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16))
            f.write(b"data" + struct.pack("<I", len(data)) + data)
        EV4, LP, P4 = os.path.join(T, "real.jsonl"), free_port(), free_port()
        live = subprocess.Popen([CQ, "live", "--audiosocket", "127.0.0.1:%d" % LP, "--events", EV4,
                                 "--stats-sec", "1"], stdout=subprocess.DEVNULL,
                                stderr=open(os.path.join(T, "live.log"), "w"))
        procs.append(live)
        start(P4, "--no-auth", "--live-events", EV4)
        # callqa live listens once it names its port (its models may take a while to load)
        until(lambda: ("AudioSocket on 127.0.0.1 port %d," % LP) in open(os.path.join(T, "live.log")).read()
              or live.poll() is not None)
        uuid = "0123456789abcdef0123456789abcdef"
        r = subprocess.run([AS_SEND, "--port", str(LP), "--uuid", uuid, "--file", wav, "--pace", "0",
                            "--dtmf", "1:5", "--end", "hangup"], capture_output=True, text=True, timeout=600)
        call = "01234567-89ab-cdef-0123-456789abcdef"
        # a stats line comes every second: the one after the call (one written before it, with
        # nothing accepted yet, may be the newest when the call_end line comes)
        doc = wait_calls(P4, None, lambda d: call in calls_of(d, "ended") and
                         (d.get("stats") or {}).get("accepted", 0) >= 1)
        e = [x for x in doc.get("ended", []) if x["call"] == call]
        check("callqa live's own lines: its call ended (hangup), source audiosocket, 1 DTMF, its stats line",
              e and e[0]["reason"] == "hangup" and e[0]["source"] == "audiosocket" and e[0]["dtmf"] == 1 and
              doc["stats"].get("accepted") == 1 and doc["counts"]["bad_lines"] == 0, (r.stdout, r.stderr, doc))
finally:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
    if not fails:
        shutil.rmtree(T, ignore_errors=True)
print("1..%d" % n)
sys.exit(1 if fails else 0)
