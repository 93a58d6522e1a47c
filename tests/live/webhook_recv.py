#!/usr/bin/env python3
"""webhook_recv.py - a webhook receiver for the tests of `callqa live --webhook`: an HTTP server
(python3 http.server, on loopback) that checks each POST as docs/live.md tells a receiver to:
X-Callqa-Timestamp within 300 s of now, X-Callqa-Signature equal to "sha256=" and the hex
HMAC-SHA256 under the shared secret of "<timestamp>.<body>" (compared in constant time), the body
JSON. It answers 503 to the first --fail-first attempts of every delivery (X-Callqa-Delivery),
then 204.

    webhook_recv.py --secret-file FILE --port-file FILE --log FILE [--fail-first N]

Each request is one JSON line in --log: delivery, attempt, sig_ok, ts_ok, json_ok, answered,
body.
"""
import argparse
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

A = None
LOCK = threading.Lock()
SEEN = {}


class H(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        ts = self.headers.get("X-Callqa-Timestamp", "")
        sig = self.headers.get("X-Callqa-Signature", "")
        want = "sha256=" + hmac.new(A.key, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        sig_ok = hmac.compare_digest(sig, want)
        try:
            ts_ok = abs(int(ts) - time.time()) <= 300
        except ValueError:
            ts_ok = False
        try:
            json.loads(body)
            json_ok = self.headers.get("Content-Type") == "application/json"
        except ValueError:
            json_ok = False
        d = self.headers.get("X-Callqa-Delivery", "")
        with LOCK:
            SEEN[d] = SEEN.get(d, 0) + 1
            tries = SEEN[d]
        code = 503 if tries <= A.fail_first else 204
        if not (sig_ok and ts_ok and json_ok):
            code = 401
        rec = {"delivery": d, "attempt": self.headers.get("X-Callqa-Attempt", ""), "tries": tries,
               "sig_ok": sig_ok, "ts_ok": ts_ok, "json_ok": json_ok, "answered": code,
               "body": body.decode("utf-8", "replace")}
        with LOCK, open(A.log, "a") as f:
            f.write(json.dumps(rec) + "\n")
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()


def main():
    global A
    ap = argparse.ArgumentParser()
    ap.add_argument("--secret-file", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--fail-first", type=int, default=0)
    A = ap.parse_args()
    A.key = open(A.secret_file, "rb").read().split(b"\n")[0].rstrip(b"\r")
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    with open(A.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(A.port_file + ".tmp", A.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
