#!/usr/bin/env python3
"""wav_to_pcap.py - a G.711 WAV's call as it would cross the network: a SIP INVITE whose SDP
offer names the caller's media address, then one RTP stream per channel (channel 1 from the
caller, channel 2 back), 20 ms packets of the WAV's own G.711 bytes, every stream's first packet
arriving at the same time and the rest with up to 3 ms of jitter; LOSS (a fraction) of the
packets of channel 1 dropped at random.

usage: wav_to_pcap.py IN.wav OUT.pcap [LOSS] [SEED]
IN.wav: 8 kHz, mu-law (format 7) or A-law (6), one or two channels.
"""
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
    src, out = sys.argv[1], sys.argv[2]
    loss = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    fmt, ch, data = read_wav(src)
    pt = 0 if fmt == 7 else 8
    legs = [data[c::ch] for c in range(ch)]
    w = g.Writer(out)
    caller, callee = g.A, g.B
    sdp = g.SDP if pt == 0 else g.SDP.replace("RTP/AVP 0 101", "RTP/AVP 8 101").replace(
        "rtpmap:0 PCMU", "rtpmap:8 PCMA")
    w.frame(0.5, g.ipv4(caller, callee, 17, g.udp(5060, 5060, g.sip_msg(
        "INVITE sip:bob@192.0.2.7 SIP/2.0", "w2p@10.0.0.1", "1 INVITE", body=sdp))))
    ends = [(caller, callee, 40000, 20000, 0x1111), (callee, caller, 20000, 40000, 0x2222)]
    events = []
    for c, audio in enumerate(legs):
        s_ip, d_ip, sp, dp, ssrc = ends[c]
        for k in range(0, (len(audio) + 159) // 160):
            chunk = audio[k * 160:(k + 1) * 160]
            arrive = 1.0 + k * 0.020 + (rng.random() * 0.003 if k else 0)
            if c == 0 and k and rng.random() < loss:
                continue
            pkt = g.rtp(pt, 100 + k, 8000 + 160 * k, ssrc, chunk)
            events.append((arrive, c, g.ipv4(s_ip, d_ip, 17, g.udp(sp, dp, pkt))))
    for t, _, frame in sorted(events, key=lambda e: (e[0], e[1])):
        w.frame(t, frame)
    w.close()


if __name__ == "__main__":
    main()
