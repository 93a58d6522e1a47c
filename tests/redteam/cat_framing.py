"""cat_framing.py - the HTTP library's own answers, request framing and Host, the temporary files
of abandoned uploads, and server paths in answers.

  framing: every malformed Content-Length form (and its neighbours), Transfer-Encoding forms, a
           header name with a space before its colon, an HTTP/1.1 request without Host: exactly
           one status line, 400, the service's security headers, and the connection closed
           (nothing after it answered, also on a kept-alive connection); HTTP/1.0 without Host
           is served; what libmicrohttpd refuses itself (a bad request line, 414, 431, 505, a
           malformed chunked body) carries the same headers, once.
  uploadtmp: an upload to /api/qa/calls abandoned by a silent client, or trickled past
           upload_timeout_sec (2 s here, with upload_idle_sec 600 s): cut, its temporary files
           gone; a client that goes away mid-upload (both limits long: only its going can end
           it): its temporary files gone with it, also when its close came with its last bytes
           (the service stopped while they were sent: the close is read with them).
  paths:   no answer names a server path: an upload read by the worker (the report's legs'
           `source`, with redaction on `redaction.audio.file`), the call, the calls, the
           summary (a VADER lexicon that is missing), /investigate with a recording that cannot
           be read (`recording_error`).
"""
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import rtlib as rt
from rtlib import Service, check, free_port, healthy, metric, multipart

GONE = 'callqa_guard_total{reason="client_gone"}'
SECURITY = ("x-content-type-options", "x-frame-options", "referrer-policy",
            "content-security-policy", "cache-control", "x-request-id")


def exchange(svc, data, wait=30.0):
    """Send bytes on a fresh connection; (everything read back, whether it was closed): read
    until the service closes it, or `wait` s (a hang's bound)."""
    s = socket.create_connection(("127.0.0.1", svc.port), timeout=wait)
    try:
        s.sendall(data)
    except OSError:
        pass
    got, closed = b"", False
    t0 = time.time()
    try:
        while time.time() - t0 < wait:
            d = s.recv(65536)
            if not d:
                closed = True
                break
            got += d
    except socket.timeout:
        pass
    except OSError:
        closed = True
    s.close()
    return got, closed


