#!/usr/bin/env python3
"""gate_httpd.py - a recording server for the service's tests: python3 -m http.server's files (a
folder, on 127.0.0.1, its access log on stderr), with a gate. While the file GATE exists, a GET
whose path ends in NAME is held before it is answered, and each request held adds a line to the
file HELD: a test knows that the service's fetch is under way (an analysis in flight, several
requests waiting on one fetch) and lets it go on by removing GATE.

    gate_httpd.py PORT DIR GATE HELD NAME
"""
import functools
import os
import sys
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

PORT, DIR, GATE, HELD, NAME = sys.argv[1:6]


class Handler(SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path.split("?")[0].endswith(NAME) and os.path.exists(GATE):
            with open(HELD, "a") as f:
                f.write(self.path + "\n")
            while os.path.exists(GATE):
                time.sleep(0.05)
        super().do_GET()


srv = ThreadingHTTPServer(("127.0.0.1", int(PORT)), functools.partial(Handler, directory=DIR))
srv.daemon_threads = True
srv.serve_forever()
