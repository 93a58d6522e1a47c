"""rtlib.py - what the red-team categories share: the service under test, the checks and their
results, raw requests. redteam.py sets CQ and CORPUS before it runs a category; a category module
(cat_*.py beside it) reads them as rtlib.CQ and rtlib.CORPUS."""
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cqport import free_port  # noqa: E402  a port below the ephemeral range

CQ = None
CORPUS = None
RESULTS = []  # (category, name, ok, detail)
CATEGORY = "?"
# a wait's bound where only a hang would reach it: a request's answer, a server's start, an
# event awaited (a loaded machine's seconds are not a failure)
HANG = 120


def check(name, ok, detail=""):
    RESULTS.append((CATEGORY, name, bool(ok), detail))
    n = len(RESULTS)
    print("%s %d - [%s] %s%s" % ("ok" if ok else "not ok", n, CATEGORY, name,
                                 "" if ok else "  (%s)" % detail), flush=True)
    return ok


class Service:
    """`callqa serve` on a free port with a store of its own under a temporary directory."""

    def __init__(self, root, token=None, env=None, args=()):
        self.root = root
        os.makedirs(root, exist_ok=True)
        self.port = free_port()
        self.db = os.path.join(root, "store.db")
        self.log = os.path.join(root, "serve.log")
        self.token = token
        cmd = [CQ, "serve", "--db", self.db, "--listen", "127.0.0.1:%d" % self.port]
        if token:
            tf = os.path.join(root, "token")
            with open(tf, "w") as f:
                f.write(token)
            os.chmod(tf, 0o600)
            cmd += ["--token-file", tf]
        else:
            cmd += ["--no-auth"]
        cmd += list(args)
        e = dict(os.environ)
        e["TMPDIR"] = os.path.join(root, "tmp")
        os.makedirs(e["TMPDIR"], exist_ok=True)
        e.update(env or {})
        self.proc = subprocess.Popen(cmd, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT,
                                     env=e)
        end = time.time() + HANG
        while time.time() < end and self.proc.poll() is None:
            if self.health(timeout=10)[0] == 200:
                return
            time.sleep(0.1)
        raise RuntimeError("serve did not start: %s" % open(self.log).read()[-2000:])

    def request(self, method, path, body=None, headers=None, timeout=HANG, source=None):
        h = {"Host": "127.0.0.1:%d" % self.port}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        h.update(headers or {})
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout,
                                       source_address=(source, 0) if source else None)
        try:
            c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for k, v in h.items():
                if v is not None:
                    c.putheader(k, v)
            if body is not None:
                c.putheader("Content-Length", str(len(body)))
            try:
                c.endheaders(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # answered (and closed) before the whole body was read: the answer is in
            r = c.getresponse()
            data = r.read()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data
        finally:
            c.close()

    def health(self, timeout=HANG):
        try:
            t0 = time.time()
            s, _, b = self.request("GET", "/health", timeout=timeout)
            return s, time.time() - t0
        except (OSError, http.client.HTTPException):
            return None, timeout

    def upload(self, rid, path, source=None, field="audio"):
        meta = {"recording_id": rid, "agent_user": "ann", "call_date": "2026-11-25 09:00:00"}
        if source:
            meta["source"] = source
        body, ctype = multipart([("metadata", None, "application/json",
                                  json.dumps(meta).encode())] +
                                [(field, os.path.basename(path), "audio/wav",
                                  open(path, "rb").read())])
        return self.request("POST", "/api/qa/calls", body, {"Content-Type": ctype}, timeout=30)

    def stop(self, timeout=70):
        return terminate(self.proc, timeout)


def terminate(proc, wait=HANG):
    """SIGTERM to a server under test and its exit status; killed when it has not ended within
    wait seconds (a hang): None."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return None
    return proc.returncode


def multipart(parts, boundary="redteamBOUNDARY", close=True):
    out = b""
    for name, filename, ctype, data in parts:
        out += b"--" + boundary.encode() + b"\r\n"
        disp = 'form-data; name="%s"' % name
        if filename:
            disp += '; filename="%s"' % filename
        out += b"Content-Disposition: " + disp.encode() + b"\r\n"
        if ctype:
            out += b"Content-Type: " + ctype.encode() + b"\r\n"
        out += b"\r\n" + data + b"\r\n"
    if close:
        out += b"--" + boundary.encode() + b"--\r\n"
    return out, "multipart/form-data; boundary=" + boundary


def raw(svc, data, wait=30.0, source=None):
    """Send bytes on a fresh connection; everything read back until it closes or `wait`."""
    s = socket.create_connection(("127.0.0.1", svc.port), timeout=wait,
                                 source_address=(source, 0) if source else None)
    s.sendall(data)
    got = b""
    t0 = time.time()
    try:
        while time.time() - t0 < wait:
            d = s.recv(65536)
            if not d:
                break
            got += d
    except OSError:
        pass
    s.close()
    return got


def healthy(svc, what):
    """/health answered (200) after what came before: the connections an attack left open are
    still open, so its answer is the outcome (the time is only printed)"""
    s, dt = svc.health()
    return check("  /health answers after: %s (%.2f s)" % (what, dt), s == 200,
                 "status %s in %.2f s" % (s, dt))


def metric(svc, name):
    """The value of one series of the service's /metrics, `name` as it is written there
    (callqa_guard_total{reason="bad_request"}); None when the service did not answer or has
    no such series."""
    try:
        s, _, b = svc.request("GET", "/metrics")
    except (OSError, http.client.HTTPException):
        return None
    m = re.search(r"^%s (\S+)$" % re.escape(name), b.decode("utf-8", "replace"), re.M)
    return float(m.group(1)) if s == 200 and m else None


def until(pred, hang=HANG, step=0.05):
    """pred() once it is true, polled every step s, or its last value after hang s"""
    end = time.time() + hang
    while True:
        v = pred()
        if v or time.time() > end:
            return v
        time.sleep(step)


def json_lines(path):
    """The JSON objects of a file of one per line (an events or stats file still being written):
    a line cut or not JSON is passed over, a file not there yet is none."""
    out = []
    try:
        with open(path, "rb") as f:
            for line in f.read().split(b"\n"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    except OSError:
        pass
    return out


def cpu_tree(pid):
    """seconds of CPU of process pid and every process below it (its threads, its live
    descendants, and the ended ones each has reaped)"""
    hz = os.sysconf("SC_CLK_TCK")
    procs = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        x = st[st.rindex(")") + 2:].split()
        procs[int(p)] = (int(x[1]), sum(int(v) for v in x[11:15]))
    total, todo = 0, [pid]
    while todo:
        q = todo.pop()
        total += procs.get(q, (0, 0))[1]
        todo += [c for c, (ppid, _) in procs.items() if ppid == q]
    return total / hz


def delivered(svc, socks):
    """every byte sent on socks (connections to the service) read by the service: the send
    queue of each and the service's receive queue of each empty (/proc/net/tcp)"""
    queues = {}
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            x = line.split()
            tx, rx = (int(v, 16) for v in x[4].split(":"))
            queues[(int(x[1].split(":")[1], 16), int(x[2].split(":")[1], 16))] = (tx, rx)
    for c in socks:
        p = c.getsockname()[1]
        if queues.get((p, svc.port), (1, 1))[0] or queues.get((svc.port, p), (1, 1))[1]:
            return False
    return True


def statuses(reply):
    return [int(line.split()[1]) for line in reply.split(b"\r\n") if line.startswith(b"HTTP/1.")]


def call_id(svc, rid):
    s, _, b = svc.request("GET", "/api/qa/calls?limit=200")
    for c in json.loads(b).get("calls", []):
        if c.get("recording_id") == rid:
            return c.get("call_id") or c.get("id")
    return None
