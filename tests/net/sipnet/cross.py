#!/usr/bin/env python3
"""cross.py - bursty cross traffic: COUNT datagrams of SIZE bytes to ADDR:PORT back to back,
every PERIOD seconds, for DURATION seconds. Sent through the router's rate-limited link (tbf),
each burst queues the call's media behind it: queueing jitter, the same pattern every run.

usage: cross.py ADDR PORT COUNT SIZE PERIOD DURATION
"""
import socket
import sys
import time


def main():
    addr, port = sys.argv[1], int(sys.argv[2])
    count, size = int(sys.argv[3]), int(sys.argv[4])
    period, duration = float(sys.argv[5]), float(sys.argv[6])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    payload = b"\0" * size
    start = time.monotonic()
    k = 0
    while True:
        at = start + k * period
        if at - start > duration:
            break
        time.sleep(max(0.0, at - time.monotonic()))
        for _ in range(count):
            try:
                s.sendto(payload, (addr, port))
            except OSError:  # the callee's ICMP port unreachable, reported on a later send
                pass
        k += 1


if __name__ == "__main__":
    main()
