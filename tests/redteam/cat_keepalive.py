"""cat_keepalive.py - kept-alive connections of one address, as a proxy holds them.

  keepalive: a burst of 64 connections opened at once by one address, each then asking: none
             refused; 64 connections from one address, each answered once and kept alive, then new
             connections from the same address: no kept-alive connection is answered 503 or
             closed for them (between two requests a kept-alive connection is not one still
             sending its headers), each of the 64 answers its next requests 200; a client that
             opens connections and sends nothing is still cut at its cap (503 on the 8 oldest
             of 24, before any 408);
             past 256 idle kept-alive connections of one address the oldest is closed silently.
"""
import http.client
import selectors
import socket
import time

from rtlib import HANG, Service, check, healthy, metric


def get(conn, path="/health"):
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        return r.status
    except (OSError, http.client.HTTPException) as e:
        return type(e).__name__


def cat_keepalive(root):
    svc = Service(root + "/keepalive")
    # a burst: 64 connections opened at once from one address, then each sends its request (a
    # proxy's pool filling, a load test starting): none is refused for the burst
    socks = [socket.create_connection(("127.0.0.1", svc.port), timeout=HANG) for _ in range(64)]
    time.sleep(0.05)
    req = ("GET /health HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n"
           % svc.port).encode()
    for s in socks:
        s.sendall(req)
    heads = []
    for s in socks:
        got = b""
        try:
            while b"\r\n" not in got:
                d = s.recv(4096)
                if not d:
                    break
                got += d
        except OSError:
            pass
        heads.append(got.split(b"\r\n", 1)[0])
        s.close()
    bad = [h for h in heads if not h.startswith(b"HTTP/1.1 200")]
    check("a burst of 64 connections from one address, each then asking: all answered 200",
          not bad, "%d not 200: %s" % (len(bad), sorted(set(bad))[:3]))
    conns = []
    for _ in range(64):
        c = http.client.HTTPConnection("127.0.0.1", svc.port, timeout=HANG)
        conns.append(c)
    first = [get(c) for c in conns]
    check("64 kept-alive connections of one address each answered 200", all(s == 200 for s in first),
          str(sorted(set(map(str, first)))))
    # new connections from the same address while the 64 wait for their next request
    fresh = []
    for _ in range(20):
        c = http.client.HTTPConnection("127.0.0.1", svc.port, timeout=HANG)
        fresh.append(get(c))
        c.close()
    check("20 new connections beside them answered 200", all(s == 200 for s in fresh),
          str(sorted(set(map(str, fresh)))))
    again = []
    for _ in range(3):
        again += [get(c) for c in conns]
    bad = [s for s in again if s != 200]
    check("the 64 kept-alive connections answer their next 192 requests 200, none 503 or closed",
          not bad, "%d not 200: %s" % (len(bad), sorted(set(map(str, bad)))))
    for c in conns:
        c.close()
    # the cap still holds for connections that send nothing: past 16, the oldest are answered
    # 503 (oldest by when the service took them: its event-loop threads may take connections
    # made within the same milliseconds in another order), the rest wait for header_timeout
    silent = []
    for _ in range(24):
        s = socket.create_connection(("127.0.0.1", svc.port), timeout=HANG)
        silent.append(s)
    sel = selectors.DefaultSelector()
    for s in silent:
        sel.register(s, selectors.EVENT_READ)
    first, end = [], time.time() + HANG  # the first 8 answers, in the order they came
    while len(first) < 8 and time.time() < end:
        for key, _ in sel.select(timeout=1):
            try:
                got = key.fileobj.recv(4096)
            except OSError:
                got = b""
            sel.unregister(key.fileobj)
            first.append(got)
    sel.close()
    bad = [g[:60] for g in first
           if not (g.startswith(b"HTTP/1.1 503") and b"too_many_pending" in g)]
    check("24 silent connections of one address: 8 (past the cap of 16) answered 503 "
          "(too_many_pending) before any other answer", len(first) == 8 and not bad,
          "%d answered, not 503: %s" % (len(first), bad[:2]))
    for s in silent:
        s.close()
    c = http.client.HTTPConnection("127.0.0.1", svc.port, timeout=HANG)
    check("a request of the same address after them is answered 200", get(c) == 200)
    c.close()
    # idle kept-alive connections have a cap of their own: 16 x max_pending_per_client (256)
    many = []
    for _ in range(280):
        c = http.client.HTTPConnection("127.0.0.1", svc.port, timeout=HANG)
        get(c)
        many.append(c)
    last = [get(c) for c in many[-20:]]
    idle = metric(svc, 'callqa_guard_total{reason="too_many_idle"}')
    check("280 idle kept-alive connections of one address: the oldest closed without a word "
          "(too_many_idle counted), the newest 20 still answered 200",
          idle is not None and idle >= 20 and all(x == 200 for x in last),
          "%s %s" % (idle, last))
    for c in many:
        c.close()
    healthy(svc, "keepalive")
    rc = svc.stop()
    check("  the service stops on SIGTERM, status 0 (under ASan: no leak)", rc == 0, str(rc))


CATEGORIES = [("keepalive", cat_keepalive)]
