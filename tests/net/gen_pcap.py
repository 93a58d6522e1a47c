#!/usr/bin/env python3
"""gen_pcap.py - RTP captures with what a network does to a call, written as pcap (or pcapng).

usage: gen_pcap.py KIND OUT [SEED]
       gen_pcap.py --each KIND OUT SEED [KIND OUT SEED]...
         (each capture as a run of its own writes it, one process for many; a KIND that fails
         prints "gen_pcap.py KIND failed" and the next is made)

KIND is one of:
  clean      one G.711 u-law stream, 20 ms packets, 10 s, a little arrival jitter
  loss       the same with 5 % of the packets lost at random
  burst      losses in bursts (a Gilbert model: good 98 %, bad 40 % staying)
  jitter     arrival jitter up to 30 ms, packets in order
  jitter120  arrival jitter up to 120 ms (a 50 ms buffer drops packets, a 200 ms one does not)
  reorder    some packets swapped with the next
  dup        some packets sent twice
  ssrc       the SSRC (and the sequence) changes half-way
  wrap       the sequence number wraps past 65535, with a loss across the wrap
  tswrap     the RTP timestamp wraps past 2^32
  marker     talk spurts: silence gaps, each restart with the marker bit
  cn         comfort noise packets (PT 13) in the silences
  twoway     two streams, one each way, A-law
  frag       the stream carried in IPv4 fragments (every 3rd datagram split in two)
  ipv6       the stream over IPv6
  vlan       Ethernet with an 802.1Q tag
  sll        Linux cooked capture (v1)
  pcapng     the clean stream written as pcapng
  many N     N streams (N from the KIND's argument, e.g. "many:10000"), 5 packets each, a
             round of all N every 100 ms (timestamps 800 apart)
  notrtp     one real G.711 stream (10.0.0.1:16000 -> 192.0.2.7:17000, 5 s) beside traffic that
             is never RTP, each protocol on its own port, on ports in the RTP range (10000-20000)
             and on high ports: DNS (queries with random and with incrementing IDs, answers),
             DHCP, TFTP, NTP, NetBIOS name queries (broadcast, incrementing IDs), SNMP, syslog,
             SSDP, STUN, mDNS, LLMNR, QUIC, DTLS and random bytes
  sip        a call's SIP over UDP (INVITE, 100, 180, 200, ACK, BYE, 200, compact headers, a
             folded line) and the same dialog's messages over TCP: one INVITE split across three
             segments, two messages in one segment, a retransmitted segment
  sipcase:C  one call that fails one way, C one of: busy (486), cancel (CANCEL, 487),
             timeout (408), carrier503 (503 with a Q.850 cause), noack (200 never ACKed),
             hold (re-INVITE sendonly, then sendrecv), private (SDP c= 192.168.1.20 sent
             from a public address), codec488 (488 to an offer of G.729 only), authloop (401
             three times); each a fresh Call-ID, over UDP
  b2bua      calls through a PBX (10.0.0.5) and an SBC (10.0.0.6), each of two legs with its
             own Call-ID ("pN-a", "pN-b"): linked by the number dialled (two at once), the
             caller after 40 s in a queue, X-CID, P-Charging-Vector, Session-ID, an Asterisk
             linkedid, the media passed through; and legs that must stay alone ("solo-"): one
             caller's two calls at once, the caller from another host, after the first leg
             ended, a null Session-ID
  calls      several calls in one capture, for matching a dialog to a stored call: four INVITE
             dialogs from 2024-05-02 10:30:00 UTC (1714645800) at +0, +30, +200 and +210 s, to
             913125550101 ... 913125550104, talk 60, 45, 30 and 90 s; the first's INVITE carries
             X-Asterisk-Uniqueid 1714645800.4411, the second's From display name is the ViciDial
             caller code V0502103030000884213, the third's INVITE and the fourth's 200 both carry
             uniqueid 1714646000.4420 (a B2BUA's two legs), the fourth's SDP session name is
             1714646999.5555 (a body, not a header); an OPTIONS at +100 s with its own
             X-Asterisk-Uniqueid 1714646100.4430 (not an INVITE dialog)
  manycalls N  N such calls (e.g. "manycalls:10000"), one a second, each INVITE with its
             X-Asterisk-Uniqueid 1714645800.N
  rtcp       a call (SIP with SDP) and its two G.711 streams, with RTCP on the ports one above:
             SRs both ways every 2 s with report blocks of known loss, jitter, LSR and DLSR (round
             trips of 80 ms, one of 500 ms), SDES CNAMEs, an RR of 15 % loss, an XR VoIP Metrics
             block (MOS-LQ 3.3, RERL and ext. R factor unavailable), a BYE; and two malformed
             packets (a length past the datagram, padding on a packet that is not the last)
  rtcpmux    two streams with their RTCP on the RTP ports (RFC 5761), no SIP: SRs and RRs
  flood:I:S[:P[:B]]  a hostile capture: I minimal INVITEs, each its own Call-ID and nothing else
             of its dialog, and S RTP streams of P packets (default 1) with B bytes of payload
             (default 104), interleaved, IP checksums left 0 (the reader does not check them):
             "flood:200000:100000" is 46 MB, "flood:50000:0" 6.7 MB (the service's bounds,
             tests/redteam/cat_bounds.py)
  big N      N packets of 200 calls' streams (400 streams, both ways, 20 ms each), in time order,
             with 1 % loss (e.g. "big:2000000": about 430 MB), for bench/net.sh

Arrival times are the send times plus the network's delay; the figures a tool should print
follow from them. SEED makes a run repeatable (default 1).
"""
import random
import struct
import sys

ETH_SRC = b"\x02\x00\x00\x00\x00\x01"
ETH_DST = b"\x02\x00\x00\x00\x00\x02"


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload, ident=0, flags_off=0):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, flags_off, 64, proto,
                      0, bytes(src), bytes(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def rtp(pt, seq, ts, ssrc, payload, marker=False):
    return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF,
                       ts & 0xFFFFFFFF, ssrc) + payload


