#!/usr/bin/env python3
"""agi_client.py - the FastAGI side of Asterisk, for the tests of `callqa live --fastagi`:
what a channel running AGI(agi://HOST:PORT/SCRIPT,UUID) sends and expects, written from the
AGI documentation (docs.asterisk.org, "Asterisk Gateway Interface (AGI)" and the AGI command
"SET VARIABLE"), since Debian 12 does not package Asterisk.

    agi_client.py --port P [--host H] [--script amd] [--chunk N] [--hangup-after S]
                  [--wait-sec S] UUID...

For each UUID, at once, one connection: the environment as Asterisk sends it to a FastAGI
server (agi_network: yes, agi_network_script: SCRIPT, the channel's agi_* lines, agi_arg_1: the
UUID, an empty line), in pieces of at most --chunk bytes (the server must not care where a read
ends). Then every line received is checked: exactly "SET VARIABLE AMDSTATUS <status>" with
status HUMAN, MACHINE, NOTSURE or HANGUP, answered "200 result=1", then exactly
SET VARIABLE AMDCAUSE "<cause>" in AMD()'s vocabulary for that status, answered "200 result=1",
then the connection must close (the dialplan goes on). --script hold: the same with HOLDSTATUS
(HUMAN, ENDED, NOTSURE, HANGUP) and HOLDCAUSE, callqa's hold-slayer answer (docs/live.md). --hangup-after S: send "HANGUP" (the
channel hung up) after S seconds instead, and expect the server to close.

--wait-sec S (default 300) bounds each wait for the server, a hang guard only.

Prints one JSON line per UUID: uuid, status, cause, secs (from the connection to the answer),
ok (every line as the protocol says), error (what was wrong), closed (the server closed).
Exit 0 when every connection was ok.
"""
import argparse
import json
import re
import socket
import sys
import threading
import time

CAUSES = {
    "HUMAN": re.compile(r"^HUMAN-\d+-\d+$"),
    "MACHINE": re.compile(r"^(LONGGREETING-\d+-\d+|INITIALSILENCE-\d+-\d+|MAXWORDLENGTH-\d+"
                          r"|MAXWORDS-\d+-\d+)$"),
    "NOTSURE": re.compile(r"^TOOLONG-\d+$"),
    "HANGUP": re.compile(r"^$"),
}
STATUS_RE = re.compile(r"^SET VARIABLE AMDSTATUS (HUMAN|MACHINE|NOTSURE|HANGUP)\n$")
CAUSE_RE = re.compile(r'^SET VARIABLE AMDCAUSE "([^"\\]*)"\n$')
# script hold: callqa's hold-slayer answer (docs/live.md), in the same style
HOLD_CAUSES = {
    "HUMAN": re.compile(r"^(QUIETHANDOVER-\d+-1280|NOMUSICAFTER-\d+-10500|PROBEREPLY-\d+-1280)$"),
    "ENDED": re.compile(r"^NOMUSIC-\d+-30000$"),
    "NOTSURE": re.compile(r"^TOOLONG-\d+$"),
    "HANGUP": re.compile(r"^$"),
}
HOLD_STATUS_RE = re.compile(r"^SET VARIABLE HOLDSTATUS (HUMAN|ENDED|NOTSURE|HANGUP)\n$")
HOLD_CAUSE_RE = re.compile(r'^SET VARIABLE HOLDCAUSE "([^"\\]*)"\n$')


