#!/usr/bin/env python3
"""cqport.py - a free loopback port for a server a test starts, below the kernel's ephemeral range.

    python3 tests/lib/cqport.py        prints one (the shell's free_port, tests/lib.sh)
    from cqport import free_port       (tests/lib on sys.path)

A port the kernel picks (a bind to port 0, then closed) comes from the ephemeral range
(/proc/sys/net/ipv4/ip_local_port_range), the same range every outgoing connection takes its
local port from: with four tests at once making loopback connections, one of them took the port
between the pick and the server's bind, and the server could not listen. A port below that
range is never given to a connection; it is drawn at random from 20000 up to the range's start
and checked free for TCP and UDP (a server may take both), so that two tests collide only when
they draw the same port within the moment between the check and the bind.
"""
import random
import socket

LOW = 20000


def _ephemeral_start():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _free(port, host):
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind((host, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def free_port(host="127.0.0.1"):
    """a port free now for TCP and UDP on host, outside the ephemeral range when it can be"""
    top = _ephemeral_start() - 1
    if top - LOW >= 1000:
        rng = random.SystemRandom()
        for _ in range(200):
            p = rng.randint(LOW, top)
            if _free(p, host):
                return p
    s = socket.socket()  # a range that leaves no room below it: the kernel's pick
    s.bind((host, 0))
    p = s.getsockname()[1]
    s.close()
    return p


if __name__ == "__main__":
    print(free_port())