class Writer:
    def __init__(self, path, link="eth", ng=False):
        self.f = open(path, "wb")
        self.link, self.ng = link, ng
        lt = {"eth": 1, "sll": 113, "raw": 101}[link]
        if ng:
            shb = struct.pack("<IIIHHq", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1) + struct.pack("<I", 28)
            idb_body = struct.pack("<HHI", lt, 0, 65535) + struct.pack("<HHB3x", 9, 1, 9) + \
                struct.pack("<HH", 0, 0)  # if_tsresol = 10^-9, end of options
            total = 8 + len(idb_body) + 4
            idb = struct.pack("<II", 1, total) + idb_body + struct.pack("<I", total)
            self.f.write(shb + idb)
        else:
            self.f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, lt))  # ns pcap

    def frame(self, t, ip_bytes, v6=False, vlan=False):
        et = 0x86DD if v6 else 0x0800
        if self.link == "eth":
            if vlan:
                data = ETH_DST + ETH_SRC + struct.pack("!HHH", 0x8100, 42, et) + ip_bytes
            else:
                data = ETH_DST + ETH_SRC + struct.pack("!H", et) + ip_bytes
        elif self.link == "sll":
            data = struct.pack("!HHH8sH", 0, 1, 6, ETH_SRC + b"\0\0", et) + ip_bytes
        else:
            data = ip_bytes
        ns = int(round(t * 1e9))
        if self.ng:
            pad = (4 - len(data) % 4) % 4
            body = struct.pack("<IIIII", 0, ns >> 32, ns & 0xFFFFFFFF, len(data), len(data)) + \
                data + b"\0" * pad
            blk = struct.pack("<II", 6, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))
            self.f.write(blk)
        else:
            self.f.write(struct.pack("<IIII", ns // 1000000000, ns % 1000000000, len(data),
                                     len(data)) + data)

    def close(self):
        self.f.close()


A = (10, 0, 0, 1)
B = (192, 0, 2, 7)
A6 = bytes.fromhex("20010db8000000000000000000000001")
B6 = bytes.fromhex("20010db8000000000000000000000002")


def tcp(sport, dport, seq, payload, flags=0x18):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0) + payload


def sip_msg(first, call, cseq, extra="", body=""):
    h = [first, "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK%s" % call,
         "f: <sip:alice@10.0.0.1>;tag=a1", "t: <sip:bob@192.0.2.7>",
         "i: %s" % call, "CSeq: %s" % cseq, "Subject: a folded", "  header line"]
    if extra:
        h.append(extra)
    if body:
        h.append("c: application/sdp")
    h.append("l: %d" % len(body))
    return ("\r\n".join(h) + "\r\n\r\n" + body).encode()


SDP = ("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
       "m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
       "a=rtpmap:101 telephone-event/8000\r\n")


def sip_capture(w):
    t, call = 1.0, "c1@10.0.0.1"
    flow = [(A, B, "INVITE sip:bob@192.0.2.7 SIP/2.0", "1 INVITE", SDP),
            (B, A, "SIP/2.0 100 Trying", "1 INVITE", ""),
            (B, A, "SIP/2.0 180 Ringing", "1 INVITE", ""),
            (B, A, "SIP/2.0 200 OK", "1 INVITE", SDP.replace("10.0.0.1", "192.0.2.7")),
            (A, B, "ACK sip:bob@192.0.2.7 SIP/2.0", "1 ACK", ""),
            (B, A, "BYE sip:alice@10.0.0.1 SIP/2.0", "2 BYE", ""),
            (A, B, "SIP/2.0 200 OK", "2 BYE", "")]
    for src, dst, first, cseq, body in flow:
        t += 0.5
        w.frame(t, ipv4(src, dst, 17, udp(5060, 5060, sip_msg(first, call, cseq, body=body))))
    # over TCP: the INVITE in three segments, then 100 and 180 in one, a retransmission
    call2 = "c2@10.0.0.1"
    inv = sip_msg("INVITE sip:bob@192.0.2.7 SIP/2.0", call2, "1 INVITE", body=SDP)
    seq = 1000
    cuts = [0, 40, len(inv) - 30, len(inv)]
    for a, b in zip(cuts, cuts[1:]):
        t += 0.01
        w.frame(t, ipv4(A, B, 6, tcp(40001, 5060, seq + a, inv[a:b])))
    t += 0.01  # the middle segment again
    w.frame(t, ipv4(A, B, 6, tcp(40001, 5060, seq + cuts[1], inv[cuts[1]:cuts[2]])))
    both = sip_msg("SIP/2.0 100 Trying", call2, "1 INVITE") + \
        sip_msg("SIP/2.0 180 Ringing", call2, "1 INVITE")
    t += 0.01
    w.frame(t, ipv4(B, A, 6, tcp(5060, 40001, 5000, both)))


PUB = (203, 0, 113, 5)