def environment(host, port, script, uuid, n, dest=None):
    """The lines Asterisk sends a FastAGI server before any command."""
    env = [
        ("agi_network", "yes"),
        ("agi_network_script", script),
        ("agi_request", "agi://%s:%d/%s" % (host, port, script)),
        ("agi_channel", "PJSIP/trunk-%08x" % n),
        ("agi_language", "en"),
        ("agi_type", "PJSIP"),
        ("agi_uniqueid", "1700000000.%d" % n),
        ("agi_version", "20.5.0"),
        ("agi_callerid", "5551230000"),
        ("agi_calleridname", "unknown"),
        ("agi_callingpres", "0"),
        ("agi_callingani2", "0"),
        ("agi_callington", "0"),
        ("agi_callingtns", "0"),
        ("agi_dnid", "unknown"),
        ("agi_rdnis", "unknown"),
        ("agi_context", "callqa-amd"),
        ("agi_extension", "s"),
        ("agi_priority", "3"),
        ("agi_enhanced", "0.0"),
        ("agi_accountcode", ""),
        ("agi_threadid", str(140000000000 + n)),
        ("agi_arg_1", uuid),
    ] + ([("agi_arg_2", dest)] if dest else [])
    return "".join("%s: %s\n" % kv for kv in env).encode() + b"\n"


def one(a, uuid, n, out):
    r = {"uuid": uuid, "status": None, "cause": None, "ok": False, "error": "", "closed": False}
    t0 = time.monotonic()
    try:
        s = socket.create_connection((a.host, a.port), timeout=a.wait_sec)
        env = environment(a.host, a.port, a.script, uuid, n, a.dest)
        for i in range(0, len(env), a.chunk):
            s.sendall(env[i:i + a.chunk])
            if a.chunk < len(env):
                time.sleep(0.002)
        f = s.makefile("rb")
        if a.hangup_after is not None:
            time.sleep(a.hangup_after)
            s.sendall(b"HANGUP\n")
            line = f.readline()
            r["closed"] = line == b""
            r["ok"] = r["closed"]
            r["error"] = "" if r["closed"] else "after HANGUP the server sent %r" % line
        else:
            hold = a.script == "hold"
            status_re, cause_re, causes, var = (
                (HOLD_STATUS_RE, HOLD_CAUSE_RE, HOLD_CAUSES, "HOLD") if hold
                else (STATUS_RE, CAUSE_RE, CAUSES, "AMD"))
            line = f.readline().decode("utf-8", "replace")
            m = status_re.match(line)
            if not m:
                raise ValueError("expected SET VARIABLE %sSTATUS <status>, got %r" % (var, line))
            r["status"] = m.group(1)
            r["secs"] = round(time.monotonic() - t0, 3)
            s.sendall(b"200 result=1\n")
            line = f.readline().decode("utf-8", "replace")
            m = cause_re.match(line)
            if not m:
                raise ValueError('expected SET VARIABLE %sCAUSE "<cause>", got %r' % (var, line))
            r["cause"] = m.group(1)
            if not causes[r["status"]].match(r["cause"]):
                raise ValueError("cause %r is not a %s cause for %s" % (r["cause"], var, r["status"]))
            s.sendall(b"200 result=1\n")
            rest = f.readline()
            r["closed"] = rest == b""
            if not r["closed"]:
                raise ValueError("expected the end of the AGI session, got %r" % rest)
            r["ok"] = True
        s.close()
    except (OSError, ValueError) as e:
        r["error"] = str(e)
    out.append(r)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--script", default="amd")
    ap.add_argument("--chunk", type=int, default=7)
    ap.add_argument("--hangup-after", type=float)
    ap.add_argument("--wait-sec", type=float, default=300,
                    help="the longest silence of the server (a hang guard: an answer waits for "
                         "the call's analysis to decide)")
    ap.add_argument("--dest", default=None,
                    help="agi_arg_2: the destination, as AGI(agi://HOST:PORT/hold,UUID,DEST)")
    ap.add_argument("uuid", nargs="+")
    a = ap.parse_args()
    out, ths = [], []
    for n, u in enumerate(a.uuid):
        t = threading.Thread(target=one, args=(a, u, n, out))
        t.start()
        ths.append(t)
    for t in ths:
        t.join()
    for r in out:
        print(json.dumps(r))
    sys.exit(0 if all(r["ok"] for r in out) else 1)


if __name__ == "__main__":
    main()
