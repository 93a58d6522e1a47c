#!/usr/bin/env python3
"""rtpe_ng.py - rtpengine's ng control protocol (bencode over UDP, each message "COOKIE DICT"),
enough to fork a call's media to a listener: the call waited for (`list`), its caller's tag
(`query`), then `subscribe request` for that participant and `subscribe answer` with an SDP
naming the listener (rtpengine then sends it a copy of the caller's media, as it relays it). The caller is the
participant whose media comes from CALLER_ADDR.

usage: rtpe_ng.py NG_ADDR:PORT LISTEN_ADDR:PORT CALLER_ADDR [WAIT_SEC]
Prints the call's Call-ID and the subscription's tag; exit 1 (with rtpengine's words) on failure.
"""
import os
import socket
import sys
import time


def enc(v):
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, list):
        return b"l" + b"".join(enc(x) for x in v) + b"e"
    return b"d" + b"".join(enc(k) + enc(v[k]) for k in sorted(v)) + b"e"


def dec(b, i=0):
    c = b[i:i + 1]
    if c == b"i":
        j = b.index(b"e", i)
        return int(b[i + 1:j]), j + 1
    if c == b"l" or c == b"d":
        out, i = [], i + 1
        while b[i:i + 1] != b"e":
            x, i = dec(b, i)
            out.append(x)
        if c == b"l":
            return out, i + 1
        return {out[k].decode(): out[k + 1] for k in range(0, len(out), 2)}, i + 1
    j = b.index(b":", i)
    n = int(b[i:j])
    return b[j + 1:j + 1 + n], j + 1 + n


def text(v):
    return v.decode() if isinstance(v, bytes) else v


def ng(addr, msg):
    cookie = os.urandom(6).hex().encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(cookie + b" " + enc(msg), addr)
        data = s.recv(65536)
    if not data.startswith(cookie + b" "):
        sys.exit("rtpe_ng.py: a reply of another cookie")
    reply, _ = dec(data, len(cookie) + 1)
    if text(reply.get("result")) not in ("ok", "pong"):
        sys.exit("rtpe_ng.py: %s: %s" % (msg["command"], text(reply.get("error-reason", reply))))
    return reply


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    lhost, lport = sys.argv[2].rsplit(":", 1)
    addr = (host, int(port))
    caller_addr = sys.argv[3]
    end = time.monotonic() + (float(sys.argv[4]) if len(sys.argv) > 4 else 30)
    found = None
    while not found:  # the newest call with media from the caller, once Kamailio offered it
        for call_id in (text(c) for c in ng(addr, {"command": "list"}).get("calls", [])):
            q = ng(addr, {"command": "query", "call-id": call_id})
            for tag, p in q.get("tags", {}).items():
                if any(text(s.get(e, {}).get("address", b"")) == caller_addr
                       for m in p.get("medias", []) for s in m.get("streams", [])
                       for e in ("endpoint", "advertised endpoint")):
                    if not found or q.get("created", 0) > found[0]:
                        found = (q.get("created", 0), call_id, tag)
        if not found:
            if time.monotonic() > end:
                sys.exit("rtpe_ng.py: no call with media from %s in rtpengine" % caller_addr)
            time.sleep(0.05)
    _, call_id, caller = found
    offer = ng(addr, {"command": "subscribe request", "call-id": call_id, "from-tag": caller})
    sdp = ("v=0\r\no=- 1 1 IN IP4 %s\r\ns=callqa\r\nc=IN IP4 %s\r\nt=0 0\r\n"
           "m=audio %s RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=recvonly\r\n" % (lhost, lhost, lport))
    ng(addr, {"command": "subscribe answer", "call-id": call_id, "to-tag": offer["to-tag"],
              "sdp": sdp, "flags": ["allow transcoding"]})
    print(call_id, text(offer["to-tag"]))


if __name__ == "__main__":
    main()