def sip_case(w, case):
    t, call = 1.0, "case-%s@203.0.113.5" % case
    caller, callee = (A, B) if case != "private" else (PUB, B)
    sdp_a = SDP.replace("10.0.0.1", "192.168.1.20" if case == "private" else "10.0.0.1")
    if case == "codec488":
        sdp_a = sdp_a.replace("RTP/AVP 0 101", "RTP/AVP 18").replace(
            "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n",
            "a=rtpmap:18 G729/8000\r\n")
    inv = "INVITE sip:bob@192.0.2.7 SIP/2.0"

    def send(src, dst, first, cseq, body="", extra="", dt=0.2):
        nonlocal t
        t += dt
        w.frame(t, ipv4(src, dst, 17, udp(5060, 5060,
                                          sip_msg(first, call, cseq, extra=extra, body=body))))

    if case == "authloop":
        for k in range(3):
            send(caller, callee, inv, "%d INVITE" % (k + 1), sdp_a)
            send(callee, caller, "SIP/2.0 401 Unauthorized", "%d INVITE" % (k + 1),
                 extra='WWW-Authenticate: Digest realm="x", nonce="n%d"' % k)
            send(caller, callee, "ACK sip:bob@192.0.2.7 SIP/2.0", "%d ACK" % (k + 1))
        return
    send(caller, callee, inv, "1 INVITE", sdp_a)
    send(callee, caller, "SIP/2.0 100 Trying", "1 INVITE")
    final = {"busy": "486 Busy Here", "timeout": "408 Request Timeout",
             "carrier503": "503 Service Unavailable", "codec488": "488 Not Acceptable Here"}
    if case in final:
        if case != "codec488":
            send(callee, caller, "SIP/2.0 180 Ringing", "1 INVITE", dt=1.5)
        extra = 'Reason: Q.850;cause=34;text="No circuit/channel available"' \
            if case == "carrier503" else ""
        send(callee, caller, "SIP/2.0 " + final[case], "1 INVITE", extra=extra, dt=4.0)
        send(caller, callee, "ACK sip:bob@192.0.2.7 SIP/2.0", "1 ACK")
        return
    send(callee, caller, "SIP/2.0 180 Ringing", "1 INVITE", dt=2.0)
    if case == "cancel":
        send(caller, callee, "CANCEL sip:bob@192.0.2.7 SIP/2.0", "1 CANCEL", dt=6.0)
        send(callee, caller, "SIP/2.0 200 OK", "1 CANCEL")
        send(callee, caller, "SIP/2.0 487 Request Terminated", "1 INVITE")
        send(caller, callee, "ACK sip:bob@192.0.2.7 SIP/2.0", "1 ACK")
        return
    ok = SDP.replace("10.0.0.1", "192.0.2.7")
    send(callee, caller, "SIP/2.0 200 OK", "1 INVITE", ok, dt=3.0)
    if case == "noack":
        for k in range(4):  # the 200 resent, never acknowledged
            send(callee, caller, "SIP/2.0 200 OK", "1 INVITE", ok, dt=0.5 * 2 ** k)
        send(callee, caller, "BYE sip:alice@10.0.0.1 SIP/2.0", "2 BYE", dt=1.0)
        return
    send(caller, callee, "ACK sip:bob@192.0.2.7 SIP/2.0", "1 ACK")
    if case == "hold":
        tagged = "t: <sip:bob@192.0.2.7>;tag=b1"
        for k, d in ((2, "sendonly"), (3, "sendrecv")):
            body = sdp_a + "a=%s\r\n" % d
            msg = sip_msg(inv, call, "%d INVITE" % k, body=body).replace(
                b"t: <sip:bob@192.0.2.7>", tagged.encode())
            t += 5.0
            w.frame(t, ipv4(caller, callee, 17, udp(5060, 5060, msg)))
            send(callee, caller, "SIP/2.0 200 OK", "%d INVITE" % k, ok)
            send(caller, callee, "ACK sip:bob@192.0.2.7 SIP/2.0", "%d ACK" % k)
    send(caller, callee, "BYE sip:bob@192.0.2.7 SIP/2.0", "9 BYE", dt=10.0)
    send(callee, caller, "SIP/2.0 200 OK", "9 BYE")


CALLS_T0 = 1714645800.0  # 2024-05-02 10:30:00 UTC


def call_msg(first, call, cseq, frm, to, extra=(), body=""):
    h = [first, "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK%s-%s" % (call, cseq.replace(" ", "")),
         "From: %s;tag=f%s" % (frm, call[:4]), "To: %s" % to, "Call-ID: %s" % call,
         "CSeq: %s" % cseq] + list(extra)
    if body:
        h.append("Content-Type: application/sdp")
    h.append("Content-Length: %d" % len(body))
    return ("\r\n".join(h) + "\r\n\r\n" + body).encode()


def one_call(call, t, number, ring, talk, frm='"Sales" <sip:8005550000@10.0.0.1>',
             invite_extra=(), ok_extra=(), sdp=SDP):
    """(time, src, dst, payload) of an answered call that the caller hangs up."""
    uri = "sip:%s@192.0.2.7" % number
    to = "<%s>" % uri
    to_tag = to + ";tag=t" + call[:4]
    ok_sdp = sdp.replace("10.0.0.1", "192.0.2.7")
    return [(t, A, B, call_msg("INVITE %s SIP/2.0" % uri, call, "1 INVITE", frm, to, invite_extra, sdp)),
            (t + 0.05, B, A, call_msg("SIP/2.0 100 Trying", call, "1 INVITE", frm, to)),
            (t + 0.5, B, A, call_msg("SIP/2.0 180 Ringing", call, "1 INVITE", frm, to_tag)),
            (t + ring, B, A, call_msg("SIP/2.0 200 OK", call, "1 INVITE", frm, to_tag, ok_extra, ok_sdp)),
            (t + ring + 0.05, A, B, call_msg("ACK %s SIP/2.0" % uri, call, "1 ACK", frm, to_tag)),
            (t + ring + talk, A, B, call_msg("BYE %s SIP/2.0" % uri, call, "2 BYE", frm, to_tag)),
            (t + ring + talk + 0.05, B, A, call_msg("SIP/2.0 200 OK", call, "2 BYE", frm, to_tag))]


def calls_capture(w):
    t0 = CALLS_T0
    ev = one_call("a-1@10.0.0.1", t0, "913125550101", 5.0, 60.0,
                  invite_extra=["X-Asterisk-Uniqueid: 1714645800.4411"])
    ev += one_call("b-2@10.0.0.1", t0 + 30, "913125550102", 8.0, 45.0,
                   frm='"V0502103030000884213" <sip:8005550000@10.0.0.1>')
    ev += one_call("c-3@10.0.0.1", t0 + 200, "913125550103", 4.0, 30.0,
                   invite_extra=["X-Asterisk-Uniqueid: 1714646000.4420"])
    ev += one_call("d-4@10.0.0.1", t0 + 210, "913125550104", 6.0, 90.0,
                   ok_extra=["X-VICIDIAL-uniqueid: 1714646000.4420"],
                   sdp=SDP.replace("s=-", "s=1714646999.5555"))
    frm, to = "<sip:8005550000@10.0.0.1>", "<sip:192.0.2.7>"
    ev += [(t0 + 100, A, B, call_msg("OPTIONS sip:192.0.2.7 SIP/2.0", "opt-0@10.0.0.1", "1 OPTIONS",
                                     frm, to, ["X-Asterisk-Uniqueid: 1714646100.4430"])),
           (t0 + 100.02, B, A, call_msg("SIP/2.0 200 OK", "opt-0@10.0.0.1", "1 OPTIONS", frm, to))]
    ev.sort(key=lambda e: e[0])
    for i, (t, src, dst, b) in enumerate(ev):
        w.frame(t, ipv4(src, dst, 17, udp(5060, 5060, b), i + 1))


