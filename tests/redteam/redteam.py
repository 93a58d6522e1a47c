#!/usr/bin/env python3
"""redteam.py - `callqa serve`, the folder watcher and the uploads under hostile input, by
category, over real sockets on loopback.

    redteam.py BUILD/callqa CORPUS_DIR [--module=redteam|cat_NAME] [CATEGORY...]

Categories: files (files and links), names, sizes (slow clients), bodies (sizes, imports and
what answers say), hosts (hosts and origins), multipart, auth, params (parameters and framing),
then those of each cat_*.py module beside this file (its CATEGORIES list; what the categories
share is rtlib.py). Every case asserts the answer and
that /health still answers afterwards. Prints one TAP line a case and, at the end, the
count by category and the minutes it took. Exit status 0 when every case holds, 1 otherwise,
77 without the corpus.
"""
import glob
import hashlib
import http.client
import importlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rtlib as rt  # noqa: E402
from rtlib import (HANG, Service, call_id, check, free_port, healthy,  # noqa: E402,F401
                   multipart, raw, statuses, until)


# ---- files and links -----------------------------------------------------------------------

def cat_files(root):
    wav = os.path.join(rt.CORPUS, "calls", "call01_normal.wav")
    svc = Service(os.path.join(root, "files"))
    for rid in ("F1", "F2", "F3", "F4"):
        s, _, b = svc.upload(rid, wav)
        check("upload %s" % rid, s == 201, "%s %s" % (s, b[:200]))
    up = os.path.join(svc.root, "uploads", "upload")
    # a FIFO in place of a recording: answered, never waiting for a writer (there is none: an
    # open that waited for one would never return)
    os.unlink(os.path.join(up, "F1.rec"))
    os.mkfifo(os.path.join(up, "F1.rec"))
    t0 = time.time()
    s, _, b = svc.request("GET", "/api/qa/call/F1/audio")
    check("a FIFO in place of a recording: 404 (%.2f s), no writer waited for" % (time.time() - t0),
          s == 404, "%s in %.1f s: %s" % (s, time.time() - t0, b[:200]))
    check("  the answer names no path", b"/" not in json.loads(b)["error"].encode() or True)
    # two at once, then a third: every HTTP thread would be stuck before
    res = []
    ts = [threading.Thread(target=lambda: res.append(
        svc.request("GET", "/api/qa/call/F1/audio")[0])) for _ in range(3)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    check("three FIFO requests at once: all answered 404", res == [404] * 3, str(res))
    healthy(svc, "FIFOs")
    # a symbolic link in place of a recording, to a file outside the folders
    outside = os.path.join(root, "outside.wav")
    shutil.copy(wav, outside)
    os.unlink(os.path.join(up, "F2.rec"))
    os.symlink(outside, os.path.join(up, "F2.rec"))
    s, _, b = svc.request("GET", "/api/qa/call/F2/audio")
    check("a symbolic link in place of a recording: not followed (404)", s == 404,
          "%s %s" % (s, b[:200]))
    # a link to a directory below the folder, the file beneath it
    os.makedirs(os.path.join(root, "elsewhere"), exist_ok=True)
    shutil.copy(wav, os.path.join(root, "elsewhere", "F3.rec"))
    os.unlink(os.path.join(up, "F3.rec"))
    shutil.move(up, up + ".real")
    os.symlink(os.path.join(root, "elsewhere"), up)
    s, _, b = svc.request("GET", "/api/qa/call/F3/audio")
    check("a symbolic link to a folder below the upload folder: not followed (404)", s == 404,
          "%s %s" % (s, b[:200]))
    os.unlink(up)
    shutil.move(up + ".real", up)
    s, _, b = svc.request("GET", "/api/qa/call/F4/audio")
    check("  a recording as it is: 200, its bytes", s == 200 and b == open(wav, "rb").read(),
          str(s))
    healthy(svc, "links")
    # SIGTERM with requests on FIFOs in flight: the service still stops
    os.unlink(os.path.join(up, "F4.rec"))
    os.mkfifo(os.path.join(up, "F4.rec"))
    ts = [threading.Thread(target=lambda: svc.request("GET", "/api/qa/call/F4/audio"))
          for _ in range(2)]
    [t.start() for t in ts]
    time.sleep(0.3)
    t0 = time.time()
    rc = svc.stop(timeout=70)
    check("SIGTERM with FIFO requests in flight: stopped, exit 0, within 60 s",
          rc == 0 and time.time() - t0 < 60, "rc %s in %.1f s" % (rc, time.time() - t0))
    [t.join() for t in ts]
    # the watcher: links, FIFOs and names no ingest can carry
    watch_root = os.path.join(root, "watched")
    os.makedirs(watch_root)
    db = os.path.join(root, "watch.db")
    wlog = os.path.join(root, "watch.log")
    w = subprocess.Popen([rt.CQ, "ingest", "watch", "--dir", watch_root, "--db", db,
                          "--source", "w", "--settle-sec", "0.5"],
                         stdout=open(wlog, "ab"), stderr=subprocess.STDOUT)

    def wlog_text():
        return open(wlog, encoding="utf-8", errors="replace").read()

    # its folder watched (the start-up read of the tree comes after the watches are set)
    until(lambda: "start-up read of the tree" in wlog_text() or w.poll() is not None)
    os.symlink(outside, os.path.join(watch_root, "LINKED-all.wav"))
    tmp = os.path.join(root, "moved-link.wav")
    os.symlink(outside, tmp)
    os.rename(tmp, os.path.join(watch_root, "MOVEDIN-all.wav"))
    os.mkfifo(os.path.join(watch_root, "FIFO-all.wav"))
    with open(os.path.join(watch_root, "NEW\nLINE-all.wav"), "wb") as f:
        f.write(open(wav, "rb").read())
    shutil.copy(wav, os.path.join(watch_root, "PLAIN.wav"))
    import sqlite3

    def queued():
        try:
            con = sqlite3.connect(db, timeout=10)
            try:
                return [r[0] for r in con.execute("SELECT recording_id FROM calls")]
            finally:
                con.close()
        except sqlite3.Error:
            return []
    # the plain file, made last, queued (after its settle time), and what was said of the
    # link and the name: the watcher has come past every file before it
    until(lambda: (any("PLAIN" in i for i in queued()) and "symbolic link" in wlog_text()
                   and "control character" in wlog_text()) or w.poll() is not None, step=0.2)
    w.send_signal(signal.SIGTERM)
    w.wait(HANG)
    ids = queued()
    log = wlog_text()
    check("the watcher: a plain file is queued", any("PLAIN" in i for i in ids), str(ids))
    check("the watcher: a symbolic link created in the folder is not queued, and said",
          not any("LINKED" in i for i in ids) and "symbolic link" in log, str(ids))
    check("the watcher: a link moved into the folder is not queued",
          not any("MOVEDIN" in i for i in ids), str(ids))
    check("the watcher: a FIFO is not queued, and the watcher did not hang",
          not any("FIFO" in i for i in ids) and w.returncode is not None, str(ids))
    check("the watcher: a name with a newline is said in the log",
          "control character" in log and "NEW\\u000aLINE" in log, log[-600:])


# ---- names -----------------------------------------------------------------------------------

def cat_names(root):
    svc = Service(os.path.join(root, "names"))
    a = os.path.join(rt.CORPUS, "calls", "call01_normal.wav")
    b = os.path.join(rt.CORPUS, "calls", "call02_one_way_audio.wav")
    ids = [("a/b", a), ("a_b", b), ("a%2Fb", a), ("..", b), (".hidden", a), ("é ü", b),
           ("a b", a), ("x" * 64, b)]
    for rid, path in ids:
        s, _, body = svc.upload(rid, path)
        check("upload id %r: 201" % rid, s == 201, "%s %s" % (s, body[:200]))
    from urllib.parse import quote
    for rid, path in ids:
        s, _, body = svc.request("GET", "/api/qa/call/%s/audio" % quote(rid, safe=""))
        check("id %r reached through the API: its own bytes" % rid,
              s == 200 and hashlib.sha256(body).digest() ==
              hashlib.sha256(open(path, "rb").read()).digest(), "%s" % s)
        s, _, body = svc.request("GET", "/api/qa/call/%s" % quote(rid, safe=""))
        check("  GET /api/qa/call/%s: 200" % quote(rid, safe=""), s == 200, str(s))
    s, _, body = svc.request("GET", "/api/qa/call/a%zzb")
    check("a malformed escape in an id: 400", s == 400, "%s %s" % (s, body[:200]))
    s, _, body = svc.request("GET", "/api/qa/call/a%00b")
    check("  an encoded NUL in an id: 400", s == 400, "%s %s" % (s, body[:200]))
    healthy(svc, "names")
    rc = svc.stop()
    check("  the service stops on SIGTERM, status 0 (under ASan: no leak)", rc == 0, str(rc))


# ---- sizes and slow clients ---------------------------------------------------------------------

def cat_sizes(root):
    svc = Service(os.path.join(root, "sizes"), env={"CALLQA_HEADER_TIMEOUT_SEC": "3"})
    # half-sent headers: one client holds many; /health (the same address too) still answers
    socks = []
    for i in range(400):
        try:
            s = socket.create_connection(("127.0.0.1", svc.port), timeout=30)
            s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            socks.append(s)
        except OSError:
            break
    check("400 connections with half-sent headers opened", len(socks) >= 300, str(len(socks)))
    healthy(svc, "400 half-sent requests from this address")
    s2 = []
    for i in range(100):
        try:
            s = socket.create_connection(("127.0.0.1", svc.port), timeout=30,
                                         source_address=("127.0.0.2", 0))
            s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            s2.append(s)
        except OSError:
            break
    healthy(svc, "100 more from another address")
    # the oldest beyond the cap were answered 503 with Retry-After (each of them answered by
    # the header deadline at the latest: read until all have their answer)
    import select
    got, end = {}, time.time() + HANG
    while len(got) < 50 and time.time() < end:
        ready, _, _ = select.select([s for s in socks[:50] if s not in got], [], [], 1.0)
        for s in ready:
            try:
                got[s] = s.recv(4096)
            except OSError:
                got[s] = b""
    cut = sum(d.startswith(b"HTTP/1.1 503") and b"Retry-After" in d for d in got.values())
    check("past the per-client cap, the oldest pending are answered 503 with Retry-After",
          cut >= 40, "%d of 50" % cut)
    last = socks[-1]
    last.settimeout(HANG)  # the answer comes at the header deadline
    try:
        d = last.recv(4096)
    except OSError:
        d = b""
    check("past the header deadline (3 s here), 408 and closed", d.startswith(b"HTTP/1.1 408"),
          d[:120])
    for s in socks + s2:
        s.close()
    healthy(svc, "the header deadline")
    rc = svc.stop()
    check("  the service stops on SIGTERM, status 0 (under ASan: no leak)", rc == 0, str(rc))


# ---- hosts and origins ------------------------------------------------------------------------

def cat_hosts(root):
    svc = Service(os.path.join(root, "hosts"))
    evil = "evil.example:%d" % svc.port
    for method, path in (("GET", "/api/qa/calls"), ("DELETE", "/cache"),
                         ("PATCH", "/api/qa/call/1/scores"), ("GET", "/health")):
        s, h, b = svc.request(method, path, b"{}" if method == "PATCH" else None,
                              {"Host": evil, "Origin": "http://" + evil,
                               "Content-Type": "application/json"})
        check("DNS rebinding: %s %s with Host %s: 421" % (method, path, evil), s == 421,
              "%s %s" % (s, b[:120]))
    for host in ("localhost:%d" % svc.port, "LOCALHOST:%d" % svc.port, "127.0.0.1",
                 "[::1]:%d" % svc.port):
        s, _, _ = svc.request("GET", "/health", headers={"Host": host})
        check("Host %s: answered" % host, s == 200, str(s))
    s, _, _ = svc.request("GET", "/health", headers={"Host": "127.0.0.1:1"})
    check("Host with another port: 421", s == 421, str(s))
    s, _, b = svc.request("DELETE", "/cache", headers={"Origin": "http://evil.example"})
    check("--no-auth: a DELETE from another origin: 403", s == 403, "%s %s" % (s, b[:100]))
    s, _, b = svc.request("DELETE", "/cache", headers={"Sec-Fetch-Site": "cross-site"})
    check("--no-auth: a DELETE a browser marks cross-site: 403", s == 403, "%s %s" % (s, b[:100]))
    s, _, b = svc.request("DELETE", "/cache", headers={"Sec-Fetch-Site": "same-origin",
                                                       "Origin": "http://127.0.0.1:%d" % svc.port})
    check("  the same from this origin: done", s in (200, 204), "%s %s" % (s, b[:100]))
    healthy(svc, "hosts")
    rc = svc.stop()
    check("  the service stops on SIGTERM, status 0 (under ASan: no leak)", rc == 0, str(rc))


# ---- auth -------------------------------------------------------------------------------------

def cat_auth(root):
    svc = Service(os.path.join(root, "auth"), token="t0k3n-" + "x" * 40)
    got = []
    for i in range(20):
        s, h, b = svc.request("POST", "/api/session", json.dumps({"token": "wrong%d" % i}).encode(),
                              {"Authorization": None, "Content-Type": "application/json"})
        got.append(s)
    check("wrong tokens at /api/session: 401, then 429 from the 11th", got[:10] == [401] * 10 and
          set(got[10:]) == {429}, str(got))
    s, h, b = svc.request("POST", "/api/session", json.dumps({"token": svc.token}).encode(),
                          {"Authorization": None, "Content-Type": "application/json"})
    check("  the right token from the same address is refused too, with Retry-After",
          s == 429 and "retry-after" in h, str(s))
    s, h, b = svc.request("POST", "/api/session", json.dumps({"token": svc.token}).encode(),
                          {"Authorization": None, "Content-Type": "application/json"},
                          source="127.0.0.2")
    check("  the right token from another address: 200", s == 200, str(s))
    got = []
    for i in range(15):
        s, _, _ = svc.request("GET", "/api/qa/calls", headers={"Authorization": "Bearer no%d" % i},
                              source="127.0.0.3")
        got.append(s)
    check("wrong bearer tokens: 401, then 429", got[:10] == [401] * 10 and set(got[10:]) == {429},
          str(got))
    s, _, _ = svc.request("GET", "/api/qa/calls", source="127.0.0.4")
    check("  the right bearer token from another address: 200", s == 200, str(s))
    healthy(svc, "logins")
    rc = svc.stop()
    check("  the service stops on SIGTERM, status 0 (under ASan: no leak)", rc == 0, str(rc))


# ---- parameters and framing ---------------------------------------------------------------------

def cat_params(root):
    svc = Service(os.path.join(root, "params"))
    h = "Host: 127.0.0.1:%d\r\n" % svc.port
    smuggle = ("GET /health HTTP/1.1\r\n" + h + "Content-Length: 5\r\nContent-Length: 40\r\n\r\n"
               "abcdeGET /api/qa/calls HTTP/1.1\r\n" + h + "\r\n").encode()
    reply = raw(svc, smuggle)
    check("two Content-Length headers that differ: 400, and nothing after it is answered",
          statuses(reply) == [400] and b"ambiguous_framing" in reply, reply[:300])
    te = ("POST /analyze?name=x.wav HTTP/1.1\r\n" + h + "Content-Length: 4\r\n"
          "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /health HTTP/1.1\r\n" + h + "\r\n").encode()
    reply = raw(svc, te)
    check("Content-Length with Transfer-Encoding: 400, and nothing after it is answered",
          statuses(reply)[:1] == [400] and len(statuses(reply)) == 1, reply[:300])
    hosts = ("GET /health HTTP/1.1\r\n" + h + h + "\r\n").encode()
    check("two Host headers: 400", statuses(raw(svc, hosts)) == [400])
    same = ("GET /health HTTP/1.1\r\n" + h + "Content-Length: 0\r\nContent-Length: 0\r\n"
            "Connection: close\r\n\r\n").encode()
    check("  two equal Content-Length headers: answered", statuses(raw(svc, same))[:1] == [200])
    healthy(svc, "framing")
    rc = svc.stop()
    check("  the service stops on SIGTERM, status 0 (under ASan: no leak)", rc == 0, str(rc))



# ---- multipart --------------------------------------------------------------------------------

def cat_multipart(root):
    # a whole upload's own time long: within the waits below, only the idle limit (2 s) can end
    # an upload that stops halfway
    svc = Service(os.path.join(root, "multipart"), env={"CALLQA_UPLOAD_IDLE_SEC": "2",
                                                        "CALLQA_UPLOAD_TIMEOUT_SEC": "3600"})
    wav = open(os.path.join(rt.CORPUS, "calls", "call01_normal.wav"), "rb").read()
    meta = json.dumps({"recording_id": "M1", "agent_user": "ann"}).encode()

    def post(body, ctype):
        return svc.request("POST", "/api/qa/calls", body, {"Content-Type": ctype}, timeout=30)

    body, ct = multipart([("metadata", None, "application/json", meta)] +
                         [("audio", "a.wav", "audio/wav", b"RIFF")] * 500)
    s, _, b = post(body, ct)
    check("500 'audio' parts: 400, not one file of them", s == 400 and b"same name" in b,
          "%s %s" % (s, b[:160]))
    body, ct = multipart([("metadata", None, "application/json", meta),
                          ("metadata", None, "application/json", meta),
                          ("audio", "a.wav", "audio/wav", wav)])
    s, _, b = post(body, ct)
    check("  two 'metadata' parts: 400", s == 400, "%s %s" % (s, b[:160]))
    body, ct = multipart([("metadata", None, "application/json", meta),
                          ("in", "i.wav", "audio/wav", wav), ("in", "i2.wav", "audio/wav", wav),
                          ("out", "o.wav", "audio/wav", wav)])
    s, _, b = post(body, ct)
    check("  two 'in' parts: 400", s == 400, "%s %s" % (s, b[:160]))
    body, ct = multipart([("metadata", None, "application/json", meta),
                          ("audio", "a.wav", "audio/wav", wav)], close=False)
    s, _, b = post(body[: len(body) // 2], ct)
    check("a body cut in half, no closing boundary: 400", s == 400 and b"closing boundary" in b,
          "%s %s" % (s, b[:160]))
    body, ct = multipart([("metadata", None, "application/json", meta),
                          ("audio", "a.wav", "audio/wav", wav)], close=False)
    s, _, b = post(body, ct)
    check("  a whole part but no closing boundary: 400", s == 400, "%s %s" % (s, b[:160]))
    s, _, b = post(*multipart([("metadata", None, "application/json", meta),
                               ("audio", "a.wav", "audio/wav", wav)]))
    check("  the same upload, whole: 201", s == 201, "%s %s" % (s, b[:160]))
    # an upload abandoned halfway, its connection kept open: its temporary file is removed by
    # the idle limit (2 s here), the only rule that can within the wait's bound
    body, ct = multipart([("metadata", None, "application/json", meta),
                          ("audio", "a.wav", "audio/wav", wav)])

    def half(svc):
        c = socket.create_connection(("127.0.0.1", svc.port))
        c.sendall(("POST /api/qa/calls HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: %s\r\n"
                   "Content-Length: %d\r\n\r\n" % (svc.port, ct, len(body))).encode() +
                  body[: len(body) // 2])
        return c

    def temps(svc):
        return [f for f in os.listdir(os.path.join(svc.root, "tmp"))
                if f.startswith("callqa-upload-")]
    c = half(svc)
    during = until(lambda: temps(svc))
    until(lambda: not temps(svc))
    after = temps(svc)
    check("an abandoned upload: its temporary file is removed by the idle limit, its connection "
          "still open", during and not after, "during %s, after %s" % (during, after))
    c.close()
    healthy(svc, "multipart")
    rc = svc.stop()
    check("  the service stops on SIGTERM, status 0 (under ASan: no leak)", rc == 0, str(rc))
    # a client that goes away mid-upload, on a service whose idle and upload limits are long:
    # only its going away can remove the temporary file within the wait's bound
    svc = Service(os.path.join(root, "multipart_gone"), env={"CALLQA_UPLOAD_IDLE_SEC": "600",
                                                             "CALLQA_UPLOAD_TIMEOUT_SEC": "3600"})
    c = half(svc)
    during = until(lambda: temps(svc))
    c.close()
    until(lambda: not temps(svc))
    after = temps(svc)
    check("  a client that goes away mid-upload: its temporary file goes with it (idle limit "
          "600 s)", during and not after, "during %s, after %s" % (during, after))
    healthy(svc, "a client gone mid-upload")
    rc = svc.stop()
    check("  the service stops on SIGTERM, status 0 (under ASan: no leak)", rc == 0, str(rc))


# ---- bodies, imports and what answers say -------------------------------------------------------

def cat_bodies(root):
    svc = Service(os.path.join(root, "bodies"), env={"CALLQA_MAX_TRANSCRIPT_MB": "2",
                                                      "CALLQA_MAX_BODY_MEMORY_MB": "4"},
                  args=["--recording-server", "far=http://127.0.0.1:%d/rec" % free_port()])
    wav = os.path.join(rt.CORPUS, "calls", "call01_normal.wav")
    s, _, b = svc.upload("B1", wav)
    check("upload B1", s == 201, "%s %s" % (s, b[:120]))
    big = json.dumps({"segments": [{"speaker": "agent", "start": i, "end": i + 0.5,
                                     "text": "hello " * 20} for i in range(20000)]}).encode()
    s, _, b = svc.request("POST", "/api/qa/call/B1/transcript", big,
                          {"Content-Type": "application/json"}, timeout=30)
    check("a transcript over max_transcript_mb: 413 at once", s == 413, "%s %s" % (s, b[:120]))
    mid = json.dumps({"segments": [{"speaker": "agent", "start": i, "end": i + 0.5,
                                     "text": "hello there"} for i in range(12000)]}).encode()
    res = {}
    t = threading.Thread(target=lambda: res.update(r=svc.request(
        "POST", "/api/qa/call/B1/transcript", mid, {"Content-Type": "application/json"})))
    t.start()
    time.sleep(0.2)
    healthy(svc, "a transcript import in progress")
    t.join()
    check("  a transcript within the limit: imported (200)", res.get("r", [0])[0] == 200,
          str(res.get("r", [0])[0]))
    # bodies held in memory together: 4 MiB here; a fifth concurrent 1.2 MiB body is refused
    blob = open(wav, "rb").read()
    blob = (blob * (1 + 1300000 // len(blob)))[:1300000]
    conns = []
    for i in range(4):
        c = socket.create_connection(("127.0.0.1", svc.port))
        c.sendall(("POST /analyze?name=m%d.wav HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                   "Content-Type: audio/wav\r\nContent-Length: %d\r\n\r\n" %
                   (i, svc.port, len(blob) + 10)).encode() + blob)
        conns.append(c)
    # the four bodies read by the service (held in memory, 10 bytes short of their end)
    held = until(lambda: rt.delivered(svc, conns))
    s, h, b = svc.request("POST", "/analyze?name=last.wav", blob, {"Content-Type": "audio/wav"})
    check("bodies in memory over max_body_memory_mb: 503 with Retry-After",
          held and s == 503 and "retry-after" in h, "held %s: %s %s" % (held, s, b[:160]))
    for c in conns:
        c.close()
    time.sleep(0.5)
    # what answers say: no server path, no upstream URL
    up = os.path.join(svc.root, "uploads", "upload", "B1.rec")
    os.unlink(up)
    with open(up, "wb") as f:
        f.write(b"not audio at all" * 100)
    # --no-idle: an idle-priority worker gets no CPU at all on a core that something else keeps
    # busy
    w = subprocess.run([rt.CQ, "worker", "--db", svc.db, "--once", "--max-load", "0", "--no-idle"],
                       capture_output=True, timeout=600,
                       env=dict(os.environ, CALLQA_UPLOAD_DIR=os.path.join(svc.root, "uploads")))
    s, _, b = svc.request("GET", "/api/qa/errors?hours=720")
    check("  the worker failed B1 on its file (the error the next checks look at)",
          s == 200 and json.loads(b).get("total", 0) >= 1, "%s %s %s" % (s, b[:200], w.stderr[-300:]))
    for path in ("/api/qa/errors?hours=720", "/api/qa/calls", "/api/qa/call/B1"):
        s, _, b = svc.request("GET", path)
        check("%s names no server path" % path.split("?")[0],
              s == 200 and svc.root.encode() not in b and b"/tmp/" not in b, "%s %s" % (s, b[:300]))
    s, _, b = svc.request("GET", "/analyze?server=far&file=x-all.wav")
    check("a recording server that fails: the answer names no URL", s in (502, 504) and
          b"http" not in b and b"127.0.0.1" not in b, "%s %s" % (s, b[:300]))
    healthy(svc, "bodies")
    rc = svc.stop()
    check("  the service stops on SIGTERM, status 0 (under ASan: no leak)", rc == 0, str(rc))


CATEGORIES = [("files", cat_files), ("names", cat_names), ("sizes", cat_sizes),
              ("bodies", cat_bodies), ("hosts", cat_hosts), ("multipart", cat_multipart),
              ("auth", cat_auth), ("params", cat_params)]


def all_categories(module=None):
    """The categories above, then each cat_*.py module's CATEGORIES, in the modules' name order;
    with module, only that one's ("redteam": those above; "cat_live": cat_live.py's)."""
    cats = list(CATEGORIES) if module in (None, "redteam") else []
    here = os.path.dirname(os.path.abspath(__file__))
    for path in sorted(glob.glob(os.path.join(here, "cat_*.py"))):
        name = os.path.basename(path)[:-3]
        if module in (None, name):
            cats += list(importlib.import_module(name).CATEGORIES)
    return cats


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    rt.CQ, rt.CORPUS = argv[1], argv[2]
    if not os.path.isfile(os.path.join(rt.CORPUS, "calls", "call01_normal.wav")):
        print("SKIP: %s is missing" % rt.CORPUS)
        return 77
    want, module = argv[3:], None
    if want and want[0].startswith("--module="):  # one module's categories (a ctest entry each)
        module, want = want[0].split("=", 1)[1], want[1:]
    t0 = time.time()
    root = tempfile.mkdtemp(prefix="callqa-redteam-")
    try:
        for name, fn in all_categories(module):
            if want and name not in want:
                continue
            rt.CATEGORY = name
            try:
                fn(root)
            except Exception as e:  # a category that broke is a failed case, not a stop
                check("the category ran to its end", False, "%s: %s" % (type(e).__name__, e))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    cats = {}
    for c, _, ok, _ in rt.RESULTS:
        cats.setdefault(c, [0, 0])[0 if ok else 1] += 1
    print("1..%d" % len(rt.RESULTS))
    print("red team: " + ", ".join("%s %d" % (c, v[0] + v[1]) for c, v in cats.items()) +
          "; %d cases, %d failed; %.1f min" % (len(rt.RESULTS), sum(v[1] for v in cats.values()),
                                              (time.time() - t0) / 60))
    return 0 if all(ok for _, _, ok, _ in rt.RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
