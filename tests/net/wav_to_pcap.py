#!/usr/bin/env python3
"""wav_to_pcap.py - a G.711 WAV's call as it would cross the network: a SIP INVITE whose SDP
offer names the caller's media address, then one RTP stream per channel (channel 1 from the
caller, channel 2 back), 20 ms packets of the WAV's own G.711 bytes, every stream's first packet
arriving at the same time and the rest with up to 3 ms of jitter; LOSS (a fraction) of the
packets of channel 1 dropped at random.

With --answer, the callee answers: a 200 OK whose SDP names the callee's media address (with
telephone-event), and the caller's ACK. With --events D@SEC,... each digit D is sent from the
caller as RFC 4733 telephone events (payload type 101) at SEC seconds of the call: its voice
packets there (100 ms) are replaced by event packets, as a sender that relays digits does.

usage: wav_to_pcap.py IN.wav OUT.pcap [LOSS] [SEED] [--answer] [--events D@SEC,...]
IN.wav: 8 kHz, mu-law (format 7) or A-law (6), one or two channels.
"""
import argparse
import random
import struct
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
import gen_pcap as g  # noqa: E402


def read_wav(path):
    b = open(path, "rb").read()
    assert b[:4] == b"RIFF" and b[8:12] == b"WAVE", "not a WAV"
    p, fmt, ch, data = 12, None, None, None
    while p + 8 <= len(b):
        cid, n = b[p:p + 4], struct.unpack("<I", b[p + 4:p + 8])[0]
        if cid == b"fmt ":
            fmt, ch = struct.unpack("<HH", b[p + 8:p + 12])
        elif cid == b"data":
            data = b[p + 8:p + 8 + n]
        p += 8 + n + (n & 1)
    assert fmt in (6, 7) and data is not None, "not a G.711 WAV"
    return fmt, ch, data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("loss", nargs="?", type=float, default=0.0)
    ap.add_argument("seed", nargs="?", type=int, default=1)
    ap.add_argument("--answer", action="store_true")
    ap.add_argument("--events", default="")
    a = ap.parse_args()
    src, out, loss = a.src, a.out, a.loss
    rng = random.Random(a.seed)
    digits = {}  # first packet index -> digit
    for e in filter(None, a.events.split(",")):
        d, at = e.split("@")
        digits[int(round(float(at) / 0.020))] = "0123456789*#".index(d)
    fmt, ch, data = read_wav(src)
    pt = 0 if fmt == 7 else 8
    legs = [data[c::ch] for c in range(ch)]
    w = g.Writer(out)
    caller, callee = g.A, g.B
    sdp = g.SDP if pt == 0 else g.SDP.replace("RTP/AVP 0 101", "RTP/AVP 8 101").replace(
        "rtpmap:0 PCMU", "rtpmap:8 PCMA")
    w.frame(0.5, g.ipv4(caller, callee, 17, g.udp(5060, 5060, g.sip_msg(
        "INVITE sip:bob@192.0.2.7 SIP/2.0", "w2p@10.0.0.1", "1 INVITE", body=sdp))))
    if a.answer:
        ans = sdp.replace("10.0.0.1", "192.0.2.7").replace("audio 40000", "audio 20000")
        w.frame(0.9, g.ipv4(callee, caller, 17, g.udp(5060, 5060, g.sip_msg(
            "SIP/2.0 200 OK", "w2p@10.0.0.1", "1 INVITE", body=ans))))
        w.frame(0.91, g.ipv4(caller, callee, 17, g.udp(5060, 5060, g.sip_msg(
            "ACK sip:bob@192.0.2.7 SIP/2.0", "w2p@10.0.0.1", "1 ACK"))))
    ends = [(caller, callee, 40000, 20000, 0x1111), (callee, caller, 20000, 40000, 0x2222)]
    events = []
    for c, audio in enumerate(legs):
        s_ip, d_ip, sp, dp, ssrc = ends[c]
        ev = None  # (digit, first packet) of the event being sent
        for k in range(0, (len(audio) + 159) // 160):
            chunk = audio[k * 160:(k + 1) * 160]
            arrive = 1.0 + k * 0.020 + (rng.random() * 0.003 if k else 0)
            if c == 0 and k in digits:
                ev = (digits[k], k)
            if c == 0 and k and rng.random() < loss:
                continue
            if ev and k - ev[1] < 5:  # 100 ms of event packets, the last 3 marked as its end
                n = k - ev[1]
                body = struct.pack("!BBH", ev[0], (0x80 if n >= 2 else 0) | 10, 160 * (n + 1))
                pkt = g.rtp(101, 100 + k, 8000 + 160 * ev[1], ssrc, body, marker=n == 0)
            else:
                pkt = g.rtp(pt, 100 + k, 8000 + 160 * k, ssrc, chunk)
            events.append((arrive, c, g.ipv4(s_ip, d_ip, 17, g.udp(sp, dp, pkt))))
    for t, _, frame in sorted(events, key=lambda e: (e[0], e[1])):
        w.frame(t, frame)
    w.close()


if __name__ == "__main__":
    main()