def b2bua_leg(call, t, src, dst, uri, frm, ring, talk, extra=(), sdp_host=None, answer=True):
    """(time, src, dst, payload) of one leg: INVITE, 100, 180, 200 (or 486), ACK, BYE, 200"""
    to = "<%s>" % uri
    to_tag = to + ";tag=t" + call[:6]
    h = ".".join(str(x) for x in (sdp_host or src))
    sdp = SDP.replace("10.0.0.1", h)
    ok_sdp = SDP.replace("10.0.0.1", ".".join(str(x) for x in dst))
    ev = [(t, src, dst, call_msg("INVITE %s SIP/2.0" % uri, call, "1 INVITE", frm, to, extra, sdp)),
          (t + 0.01, dst, src, call_msg("SIP/2.0 100 Trying", call, "1 INVITE", frm, to)),
          (t + 0.3, dst, src, call_msg("SIP/2.0 180 Ringing", call, "1 INVITE", frm, to_tag))]
    if not answer:
        return ev + [(t + ring, dst, src, call_msg("SIP/2.0 486 Busy Here", call, "1 INVITE", frm,
                                                  to_tag)),
                     (t + ring + 0.01, src, dst, call_msg("ACK %s SIP/2.0" % uri, call, "1 ACK",
                                                          frm, to_tag))]
    return ev + [
        (t + ring, dst, src, call_msg("SIP/2.0 200 OK", call, "1 INVITE", frm, to_tag, (), ok_sdp)),
        (t + ring + 0.01, src, dst, call_msg("ACK %s SIP/2.0" % uri, call, "1 ACK", frm, to_tag)),
        (t + ring + talk, src, dst, call_msg("BYE %s SIP/2.0" % uri, call, "2 BYE", frm, to_tag)),
        (t + ring + talk + 0.01, dst, src, call_msg("SIP/2.0 200 OK", call, "2 BYE", frm, to_tag))]


def b2bua_capture(w):
    """calls through a PBX (10.0.0.5), each made of legs: the call ids name the expected call
    ("<call>-<leg>@..."); "solo-..." are legs that must stay alone"""
    pbx, carrier, other = (10, 0, 0, 5), (192, 0, 2, 7), (10, 0, 0, 6)
    ph = [(10, 0, 0, 21), (10, 0, 0, 22), (10, 0, 0, 23), (10, 0, 0, 24), (10, 0, 0, 25)]
    t0 = CALLS_T0
    ev = []
    # p1, p2: two agents dial out at once; each leg out carries its own number (time: number)
    ev += b2bua_leg("p1-a@10.0.0.21", t0, ph[0], pbx, "sip:913125550101@10.0.0.5",
                    '"2001" <sip:2001@10.0.0.5>', 0.2, 60)
    ev += b2bua_leg("p1-b@10.0.0.5", t0 + 0.02, pbx, carrier, "sip:3125550101@192.0.2.7",
                    '<sip:8005550000@10.0.0.5>', 5, 55)
    ev += b2bua_leg("p2-a@10.0.0.22", t0 + 0.5, ph[1], pbx, "sip:913125550102@10.0.0.5",
                    '"2002" <sip:2002@10.0.0.5>', 0.2, 40)
    ev += b2bua_leg("p2-b@10.0.0.5", t0 + 0.52, pbx, carrier, "sip:+13125550102@192.0.2.7",
                    '<sip:8005550000@10.0.0.5>', 4, 36)
    # p3: a caller from the carrier waits 40 s in a queue, then an agent's phone rings (time:
    # the same caller, +1 312... against 1312...)
    ev += b2bua_leg("p3-a@192.0.2.7", t0 + 10, carrier, pbx, "sip:8005550000@10.0.0.5",
                    '<sip:+13125550199@192.0.2.7>', 0.1, 120)
    ev += b2bua_leg("p3-b@10.0.0.5", t0 + 50, pbx, ph[2], "sip:2003@10.0.0.23",
                    '"13125550199" <sip:13125550199@10.0.0.5>', 3, 70)
    # p4: an SBC names the first leg's Call-ID in X-CID (another number, another caller)
    ev += b2bua_leg("p4-a@10.0.0.24", t0 + 20, ph[3], pbx, "sip:5551000@10.0.0.5",
                    '<sip:2004@10.0.0.5>', 0.2, 30)
    ev += b2bua_leg("p4-b@10.0.0.6", t0 + 21, other, carrier, "sip:7771000@192.0.2.7",
                    '<sip:anonymous@anonymous.invalid>', 2, 25, extra=["X-CID: p4-a@10.0.0.24"])
    # p5: one P-Charging-Vector icid on both legs; p6: one Session-ID on both
    pcv = 'P-Charging-Vector: icid-value="AyretyU0dm+6O2IrT5tAFrbHLso=023551024";orig-ioi=x'
    ev += b2bua_leg("p5-a@192.0.2.7", t0 + 30, carrier, pbx, "sip:8005550001@10.0.0.5",
                    '<sip:+4915112345678@192.0.2.7>', 0.1, 20, extra=[pcv])
    ev += b2bua_leg("p5-b@10.0.0.6", t0 + 30.5, other, ph[4], "sip:2005@10.0.0.25",
                    '<sip:4400@10.0.0.6>', 1, 18, extra=[pcv])
    sid = "Session-ID: ab30317f1a784dc48ff824d0d3715d86;remote=00000000000000000000000000000000"
    ev += b2bua_leg("p6-a@192.0.2.7", t0 + 40, carrier, pbx, "sip:8005550002@10.0.0.5",
                    '<sip:+4930123456@192.0.2.7>', 0.1, 20, extra=[sid])
    ev += b2bua_leg("p6-b@10.0.0.6", t0 + 45, other, ph[4], "sip:2006@10.0.0.25",
                    '<sip:4401@10.0.0.6>', 1, 10, extra=[sid.replace("=0000", "=1111")])
    # p7: one Asterisk linkedid on both legs; p8: the media passed through (the phone's SDP
    # offer on the leg out), nothing else in common
    lid = ["X-Asterisk-Linkedid: 1714645860.77"]
    ev += b2bua_leg("p7-a@10.0.0.21", t0 + 60, ph[0], pbx, "sip:5554000@10.0.0.5",
                    '<sip:2001@10.0.0.5>', 0.2, 10, extra=lid)
    ev += b2bua_leg("p7-b@10.0.0.6", t0 + 61, other, carrier, "sip:5559999@192.0.2.7",
                    '<sip:9002@10.0.0.6>', 2, 5, extra=lid)
    ev += b2bua_leg("p8-a@10.0.0.22", t0 + 70, ph[1], pbx, "sip:5554001@10.0.0.5",
                    '<sip:2002@10.0.0.5>', 0.2, 10)
    ev += b2bua_leg("p8-b@10.0.0.5", t0 + 70.1, pbx, carrier, "sip:5558888@192.0.2.7",
                    '<sip:9003@10.0.0.5>', 2, 5, sdp_host=ph[1])
    # alone: two calls of one caller at once, each on to an agent: which is which? (no guess)
    ev += b2bua_leg("solo-1a@192.0.2.7", t0 + 100, carrier, pbx, "sip:8005550003@10.0.0.5",
                    '<sip:+13125550777@192.0.2.7>', 0.1, 60)
    ev += b2bua_leg("solo-2a@192.0.2.7", t0 + 101, carrier, pbx, "sip:8005550004@10.0.0.5",
                    '<sip:+13125550777@192.0.2.7>', 0.1, 60)
    ev += b2bua_leg("solo-1b@10.0.0.5", t0 + 110, pbx, ph[0], "sip:2001@10.0.0.21",
                    '<sip:13125550777@10.0.0.5>', 2, 30)
    ev += b2bua_leg("solo-2b@10.0.0.5", t0 + 111, pbx, ph[1], "sip:2002@10.0.0.22",
                    '<sip:13125550777@10.0.0.5>', 2, 30)
    # alone: the same caller, but from another host than the one the first leg went to; and
    # after the first leg ended; and a leg whose only link would be a null Session-ID
    ev += b2bua_leg("solo-3a@192.0.2.7", t0 + 200, carrier, pbx, "sip:8005550005@10.0.0.5",
                    '<sip:+13125550888@192.0.2.7>', 0.1, 20)
    ev += b2bua_leg("solo-3b@10.0.0.6", t0 + 201, other, ph[2], "sip:2003@10.0.0.23",
                    '<sip:13125550888@10.0.0.6>', 2, 10)
    ev += b2bua_leg("solo-3c@10.0.0.5", t0 + 240, pbx, ph[3], "sip:2004@10.0.0.24",
                    '<sip:13125550888@10.0.0.5>', 2, 10)
    nul = ["Session-ID: 00000000000000000000000000000000"]
    ev += b2bua_leg("solo-4a@10.0.0.21", t0 + 300, ph[0], pbx, "sip:5552000@10.0.0.5",
                    '<sip:2001@10.0.0.5>', 0.2, 10, extra=nul)
    ev += b2bua_leg("solo-4b@10.0.0.6", t0 + 300.5, other, carrier, "sip:5553000@192.0.2.7",
                    '<sip:9001@10.0.0.6>', 2, 5, extra=nul)
    ev.sort(key=lambda e: e[0])
    for i, (t, src, dst, b) in enumerate(ev):
        w.frame(t, ipv4(src, dst, 17, udp(5060, 5060, b), i + 1))


