#!/usr/bin/env python3
"""hep.py - a capture's SIP and RTCP as a PBX's HEP agent sends them to a collector
(Asterisk's res_hep, Kamailio's siptrace, FreeSWITCH), captured on the way: each UDP datagram
that is SIP or RTCP of a plain capture (pcap, Ethernet with VLAN tags or PPPoE, IPv4 or IPv6),
and each SIP message over TCP (put back together from its segments, a segment sent twice read
once), becomes one HEP packet, with its original addresses, ports, transport and time, sent from the
agent 10.99.0.1 to the collector 10.99.0.2:9060 half a millisecond after it was captured.

usage: hep.py [--v2] [--rtcp-json] [--key KEY] IN OUT [IN OUT]...

HEPv3 by default: chunks 1 (family), 2 (transport), 3/4 or 5/6 (addresses), 7/8 (ports), 9/10
(seconds, microseconds), 11 (1 SIP, 5 RTCP), 12 (agent id 2001), 14 (the key, when given), 15
(the payload), 17 (the correlation id: the SIP message's Call-ID; an RTCP packet's, the
Call-ID whose SDP names its address and port or the RTP port below it, when one does). --v2:
version 2's fixed header (IPv4 only), its time in the sender's (little-endian) byte order.
--rtcp-json: each SR and RR of an RTCP packet as Asterisk's res_hep_rtcp sends it, one HEP
packet of JSON each
(rtp_engine.c's rtcp_report_to_json: ssrc, type, report_count, sender_information with the NTP
time as Unix seconds and microseconds in strings, report_blocks with lsr as a string; C ints,
so an SSRC past 2^31 is negative), its correlation id the Call-ID whose SDP names the RTCP's
address and port (or the RTP port below it); SDES, BYE and XR are not sent.
Prints how many SIP and RTCP packets it wrote, a line for each IN OUT (one process for many; a
pair that fails prints "failed", its error on stderr).

packets(IN, v2, key, rtcp_json) yields (sec, usec, kind, hep bytes) for hep_send.py.
"""
import re
import struct
import sys

sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__)))
import gen_pcap  # noqa: E402

AGENT, COLLECTOR = (10, 99, 0, 1), (10, 99, 0, 2)
SIP_START = re.compile(rb"^(SIP/2\.0 \d{3}[^\r\n]*|[A-Z]+ \S+ SIP/2\.0)\r?\n")
CALL_ID = re.compile(rb"^(?:Call-ID|i)\s*:\s*(\S+)", re.I | re.M)


