#!/usr/bin/env python3
"""hep_send.py - a PBX's HEP agent (Asterisk's res_hep and res_hep_rtcp, Kamailio's siptrace,
FreeSWITCH) replaying a capture to a collector: each SIP message and RTCP packet of the capture
as one HEP packet (tests/net/hep.py makes them: HEPv3 by default, its chunks as those agents
fill them, the correlation id the Call-ID), sent over UDP, one datagram each, or over one TCP
connection, HEP3 packets back to back (HEP3's length frames them, as Kamailio and Asterisk send
them over TCP). In the capture's order; --pace sends them at the capture's pace divided by N
(0: at once). Over UDP to a collector on this host, a datagram goes out only while the
collector's socket holds less than 64 KiB not yet read (its rx_queue in /proc/net/udp), so a
collector slower than the sender is waited for (up to 60 s, a hang guard) and never has one
dropped by the kernel.

usage: hep_send.py [--tcp] [--v2] [--rtcp-json] [--key KEY] [--bind ADDR] [--pace N]
                   HOST PORT CAPTURE...
Prints how many packets it sent.
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hep  # noqa: E402

BACKLOG = 65536  # bytes the collector's socket may hold unread (every socket buffer holds more)


def rx_queue(port):
    """The bytes waiting unread in the unconnected UDP sockets bound to port on this host
    (/proc/net/udp, udp6), or None when there is none here."""
    want, total, found = ":%04X" % port, 0, False
    for path in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    w = line.split()
                    if len(w) > 4 and w[1].endswith(want) and w[3] == "07":
                        total += int(w[4].split(":")[1], 16)
                        found = True
        except (OSError, StopIteration):
            pass
    return total if found else None


def wait_room(port):
    """Until the collector's socket holds less than BACKLOG unread; False after 60 s."""
    until = time.monotonic() + 60
    while (rx_queue(port) or 0) >= BACKLOG:
        if time.monotonic() > until:
            return False
        time.sleep(0.001)
    return True


def main():
    args = sys.argv[1:]
    flags = {"--tcp": False, "--v2": False, "--rtcp-json": False}
    opts = {"--key": None, "--bind": None, "--pace": "0"}
    rest = []
    i = 0
    while i < len(args):
        if args[i] in flags:
            flags[args[i]] = True
        elif args[i] in opts:
            opts[args[i]] = args[i + 1]
            i += 1
        else:
            rest.append(args[i])
        i += 1
    if len(rest) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    host, port, caps = rest[0], int(rest[1]), rest[2:]
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM if flags["--tcp"] else socket.SOCK_DGRAM)
    if opts["--bind"]:
        s.bind((opts["--bind"], 0))
    if flags["--tcp"]:
        s.connect((host, port))
    pace, n, t0, c0 = float(opts["--pace"]), 0, time.monotonic(), None
    local = not flags["--tcp"] and rx_queue(port) is not None
    for cap in caps:
        for sec, usec, _kind, h in hep.packets(cap, flags["--v2"], opts["--key"],
                                               flags["--rtcp-json"]):
            if pace > 0:
                t = sec + usec / 1e6
                c0 = t if c0 is None else c0
                wait = (t - c0) / pace - (time.monotonic() - t0)
                if wait > 0:
                    time.sleep(wait)
            if flags["--tcp"]:
                s.sendall(h)
            else:
                if local and n % 8 == 0 and not wait_room(port):
                    print("hep_send.py: the collector on port %d read nothing for 60 s" % port,
                          file=sys.stderr)
                    return 1
                s.sendto(h, (host, port))
                if not local and n % 64 == 63:
                    time.sleep(0.001)  # a burst no larger than a socket buffer holds
            n += 1
    s.close()
    print("%d packets" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