def answers(reply):
    """The answers in a reply, split by their status lines: [(status, {header: value}, body)]."""
    out = []
    for part in re.split(rb"(?=HTTP/1\.[01] \d{3} )", reply):
        if not part.startswith(b"HTTP/1."):
            continue
        head, _, body = part.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        h = {}
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            h[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
        out.append((int(lines[0].split()[1]), h, body))
    return out


def refused_once(svc, name, data, status=400, code=None):
    """One case: exactly one answer, `status`, JSON with `code`, the security headers, closed."""
    reply, closed = exchange(svc, data)
    a = answers(reply)
    ok = len(a) == 1 and a[0][0] == status and closed
    detail = "%d answers %s, closed %s: %r" % (len(a), [x[0] for x in a], closed, reply[:400])
    if ok:
        st, h, body = a[0]
        missing = [k for k in SECURITY if k not in h]
        try:
            j = json.loads(body)
        except ValueError:
            j = {}
        ok = (not missing and h.get("x-content-type-options") == "nosniff" and
              h.get("x-frame-options") == "DENY" and
              "frame-ancestors 'none'" in h.get("content-security-policy", "") and
              h.get("connection", "").lower() == "close" and
              h.get("content-type", "").startswith("application/json") and
              int(h.get("content-length", -1)) == len(body) and
              "error" in j and (code is None or j.get("code") == code))
        detail = "missing %s; %r" % (missing, reply[:500])
    return check(name, ok, detail)


def cat_framing(root):
    svc = Service(os.path.join(root, "framing"))
    host = ("Host: 127.0.0.1:%d\r\n" % svc.port).encode()
    after = b"GET /health HTTP/1.1\r\n" + host + b"\r\n"  # must never be answered

    def post(cl_lines, body=b"hello"):
        return (b"POST /analyze?name=x.wav HTTP/1.1\r\n" + host + cl_lines + b"\r\n" + body +
                after)

    for v in (b"-1", b"+5", b"0x10", b"2, 3", b"18446744073709551617", b"18446744073709551616",
              b"99999999999999999999999999", b"-0", b"5 5", b"5;", b"1e3", b"5.0", b"", b"0x",
              b"\xef\xbc\x95", b"5\x0b"):
        refused_once(svc, "Content-Length: %r: one 400, headers, closed" % v,
                     post(b"Content-Length: " + v + b"\r\n"))
    # valid forms (RFC 9112 6.3: 1*DIGIT, whitespace before a field value): read as their
    # number; whitespace after it libmicrohttpd 0.9.75 keeps, and refuses (one 400, above)
    refused_once(svc, "Content-Length: '5 ' (a space after): one 400, headers, closed",
                 post(b"Content-Length: 5 \r\n"))
    for v in (b"005", b" 5", b"\t5"):
        reply, _ = exchange(svc, b"POST /api/session HTTP/1.1\r\n" + host +
                            b"Connection: close\r\nContent-Type: application/json\r\n"
                            b"Content-Length: " + v + b"\r\n\r\n{}   ")
        a = answers(reply)
        check("  Content-Length: %r (valid): one answer, the body read as 5 bytes" % v,
              len(a) == 1 and a[0][0] not in (400, 413) and b"ambiguous" not in reply,
              "%s %r" % ([x[0] for x in a], reply[:200]))
    refused_once(svc, "two Content-Length headers that differ (5, 6): one 400, closed",
                 post(b"Content-Length: 5\r\nContent-Length: 6\r\n"), code="ambiguous_framing")
    refused_once(svc, "two Content-Length headers, the second malformed: one 400, closed",
                 post(b"Content-Length: 5\r\nContent-Length: -1\r\n"))
    refused_once(svc, "Content-Length with Transfer-Encoding: chunked: one 400, closed",
                 post(b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"),
                 code="ambiguous_framing")
    refused_once(svc, "a malformed Content-Length with Transfer-Encoding: one 400, closed",
                 post(b"Content-Length: -1\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"))
    for te in (b"gzip", b"chunked, gzip", b"identity", b"chunked\r\nTransfer-Encoding: chunked"):
        refused_once(svc, "Transfer-Encoding: %r: one 400, closed" % te,
                     post(b"Transfer-Encoding: " + te + b"\r\n", b"0\r\n\r\n"),
                     code="ambiguous_framing")
    refused_once(svc, "Transfer-Encoding on HTTP/1.0: one 400, closed",
                 b"POST /analyze?name=x.wav HTTP/1.0\r\n" + host +
                 b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + after, code="ambiguous_framing")
    refused_once(svc, "'Content-Length : 5' (a space before the colon): one 400, closed",
                 post(b"Content-Length : 5\r\n"), code="bad_header")
    refused_once(svc, "a malformed chunked body (the library's own 400): once, headers, closed",
                 b"POST /analyze?name=x.wav HTTP/1.1\r\n" + host +
                 b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n" + after)
    refused_once(svc, "a chunk size past 2^64 (the library's own 413): one 400, closed",
                 b"POST /analyze?name=x.wav HTTP/1.1\r\n" + host +
                 b"Transfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\nhello\r\n" + after)
    # Host (RFC 9112 3.2)
    refused_once(svc, "HTTP/1.1 without Host: one 400 missing_host, closed",
                 b"GET /health HTTP/1.1\r\n\r\n" + after, code="missing_host")
    refused_once(svc, "  HTTP/1.1 without Host, a POST with a body: one 400, closed",
                 b"POST /analyze?name=x.wav HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello" + after,
                 code="missing_host")
    reply, _ = exchange(svc, b"GET /health HTTP/1.0\r\n\r\n")
    a = answers(reply)
    check("  HTTP/1.0 without Host: served (200)", len(a) == 1 and a[0][0] == 200, reply[:200])
    # what libmicrohttpd refuses itself
    refused_once(svc, "a request line without a version (the library's 400): once, headers",
                 b"GET /health HTTP/x.y\r\n" + host + b"\r\n" + after)
    refused_once(svc, "a header line without a colon (the library's 400): once, headers",
                 b"GET /health HTTP/1.1\r\n" + host + b"NoColonHere\r\n\r\n" + after)
    refused_once(svc, "HTTP/2.0 (the library's 505): once, headers, closed",
                 b"GET /health HTTP/2.0\r\n" + host + b"\r\n" + after, status=505,
                 code="http_version")
    refused_once(svc, "HTTP/0.9 (the library's 505): once, headers, closed",
                 b"GET /health HTTP/0.9\r\n" + host + b"\r\n" + after, status=505)
    refused_once(svc, "a 40 KB request line (the library's 414): once, headers, closed",
                 b"GET /" + b"a" * 40000 + b" HTTP/1.1\r\n" + host + b"\r\n", status=414,
                 code="uri_too_long")
    refused_once(svc, "40 KB of headers (the library's 431): once, headers, closed",
                 b"GET /health HTTP/1.1\r\n" + host + b"X-Big: " + b"a" * 40000 + b"\r\n\r\n",
                 status=431, code="headers_too_large")
    refused_once(svc, "200 KB of headers still coming: the 431 is read, not reset",
                 b"GET /health HTTP/1.1\r\n" + host +
                 b"".join(b"X-H%d: %s\r\n" % (i, b"b" * 1000) for i in range(200)) + b"\r\n",
                 status=431)
    # the service's own 413 (a Content-Length over max_body): the same headers, once
    refused_once(svc, "a Content-Length over max_body (the service's 413): once, headers",
                 post(b"Content-Length: %d\r\n" % (10 << 30)), status=413, code="too_large")
    # on a kept-alive connection: the first request answered, the malformed second refused
    reply, closed = exchange(svc, after + b"GET /health HTTP/1.1\r\n" + host +
                             b"Content-Length: 0x10\r\n\r\n" + after)
    a = answers(reply)
    check("kept alive: 200, then one 400 for a malformed Content-Length, then closed",
          [x[0] for x in a] == [200, 400] and closed and
          all(k in a[1][1] for k in SECURITY), "%s %s %r" % ([x[0] for x in a], closed, reply[-400:]))
    # the refusals are counted
    m = metric(svc, 'callqa_guard_total{reason="bad_request"}')
    check("  callqa_guard_total{reason=\"bad_request\"} counts the library's refusals",
          m is not None and m >= 10, str(m))
    healthy(svc, "framing")
    rc = svc.stop()
    check("  the service stops on SIGTERM, status 0 (under ASan: no leak)", rc == 0, str(rc))


def aborted_lines(svc):
    """the log lines of requests that ended before their answer (\"aborted\":true)"""
    with open(svc.log, "rb") as f:
        return sum(1 for ln in f if b'"aborted":true' in ln)


def cat_uploadtmp(root):
    # what a killed service left in tmp_dir (its process gone), beside a live process's file
    tmp0 = os.path.join(root, "uploadtmp", "tmp")
    os.makedirs(tmp0, exist_ok=True)
    gone = subprocess.Popen(["true"])
    gone.wait()
    stale = [os.path.join(tmp0, "callqa-%s-%d-Ab12Cd" % (k, gone.pid)) for k in ("upload", "fetch")]
    live = os.path.join(tmp0, "callqa-upload-%d-Zz9Yy8" % os.getpid())
    for f in stale + [live]:
        open(f, "wb").write(b"RIFF" * 100)
    svc = Service(os.path.join(root, "uploadtmp"), env={"CALLQA_UPLOAD_TIMEOUT_SEC": "2",
                                                         "CALLQA_UPLOAD_IDLE_SEC": "600"})
    check("the temporary files of a process that is gone are removed at start; a live one's kept",
          not any(os.path.exists(f) for f in stale) and os.path.exists(live),
          "%s %s" % ([os.path.exists(f) for f in stale], os.path.exists(live)))
    for f in stale + [live]:  # the next cases count what is left in tmp_dir
        if os.path.exists(f):
            os.unlink(f)
    wav = open(os.path.join(rt.CORPUS, "calls", "call01_normal.wav"), "rb").read()
    meta = json.dumps({"recording_id": "T1", "agent_user": "ann"}).encode()
    body, ct = multipart([("metadata", None, "application/json", meta),
                          ("audio", "a.wav", "audio/wav", wav),
                          ("capture", "c.pcap", "application/octet-stream", b"\xd4\xc3\xb2\xa1" +
                           b"\0" * 4000)])

    def head(svc):
        return ("POST /api/qa/calls HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: %s\r\n"
                "Content-Length: %d\r\n\r\n" % (svc.port, ct, len(body))).encode()

    def temps(svc):
        return sorted(f for f in os.listdir(os.path.join(svc.root, "tmp"))
                      if f.startswith("callqa-upload-"))

    # a silent client: three quarters of the body, then nothing (upload_idle_sec is 600 s: only
    # upload_timeout_sec can end it within the wait's bound)
    c = socket.create_connection(("127.0.0.1", svc.port))
    t0 = time.time()
    c.sendall(head(svc) + body[: len(body) * 3 // 4])
    during = rt.until(lambda: temps(svc))
    rt.until(lambda: not temps(svc))
    gone = time.time() - t0
    check("a silent client's abandoned upload: its temporary files gone by upload_timeout_sec "
          "(2 s; upload_idle_sec 600 s; %.1f s)" % gone, during and not temps(svc),
          "during %s, after %.1f s: %s" % (during, gone, temps(svc)))
    c.close()
    # a client that trickles: a byte every 0.3 s, until the service cuts it
    c = socket.create_connection(("127.0.0.1", svc.port))
    t0 = time.time()
    c.sendall(head(svc) + body[: len(body) // 2])
    cut = False
    try:
        while time.time() - t0 < rt.HANG:
            c.sendall(b"x")
            time.sleep(0.3)
    except OSError:
        cut = True
    rt.until(lambda: not temps(svc))
    left = temps(svc)
    check("  a client trickling past upload_timeout_sec: cut (%.1f s), its temporary files gone"
          % (time.time() - t0), cut and not left, "cut %s, left %s" % (cut, left))
    c.close()
    healthy(svc, "abandoned uploads")
    rc = svc.stop()
    check("  the service stops on SIGTERM, status 0 (under ASan: no leak)", rc == 0, str(rc))
    # a client that goes away mid-upload, on a service whose limits are long: only its going
    # can remove the temporary files within the wait's bound
    svc = Service(os.path.join(root, "uploadtmp_gone"), env={"CALLQA_UPLOAD_TIMEOUT_SEC": "3600",
                                                             "CALLQA_UPLOAD_IDLE_SEC": "600"})
    c = socket.create_connection(("127.0.0.1", svc.port))
    c.sendall(head(svc) + body[: len(body) // 2])
    during = rt.until(lambda: temps(svc))
    c.close()
    rt.until(lambda: not temps(svc))
    check("  a client that goes away mid-upload: its temporary files gone with it",
          during and not temps(svc), "during %s, after %s" % (during, temps(svc)))
    # the client's close arriving with its last bytes: the upload is under way (its temporary
    # file made, so the service has taken the connection and read what came), then the service
    # is stopped while the client sends a little more (shorter than the library's read buffer)
    # and closes, and continued, so that both wait for its event loop at once (libmicrohttpd
    # 0.9.75 read the bytes and never the close: the request waited for its idle limit, here
    # 600 s; by chance it happened to one abandoned upload in twenty). What is checked is the
    # outcome; whether the guard or the library ended it is reported, not required (the library
    # reads the close itself when its read happens to fill its buffer)
    gone0, ab0 = metric(svc, GONE), aborted_lines(svc)
    c = socket.create_connection(("127.0.0.1", svc.port))
    c.sendall(head(svc) + body[:8000])
    during = rt.until(lambda: temps(svc))
    os.kill(svc.proc.pid, signal.SIGSTOP)
    try:
        c.sendall(body[8000:8500])
        c.close()
        time.sleep(0.05)
    finally:
        os.kill(svc.proc.pid, signal.SIGCONT)
    ended = rt.until(lambda: aborted_lines(svc) > ab0)
    rt.until(lambda: not temps(svc))
    gone1 = metric(svc, GONE)
    check("  a client whose close came with its last bytes: its request ended (logged aborted), "
          "its temporary files gone (ended by %s)"
          % ("the guard" if gone0 is not None and gone1 == gone0 + 1
             else "the library" if ended else "nothing"),
          during and ended and not temps(svc),
          "upload begun %s, aborted lines %s, left %s, client_gone %s -> %s"
          % (during, ended, temps(svc), gone0, gone1))
    # the same upload, whole: kept, and nothing left in tmp
    s, _, b = svc.request("POST", "/api/qa/calls", body, {"Content-Type": ct})
    check("  the same upload, whole: 201, no temporary file left", s == 201 and not temps(svc),
          "%s %s %s" % (s, b[:200], temps(svc)))
    healthy(svc, "an upload gone mid-way")
    rc = svc.stop()
    check("  the service stops on SIGTERM, status 0 (under ASan: no leak)", rc == 0, str(rc))


def leaks(b, roots):
    """The JSON strings of an answer that name one of `roots` or a temporary upload."""
    out = []
    for m in re.findall(rb'"(?:[^"\\]|\\.)*"', b):
        if any(r.encode() in m for r in roots) or b"callqa-upload-" in m or b"/tmp/" in m:
            out.append(m[:160])
    return out


def cat_paths(root):
    models = os.path.join(root, "paths-models")  # an empty model directory: every note says why
    os.makedirs(models, exist_ok=True)
    env = {"CALLQA_MODEL_DIR": models, "CALLQA_REDACT": "all"}
    svc = Service(os.path.join(root, "paths"), env=env)
    roots = [svc.root, models, rt.CORPUS]
    wav = os.path.join(rt.CORPUS, "calls", "call01_normal.wav")
    pcap = os.path.join(rt.CORPUS, "pcaps", "sip_rtp_g711.pcap")
    meta = json.dumps({"recording_id": "P1", "agent_user": "ann",
                       "call_date": "2026-11-25 09:00:00"}).encode()
    body, ct = multipart([("metadata", None, "application/json", meta),
                          ("audio", "a.wav", "audio/wav", open(wav, "rb").read()),
                          ("capture", "c.pcap", "application/octet-stream",
                           open(pcap, "rb").read())])
    s, _, b = svc.request("POST", "/api/qa/calls", body, {"Content-Type": ct}, timeout=30)
    check("upload P1 with its capture: 201, names no server path",
          s == 201 and not leaks(b, roots), "%s %s" % (s, b[:200]))
    # --no-idle: an idle-priority worker gets no CPU at all on a core that something else keeps
    # busy
    w = subprocess.run([rt.CQ, "worker", "--db", svc.db, "--once", "--max-load", "0", "--no-idle"],
                       capture_output=True, timeout=600,
                       env=dict(os.environ, CALLQA_UPLOAD_DIR=os.path.join(svc.root, "uploads"),
                                **env))
    s, _, b = svc.request("GET", "/api/qa/call/P1/report")
    rep = json.loads(b).get("report", {}) if s == 200 else {}
    check("  the worker analysed it (redaction on, no models)", s == 200 and rep,
          "%s %s %s" % (s, b[:200], w.stderr[-300:]))
    src = [(rep.get(k) or {}).get("source") for k in ("inbound", "outbound")]
    check("  the report's legs' source: the recording's name, not its path",
          src[0] == "P1.rec" and all(x is None or "/" not in x for x in src), str(src))
    au = (rep.get("redaction") or {}).get("audio") or {}
    check("  the report's redaction.audio.file: a name, not a path",
          au.get("file") and "/" not in au["file"], str(au))
    js = json.dumps(rep).encode()
    check("  the report's notes on the missing models name them within the model directory",
          b"in the model directory" in js and not leaks(js, roots), leaks(js, roots)[:3])
    for path in ("/api/qa/call/P1/report", "/api/qa/call/P1", "/api/qa/calls",
                 "/api/qa/call/P1/envelope", "/api/qa/errors?hours=720", "/api/qa/daily-summary",
                 "/api/qa/agent/ann", "/api/qa/trends", "/api/qa/badges", "/api/qa/workers",
                 "/api/qa/queue-status", "/api/qa/health", "/api/qa/audit", "/api/qa/agreement",
                 "/health", "/metrics"):
        s, _, b = svc.request("GET", path)
        check("%s names no server path" % path.split("?")[0], s == 200 and not leaks(b, roots),
              "%s %s" % (s, leaks(b, roots)[:3] or b[:200]))
    s, _, b = svc.request("GET", "/api/qa/call/P1")
    why = json.dumps(json.loads(b)).split("VADER lexicon")
    check("  the summary's note on the missing VADER lexicon names it within the model "
          "directory", len(why) > 1 and "vader_lexicon.txt in the model directory" in why[1][:80],
          b[:300])
    s, _, b = svc.request("GET", "/health")
    check("  /health names each missing model within the model directory",
          s == 200 and b"in the model directory" in b and not leaks(b, roots), b[:300])
    # /investigate: a capture with a recording that cannot be read, and legs that cannot
    body, ct = multipart([("capture", "c.pcap", "application/octet-stream",
                           open(pcap, "rb").read()),
                          ("recording", "r.wav", "audio/wav", b"not audio at all" * 50)])
    s, _, b = svc.request("POST", "/investigate", body, {"Content-Type": ct}, timeout=120)
    err = json.loads(b).get("recording_error") if s == 200 else None
    check("/investigate with a recording that cannot be read: recording_error names no path",
          err and "/" not in err and "callqa-upload" not in err and not leaks(b, roots),
          "%s %s" % (s, err or b[:200]))
    body, ct = multipart([("capture", "c.pcap", "application/octet-stream",
                           open(pcap, "rb").read()),
                          ("in", "i.wav", "audio/wav", b"RIFF" + b"\0" * 60),
                          ("out", "o.wav", "audio/wav", open(wav, "rb").read())])
    s, _, b = svc.request("POST", "/investigate", body, {"Content-Type": ct}, timeout=120)
    check("  the same with an 'in' leg that cannot be read: no path in the answer",
          s in (200, 422) and not leaks(b, roots), "%s %s" % (s, leaks(b, roots) or b[:200]))
    # an upload /analyze cannot read: the error names the upload's name
    s, _, b = svc.request("POST", "/analyze?name=x.wav", b"not audio" * 20,
                          {"Content-Type": "audio/wav"}, timeout=60)
    check("POST /analyze of bytes that are not audio: the error names no path",
          s in (415, 422) and not leaks(b, roots), "%s %s" % (s, b[:200]))
    # a report stored with paths (before reports named none): answered without them
    con = sqlite3.connect(svc.db, timeout=10)
    n = con.execute("UPDATE analyses SET report = json_set(report, '$.inbound.source', "
                    "'/srv/recordings/2026/P1-all.wav', '$.outbound.source', "
                    "'analysed /srv/recordings/ORIG/P1-in.wav here') WHERE call_id IS NOT NULL"
                    ).rowcount
    con.commit()
    con.close()
    s, _, b = svc.request("GET", "/api/qa/call/P1/report")
    rep = json.loads(b).get("report", {}) if s == 200 else {}
    check("  a report stored with server paths is answered with names only",
          n == 1 and rep.get("inbound", {}).get("source") == "P1-all.wav" and
          b"/srv/" not in b and b"P1-in.wav here" in b,
          "%s %s %s" % (n, rep.get("inbound", {}).get("source"), b[:200]))
    healthy(svc, "paths")
    rc = svc.stop()
    check("  the service stops on SIGTERM, status 0 (under ASan: no leak)", rc == 0, str(rc))


def cat_paths_fetch(root):
    """GET /analyze of a recording on a recording server (a real HTTP server on loopback): the
    report's legs name the server by its name and the file on it, never its URL or a path."""
    rec = os.path.join(root, "paths-fetch-rec", "RECORDINGS")
    os.makedirs(rec, exist_ok=True)
    wav = os.path.join(rt.CORPUS, "calls", "call01_normal.wav")
    with open(os.path.join(rec, "20261125-090000_5551234-all.wav"), "wb") as f:
        f.write(open(wav, "rb").read())
    port = free_port()
    http = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                             "127.0.0.1", "--directory", os.path.join(root, "paths-fetch-rec")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def listening():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=10).close()
                return True
            except OSError:
                return False
        rt.until(lambda: listening() or http.poll() is not None)
        svc = Service(os.path.join(root, "paths-fetch"), args=[
            "--recording-server", "vici1=http://127.0.0.1:%d/RECORDINGS" % port])
        s, _, b = svc.request("GET", "/analyze?server=vici1&file=20261125-090000_5551234-all.wav",
                              timeout=120)
        srcs = re.findall(rb'"source":"([^"]*)"', b)
        check("GET /analyze of a fetched recording: its legs' source is SERVER:FILE, no URL",
              s == 200 and srcs and all(x.startswith(b"vici1:") for x in srcs) and
              b"http://" not in b and b"127.0.0.1" not in b and svc.root.encode() not in b,
              "%s %s %s" % (s, srcs, b[:300]))
        healthy(svc, "paths_fetch")
        rc = svc.stop()
        check("  the service stops on SIGTERM, status 0 (under ASan: no leak)", rc == 0, str(rc))
    finally:
        http.kill()
        http.wait()


CATEGORIES = [("framing", cat_framing), ("uploadtmp", cat_uploadtmp), ("paths", cat_paths),
              ("paths_fetch", cat_paths_fetch)]