def many_calls(w, n):
    ev = []
    for k in range(n):
        ev += one_call("m-%d@10.0.0.1" % k, CALLS_T0 + k, "91312555%04d" % (k % 10000), 3.0,
                       20.0 + k % 50, invite_extra=["X-Asterisk-Uniqueid: 1714645800.%d" % k])
    ev.sort(key=lambda e: e[0])
    for i, (t, src, dst, b) in enumerate(ev):
        w.frame(t, ipv4(src, dst, 17, udp(5060, 5060, b), i & 0xFFFF))


def flood(w, invites, streams, pkts=1, payload=104):
    """Minimal INVITEs and short RTP streams, interleaved, written straight to the file (a
    frame's headers packed once per kind: millions of frames in seconds)."""
    hdr = ETH_DST + ETH_SRC + b"\x08\x00"
    body = b"\xd5" * payload
    n = max(invites, streams * pkts)
    t_ns = 1000000000
    out = w.f
    for i in range(n):
        t_ns += 20000
        if i < invites:
            sip = ("INVITE sip:%06d@192.0.2.7 SIP/2.0\r\nCall-ID: f%06d@10.0.0.1\r\n"
                   "CSeq: 1 INVITE\r\n\r\n" % (i, i)).encode()
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28 + len(sip), 0, 0, 64, 17, 0,
                             bytes(A), bytes(B)) + struct.pack("!HHHH", 5060, 5060, 8 + len(sip), 0)
            data = hdr + ip + sip
            out.write(struct.pack("<IIII", t_ns // 1000000000, t_ns % 1000000000, len(data),
                                  len(data)) + data)
        if i < streams * pkts:
            s, k = i % streams, i // streams
            src = (10, 64 + (s >> 16), (s >> 8) & 255, s & 255)
            r = struct.pack("!BBHII", 0x80, 0, (100 + k) & 0xFFFF, 160 * k, 0x10000000 + s) + body
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28 + len(r), 0, 0, 64, 17, 0, bytes(src),
                             bytes(B)) + struct.pack("!HHHH", 10000 + 2 * (s % 20000), 20000,
                                                     8 + len(r), 0)
            data = hdr + ip + r
            out.write(struct.pack("<IIII", t_ns // 1000000000, t_ns % 1000000000 + 5000,
                                  len(data), len(data)) + data)


NTP_BASE = 3900000000  # an NTP second for the capture's time 0


def ntp_of(t):
    sec = NTP_BASE + int(t)
    frac = int((t - int(t)) * 2 ** 32) & 0xFFFFFFFF
    return sec, frac