def frames(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic not in (0xA1B2C3D4, 0xA1B23C4D) or struct.unpack("<I", data[20:24])[0] != 1:
        sys.exit("hep.py: %s: a little-endian Ethernet pcap is needed" % path)
    nano, off = magic == 0xA1B23C4D, 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        off += 16
        yield sec, (frac // 1000 if nano else frac), data[off:off + incl]
        off += incl


CONTENT_LENGTH = re.compile(rb"^(?:Content-Length|l)\s*:\s*(\d+)", re.I | re.M)


class TcpSip:
    """SIP over TCP as an agent sends it: each flow's bytes in sequence (a segment sent again
    read once), cut into whole messages at their Content-Length"""

    def __init__(self):
        self.flows = {}

    def segment(self, key, seq, data):
        if not data:  # SYN, ACK, FIN: no bytes
            return []
        f = self.flows.setdefault(key, {"next": seq, "buf": b""})
        if seq < f["next"]:  # sent again: only what is new
            data = data[f["next"] - seq:]
            seq = f["next"]
        if seq != f["next"] or not data:
            return []
        f["next"] += len(data)
        f["buf"] += data
        out = []
        while True:
            end = f["buf"].find(b"\r\n\r\n")
            if end < 0:
                break
            m = CONTENT_LENGTH.search(f["buf"][:end])
            n = end + 4 + (int(m.group(1)) if m else 0)
            if len(f["buf"]) < n:
                break
            out.append(f["buf"][:n])
            f["buf"] = f["buf"][n:]
        return out


def transport_of(frame, tcp_sip):
    """[(family, src, dst, sport, dport, proto, payload)]: a frame's UDP datagram, or the SIP
    messages a TCP segment completes"""
    et, off = struct.unpack("!H", frame[12:14])[0], 14
    while et in (0x8100, 0x88A8):
        et, off = struct.unpack("!H", frame[off + 2:off + 4])[0], off + 4
    if et == 0x8864:  # PPPoE session, PPP protocol
        proto = struct.unpack("!H", frame[off + 6:off + 8])[0]
        et, off = {0x0021: 0x0800, 0x0057: 0x86DD}.get(proto, 0), off + 8
    ip = frame[off:]
    if et == 0x0800 and len(ip) >= 20:
        hl, tot = (ip[0] & 15) * 4, struct.unpack("!H", ip[2:4])[0]
        if struct.unpack("!H", ip[6:8])[0] & 0x3FFF:
            return []
        fam, src, dst, proto, t = 4, ip[12:16], ip[16:20], ip[9], ip[hl:tot]
    elif et == 0x86DD and len(ip) >= 40:
        fam, src, dst, proto = 6, ip[8:24], ip[24:40], ip[6]
        t = ip[40:40 + struct.unpack("!H", ip[4:6])[0]]
    else:
        return []
    sp, dp = struct.unpack("!HH", t[:4])
    if proto == 17:
        return [(fam, src, dst, sp, dp, 17, t[8:struct.unpack("!H", t[4:6])[0]])]
    if proto == 6:
        seq, doff = struct.unpack("!I", t[4:8])[0], (t[12] >> 4) * 4
        msgs = tcp_sip.segment((src, dst, sp, dp), seq, t[doff:])
        return [(fam, src, dst, sp, dp, 6, m) for m in msgs if SIP_START.match(m[:200])]
    return []


def kind_of(payload):
    if SIP_START.match(payload[:200]):
        return 1
    if len(payload) >= 8 and payload[0] >> 6 == 2 and 200 <= payload[1] <= 204:
        return 5
    return 0


def chunk(t, value):
    return struct.pack("!HHH", 0, t, 6 + len(value)) + value


def rtcp_json(payload):
    """the SR and RR packets of an RTCP compound as res_hep_rtcp's JSON reports"""
    import json
    off = 0  # a compound that does not hold together is not one Asterisk parsed: none
    while len(payload) - off >= 4:  # less than a header after the last is ignored
        if payload[off] >> 6 != 2:
            return []
        n = (struct.unpack("!H", payload[off + 2:off + 4])[0] + 1) * 4
        pad = payload[off] & 0x20
        rc, pt = payload[off] & 31, payload[off + 1]
        if off + n > len(payload) or (pad and off + n != len(payload)) or \
                (pt == 200 and n < 28 + 24 * rc) or (pt == 201 and n < 8 + 24 * rc):
            return []
        off += n
    out, off = [], 0
    while off + 8 <= len(payload):
        rc, pt = payload[off] & 31, payload[off + 1]
        n = (struct.unpack("!H", payload[off + 2:off + 4])[0] + 1) * 4
        body = payload[off + 4:off + n]
        off += n
        if pt not in (200, 201) or len(body) < 4:
            continue
        ssrc = struct.unpack("!I", body[:4])[0]
        r = {"ssrc": ssrc - (1 << 32) if ssrc >= 1 << 31 else ssrc, "type": pt,
             "report_count": rc, "sender_information": None, "report_blocks": []}
        b = 4
        if pt == 200:
            msw, lsw, ts, pk, oc = struct.unpack("!IIIII", body[4:24])
            r["sender_information"] = {
                "ntp_timestamp_sec": "%d" % ((msw - 2208988800) & 0xFFFFFFFF),
                "ntp_timestamp_usec": "%d" % (lsw * 1000000 >> 32),
                "rtp_timestamp": ts - (1 << 32) if ts >= 1 << 31 else ts,
                "packets": pk, "octets": oc}
            b = 24
        for _ in range(rc):
            src, fl_lost, hs, jit, lsr, dlsr = struct.unpack("!IIIIII", body[b:b + 24])
            b += 24
            r["report_blocks"].append({
                "source_ssrc": src - (1 << 32) if src >= 1 << 31 else src,
                "fraction_lost": fl_lost >> 24, "packets_lost": fl_lost & 0xFFFFFF,
                "highest_seq_no": hs, "ia_jitter": jit, "lsr": "%d" % lsr, "dlsr": dlsr})
        out.append(json.dumps(r).encode())
    return out


SDP_C = re.compile(rb"^c=IN IP[46] (\S+)", re.M)
SDP_M = re.compile(rb"^m=audio (\d+)", re.M)


def sdp_calls(payload, calls):
    """an SDP's address and RTP port (and the RTCP port above it) filed under its Call-ID"""
    m, c, cid = SDP_M.search(payload), SDP_C.search(payload), CALL_ID.search(payload)
    if m and c and cid:
        import socket
        try:
            a = socket.inet_pton(socket.AF_INET6 if b":" in c.group(1) else socket.AF_INET,
                                 c.group(1).decode())
        except (OSError, UnicodeDecodeError):
            return
        port = int(m.group(1))
        calls[(a, port)] = calls[(a, port + 1)] = cid.group(1)


def hep3(fam, src, dst, sp, dp, proto, sec, usec, kind, payload, key, corr=None):
    c = chunk(1, bytes([2 if fam == 4 else 10])) + chunk(2, bytes([proto]))
    c += chunk(3 if fam == 4 else 5, src) + chunk(4 if fam == 4 else 6, dst)
    c += chunk(7, struct.pack("!H", sp)) + chunk(8, struct.pack("!H", dp))
    c += chunk(9, struct.pack("!I", sec)) + chunk(10, struct.pack("!I", usec))
    c += chunk(11, bytes([kind])) + chunk(12, struct.pack("!I", 2001))
    if key:
        c += chunk(14, key.encode())
    m = CALL_ID.search(payload) if kind == 1 else None
    if m or corr:
        c += chunk(17, m.group(1) if m else corr)
    c += chunk(15, payload)
    return b"HEP3" + struct.pack("!H", 6 + len(c)) + c


def hep2(src, dst, sp, dp, sec, usec, payload):
    return struct.pack("!BBBBHH4s4s", 2, 16, 2, 17, sp, dp, src, dst) + \
        struct.pack("<IIHH", sec, usec, 2001, 0) + payload


def packets(path, v2=False, key=None, as_json=False):
    """(sec, usec, kind, HEP bytes) for each SIP message and RTCP packet of the capture at path,
    in its order"""
    tcp_sip, calls = TcpSip(), {}
    for sec, usec, frame in frames(path):
        for fam, src, dst, sp, dp, proto, payload in transport_of(frame, tcp_sip):
            kind = kind_of(payload)
            if not kind or (v2 and (fam != 4 or kind != 1 or proto != 17)):
                continue
            if kind == 1:
                sdp_calls(payload, calls)
            if v2:
                yield sec, usec, kind, hep2(src, dst, sp, dp, sec, usec, payload)
            elif kind == 5 and as_json:
                corr = calls.get((src, sp)) or calls.get((dst, dp))
                for j in rtcp_json(payload):
                    yield sec, usec, kind, hep3(fam, src, dst, sp, dp, proto, sec, usec, kind, j,
                                                key, corr)
            else:  # RTCP with the Call-ID of its SDP as its correlation id, as rtpengine sends it
                corr = calls.get((src, sp)) or calls.get((dst, dp)) if kind == 5 else None
                yield sec, usec, kind, hep3(fam, src, dst, sp, dp, proto, sec, usec, kind,
                                            payload, key, corr)


def replay(src, dst, v2, key, as_json):
    out = open(dst, "wb")
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
    n = {1: 0, 5: 0}
    ident = 0
    for sec, usec, kind, h in packets(src, v2, key, as_json):
        ident += 1
        pkt = gen_pcap.ETH_DST + gen_pcap.ETH_SRC + b"\x08\x00" + \
            gen_pcap.ipv4(AGENT, COLLECTOR, 17, gen_pcap.udp(40000, 9060, h), ident & 0xFFFF)
        t_usec = usec + 500
        out.write(struct.pack("<IIII", sec + t_usec // 1000000, t_usec % 1000000, len(pkt),
                              len(pkt)) + pkt)
        n[kind] += 1
    out.close()
    return n


def main():
    args = sys.argv[1:]
    v2, as_json, key = "--v2" in args, "--rtcp-json" in args, None
    args = [a for a in args if a not in ("--v2", "--rtcp-json")]
    if "--key" in args:
        i = args.index("--key")
        key = args[i + 1]
        del args[i:i + 2]
    if not args or len(args) % 2:
        print(__doc__, file=sys.stderr)
        return 2
    if len(args) == 2:
        n = replay(args[0], args[1], v2, key, as_json)
        print("%d SIP, %d RTCP" % (n[1], n[5]))
        return 0
    rc = 0
    for i in range(0, len(args), 2):
        try:
            n = replay(args[i], args[i + 1], v2, key, as_json)
            print("%d SIP, %d RTCP" % (n[1], n[5]), flush=True)
        except (SystemExit, Exception) as e:  # this pair alone, as a run of its own would fail
            import traceback
            traceback.print_exc()
            print("failed", flush=True)
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