def rtcp_hdr(count, pt, body, padding=0):
    n = 4 + len(body) + padding
    assert n % 4 == 0
    pad = b"\0" * (padding - 1) + bytes([padding]) if padding else b""
    return struct.pack("!BBH", 0x80 | (0x20 if padding else 0) | count, pt, n // 4 - 1) + body + pad


def rtcp_block(ssrc, frac, cum, ext, jitter, lsr, dlsr):
    return struct.pack("!IB3sIIII", ssrc, frac, (cum & 0xFFFFFF).to_bytes(3, "big"), ext, jitter,
                       lsr, dlsr)


def rtcp_sr(ssrc, t, rtp_ts, pkts, octets, blocks=()):
    msw, lsw = ntp_of(t)
    body = struct.pack("!IIIIII", ssrc, msw, lsw, rtp_ts, pkts, octets) + b"".join(blocks)
    return rtcp_hdr(len(blocks), 200, body)


def rtcp_rr(ssrc, blocks=()):
    return rtcp_hdr(len(blocks), 201, struct.pack("!I", ssrc) + b"".join(blocks))


def rtcp_sdes(ssrc, cname):
    chunk = struct.pack("!IBB", ssrc, 1, len(cname)) + cname.encode() + b"\0"
    chunk += b"\0" * ((4 - len(chunk) % 4) % 4)
    return rtcp_hdr(1, 202, chunk)


def rtcp_bye(ssrc):
    return rtcp_hdr(1, 203, struct.pack("!I", ssrc))


def rtcp_xr_voip(sender, source, loss, discard, bdens, gdens, bdur, gdur, rtd, esd, sig, noise,
                 rerl, gmin, r, extr, moslq, moscq, rxcfg, jbnom, jbmax, jbabs):
    blk = struct.pack("!BBHIBBBBHHHHbbBBBBBBBBHHH", 7, 0, 8, source, loss, discard, bdens, gdens,
                      bdur, gdur, rtd, esd, sig, noise, rerl, gmin, r, extr, moslq, moscq, rxcfg,
                      0, jbnom, jbmax, jbabs)
    return rtcp_hdr(0, 207, struct.pack("!I", sender) + blk)


def middle(t):
    msw, lsw = ntp_of(t)
    return (msw & 0xFFFF) << 16 | lsw >> 16


SSRC_A, SSRC_B = 0x11223344, 0x55667788


def rtcp_call(rng, mux=False):
    """(time, src, dst, sport, dport, udp payload) of a call with RTCP, in time order. The
    capture point is at A: A's packets are captured as they leave, B's as they arrive, 40 ms
    after B sent them; one of B's reports takes 460 ms to arrive (a round trip of 500 ms)."""
    ev = []
    pa = 40000 if mux else 40001
    pb = 20000 if mux else 20001
    if not mux:
        call = "rtcp@10.0.0.1"
        sdp_a = SDP.replace("m=audio 40000", "m=audio 40000")
        sdp_b = SDP.replace("10.0.0.1", "192.0.2.7").replace("m=audio 40000", "m=audio 20000")
        for t, src, dst, first, cseq, body in (
                (0.2, A, B, "INVITE sip:bob@192.0.2.7 SIP/2.0", "1 INVITE", sdp_a),
                (0.5, B, A, "SIP/2.0 200 OK", "1 INVITE", sdp_b),
                (0.6, A, B, "ACK sip:bob@192.0.2.7 SIP/2.0", "1 ACK", "")):
            ev.append((t, src, dst, 5060, 5060, sip_msg(first, call, cseq, body=body)))
    for t, b in stream_packets(rng, "clean", pt=0, ssrc=SSRC_A):
        ev.append((t - 0.030, A, B, 40000, 20000, b))  # captured as it leaves A
    for t, b in stream_packets(rng, "clean", pt=0, ssrc=SSRC_B, seq0=5000, ts0=800):
        ev.append((t + 0.010, B, A, 20000, 40000, b))
    last_a, last_b = None, None  # A's last SR's time; B's, sent and received
    for k in range(4):
        ta = 2.0 + 2 * k
        blocks = [rtcp_block(SSRC_B, 0, 0, 5000 + 100 * (k + 1), 16, middle(last_b[0]),
                             int((ta - last_b[1]) * 65536))] if last_b else []
        ev.append((ta, A, B, pa, pb, rtcp_sr(SSRC_A, ta, 160000 + 8000 * int(ta), 50 * (k + 1),
                                             8000 * (k + 1), blocks) + rtcp_sdes(SSRC_A, "alice@10.0.0.1")))
        last_a = ta
        tb = ta + 0.040 + 0.5  # B got A's SR 40 ms later, and answers 0.5 s after that
        delay = 0.460 if k == 2 else 0.040
        frac, cum = (13, 25 * (k + 1)) if k < 3 else (40, 120)
        blk = rtcp_block(SSRC_A, frac, cum, 1000 + 100 * (k + 1), 80 + 40 * k, middle(last_a),
                         int(round(0.5 * 65536)))
        if k == 3:  # an RR, then an XR with the VoIP metrics of A's stream
            pkt = rtcp_rr(SSRC_B, [blk]) + rtcp_sdes(SSRC_B, "bob@192.0.2.7") + \
                rtcp_xr_voip(SSRC_B, SSRC_A, 13, 3, 50, 5, 120, 3000, 80, 60, -20, -60, 127, 16,
                             65, 127, 33, 32, 0xF5, 40, 80, 200)
        else:
            pkt = rtcp_sr(SSRC_B, tb, 800 + 8000 * int(tb), 50 * (k + 1), 8000 * (k + 1), [blk]) + \
                rtcp_sdes(SSRC_B, "bob@192.0.2.7")
            last_b = (tb, tb + delay)  # sent, and received at A
        ev.append((tb + delay, B, A, pb, pa, pkt))
    if not mux:
        ev.append((9.9, A, B, pa, pb, rtcp_rr(SSRC_A) + rtcp_bye(SSRC_A)))
        good = rtcp_sr(SSRC_A, 3.3, 0, 1, 160)
        bad_len = good[:2] + struct.pack("!H", 12) + good[4:]  # says 52 bytes, holds 28
        ev.append((3.3, A, B, pa, pb, bad_len))
        pad_first = rtcp_hdr(0, 201, struct.pack("!I", SSRC_A), padding=4) + rtcp_bye(SSRC_A)
        ev.append((3.4, A, B, pa, pb, pad_first))
    ev.sort(key=lambda e: e[0])
    return ev


def stream_packets(rng, kind, n=500, pt=0, ssrc=0x11223344, seq0=1000, ts0=160000, start=1.0):
    """(arrival, rtp bytes) in arrival order."""
    out = []
    seq, ts = seq0, ts0
    bad = False
    talk_gap = False
    for i in range(n):
        send = start + i * 0.020
        payload = bytes([0xFF]) * 160
        marker = False
        this_pt = pt
        lost = False
        if kind == "loss" and rng.random() < 0.05:
            lost = True
        if kind == "burst":
            bad = rng.random() < (0.40 if bad else 0.02)
            lost = bad
        if kind == "marker" and i % 100 in range(40, 60):
            lost = True  # a silence: nothing sent, the sequence goes on
            talk_gap = True
            seq -= 1  # not sent, not counted: the next packet follows on in sequence
        elif kind == "marker" and talk_gap:
            marker, talk_gap = True, False
        if kind == "cn" and i % 100 in range(40, 60):
            if i % 100 == 40:
                this_pt, payload = 13, b"\x40"
            else:
                lost = True
                seq -= 1
        if kind == "ssrc" and i == n // 2:
            ssrc, seq = ssrc ^ 0x5A5A5A5A, 30000
        spread = {"jitter": 0.030, "jitter120": 0.120}.get(kind, 0.002)
        delay = 0.030 + rng.random() * spread
        pkt = rtp(this_pt, seq, ts, ssrc, payload, marker)
        if not lost:
            out.append([send + delay, pkt])
            if kind == "dup" and rng.random() < 0.03:
                out.append([send + delay + 0.0005, pkt])
        seq = (seq + 1) & 0xFFFF
        ts = (ts + 160) & 0xFFFFFFFF
    if kind == "reorder":
        for i in range(5, len(out) - 1, 37):
            out[i][1], out[i + 1][1] = out[i + 1][1], out[i][1]
    out.sort(key=lambda x: x[0])
    return out


def dns_msg(ident, flags, name="example.com", answer=False):
    q = b"".join(bytes([len(x)]) + x.encode() for x in name.split(".")) + b"\0" + \
        struct.pack("!HH", 1, 1)
    body = struct.pack("!HHHHHH", ident & 0xFFFF, flags, 1, 1 if answer else 0, 0, 0) + q
    if answer:
        body += struct.pack("!HHHIH4s", 0xC00C, 1, 1, 300, 4, bytes([192, 0, 2, 99]))
    return body


def not_rtp_payloads(rng, proto, k):
    """the k-th datagram of a protocol that is never RTP, as its own tools send it"""
    if proto == "dns":  # a resolver's queries (random IDs) and the answers
        return dns_msg(rng.randrange(65536), 0x8180 if k % 2 else 0x0100, answer=bool(k % 2))
    if proto == "dns_inc":  # a client whose IDs count up (several stacks do)
        return dns_msg(0x8000 + k, 0x0100)
    if proto == "dhcp":
        return struct.pack("!BBBBIHH4s4s4s4s16s", 1 + k % 2, 1, 6, 0, rng.randrange(1 << 32), 0, 0,
                           b"\0" * 4, b"\0" * 4, b"\0" * 4, b"\0" * 4, ETH_SRC + b"\0" * 10) + \
            b"\0" * 192 + b"\x63\x82\x53\x63\x35\x01\x01\xff"
    if proto == "tftp":  # a read request, then data blocks counting up
        if k == 0:
            return b"\0\x01boot.cfg\0octet\0"
        return struct.pack("!HH", 3, k) + bytes(rng.randrange(256) for _ in range(512))
    if proto == "ntp":
        return bytes([0x23 if k % 2 == 0 else 0x24]) + bytes(47)
    if proto == "netbios":  # name queries, broadcast, transaction IDs counting up
        name = b"\x20" + b"EOGFEEEFEFCACACACACACACACACACACA" + b"\0"
        return struct.pack("!HHHHHH", 0x8a10 + k, 0x0110, 1, 0, 0, 0) + name + \
            struct.pack("!HH", 0x20, 1)
    if proto == "snmp":
        return bytes.fromhex("302902010104067075626c6963a01c0204") + struct.pack("!I", k) + \
            bytes.fromhex("020100020100300e300c06082b060102010101000500")
    if proto == "syslog":
        return ("<134>Nov 27 10:00:%02d pbx asterisk[123]: NOTICE: call %d" % (k % 60, k)).encode()
    if proto == "ssdp":
        return b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n\r\n"
    if proto == "stun":
        return struct.pack("!HHI", 0x0001, 0, 0x2112A442) + bytes(rng.randrange(256) for _ in range(12))
    if proto in ("mdns", "llmnr"):
        return dns_msg(0 if proto == "mdns" else rng.randrange(65536), 0x0000, "printer.local")
    if proto == "quic":
        first = 0xC3 if k < 2 else 0x43  # long header (Initial), then short headers
        return bytes([first]) + bytes(rng.randrange(256) for _ in range(1199 if k < 2 else 60))
    if proto == "dtls":  # handshake, then application data, record numbers counting up
        ct = 22 if k < 3 else 23
        return struct.pack("!BHHHIH", ct, 0xFEFD, 1, 0, k, 48) + bytes(rng.randrange(256) for _ in range(48))
    return bytes(rng.randrange(256) for _ in range(rng.randrange(60, 200)))  # random bytes


NOT_RTP_PORTS = {"dns": 53, "dns_inc": 53, "dhcp": 67, "tftp": 69, "ntp": 123, "netbios": 137,
                 "snmp": 161, "syslog": 514, "ssdp": 1900, "stun": 3478, "mdns": 5353,
                 "llmnr": 5355, "quic": 443, "dtls": 4433, "random": 40500}


def not_rtp_capture(w, rng):
    """the real stream and, per protocol, 30 datagrams on its own port, on a port of the RTP
    range and on a high port, in time order"""
    ev = [(t, A, B, 16000, 17000, b) for t, b in stream_packets(rng, "clean", n=250)]
    i = 0
    for proto, port in NOT_RTP_PORTS.items():
        for where, (sp, dp) in enumerate(((50000 + i, port), (10000 + 2 * i, 10000 + 2 * i),
                                          (30000 + 2 * i, 31000 + 2 * i))):
            src = (10, 9, i, 1)
            dst = (255, 255, 255, 255) if proto == "netbios" and where == 0 else (10, 9, i, 2)
            for k in range(30):
                t = 1.0 + k * 0.15 + rng.random() * 0.05
                ev.append((t, src, dst, sp, dp, not_rtp_payloads(rng, proto, k)))
        i += 1
    ev.sort(key=lambda e: e[0])
    for n, (t, src, dst, sp, dp, b) in enumerate(ev):
        w.frame(t, ipv4(src, dst, 17, udp(sp, dp, b), n + 1))


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    if sys.argv[1] == "--each":
        args, rc = sys.argv[2:], 0
        if len(args) % 3:
            print(__doc__, file=sys.stderr)
            return 2
        for i in range(0, len(args), 3):
            try:
                generate(args[i], args[i + 1], int(args[i + 2]))
            except (SystemExit, Exception):
                import traceback
                traceback.print_exc()
                sys.stderr.flush()
                print("gen_pcap.py %s failed" % args[i], flush=True)
                rc = 1
        return rc
    return generate(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 1)


def generate(kind, path, seed=1):
    rng = random.Random(seed)
    link = "sll" if kind == "sll" else "eth"
    w = Writer(path, link=link, ng=(kind == "pcapng"))
    if kind.startswith("sipcase:"):
        sip_case(w, kind.split(":")[1])
        w.close()
        return 0
    if kind == "b2bua":
        b2bua_capture(w)
        w.close()
        return 0
    if kind == "calls":
        calls_capture(w)
        w.close()
        return 0
    if kind.startswith("manycalls"):
        many_calls(w, int(kind.split(":")[1]) if ":" in kind else 10000)
        w.close()
        return 0
    if kind == "sip":
        sip_capture(w)
        w.close()
        return 0
    if kind == "notrtp":
        not_rtp_capture(w, rng)
        w.close()
        return 0
    if kind in ("rtcp", "rtcpmux"):
        for i, (t, src, dst, sp, dp, b) in enumerate(rtcp_call(rng, mux=(kind == "rtcpmux"))):
            w.frame(t, ipv4(src, dst, 17, udp(sp, dp, b), i + 1))
        w.close()
        return 0
    if kind.startswith("flood"):
        flood(w, *[int(x) for x in kind.split(":")[1:]])
        w.close()
        return 0
    if kind.startswith("big"):
        n = int(kind.split(":")[1]) if ":" in kind else 1000000
        body = b"\xd5" * 160
        t, seqs = 1.0, [0] * 400
        frames = []
        for i in range(n):
            s_ = i % 400
            call, way = s_ // 2, s_ % 2
            if i % 400 == 0:
                t += 0.020
            seq = seqs[s_]
            seqs[s_] += 1
            if rng.random() < 0.01:
                continue
            a = (10, 2, call // 250, call % 250 + 1)
            b = (10, 3, call // 250, call % 250 + 1)
            src, dst = (a, b) if way == 0 else (b, a)
            sp, dp = (30000 + 2 * call, 40000 + 2 * call) if way == 0 else \
                (40000 + 2 * call, 30000 + 2 * call)
            pkt = ipv4(src, dst, 17, udp(sp, dp, rtp(8, seq, 160 * seq, 0x7000 + s_, body)))
            w.frame(t + s_ * 0.00004 + rng.random() * 0.00003, pkt)
        w.close()
        return 0
    if kind.startswith("many"):
        n = int(kind.split(":")[1]) if ":" in kind else 10000
        t = 1.0
        for k in range(5):
            t = 1.0 + 0.1 * k
            for s in range(n):
                port = 10000 + 2 * (s % 25000)
                src = (10, 1 + s // 25000, (s >> 8) & 255, s & 255)
                t += 0.00001
                w.frame(t, ipv4(src, B, 17, udp(port, 20000,
                                                rtp(0, 100 + k, 1000 + 800 * k, 0x1000 + s,
                                                    b"\xff" * 160))))
        w.close()
        return 0
    base = {"wrap": dict(seq0=65535 - 250), "tswrap": dict(ts0=0xFFFFFFFF - 160 * 100)}
    flows = [(A, B, 40000, 20000, stream_packets(rng, kind, **base.get(kind, {})))]
    if kind == "twoway":
        flows = [(A, B, 40000, 20000, stream_packets(rng, kind, pt=8)),
                 (B, A, 20000, 40000, stream_packets(rng, kind, pt=8, ssrc=0x55667788))]
    if kind == "wrap":  # a loss across the wrap
        flows[0][4][:] = [p for p in flows[0][4]
                          if struct.unpack("!H", p[1][2:4])[0] not in (65535, 0, 1)]
    events = []
    for src, dst, sp, dp, pkts in flows:
        for t, b in pkts:
            events.append((t, src, dst, sp, dp, b))
    events.sort(key=lambda e: e[0])
    ident = 1
    for i, (t, src, dst, sp, dp, b) in enumerate(events):
        dgram = udp(sp, dp, b)
        if kind == "ipv6":
            ip6 = struct.pack("!IHBB16s16s", 0x60000000, len(dgram), 17, 64, A6, B6) + dgram
            w.frame(t, ip6, v6=True)
        elif kind == "frag" and i % 3 == 0:
            first = dgram[:96]  # a multiple of 8
            w.frame(t, ipv4(src, dst, 17, first, ident, 0x2000))
            w.frame(t + 0.0001, ipv4(src, dst, 17, dgram[96:], ident, 96 // 8))
            ident += 1
        else:
            w.frame(t, ipv4(src, dst, 17, dgram, ident), vlan=(kind == "vlan"))
            ident += 1
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
