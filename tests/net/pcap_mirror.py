#!/usr/bin/env python3
"""pcap_mirror.py - a capture with every SIP request over UDP copied once, byte for byte, 0.2 ms
after itself: what a tracer mirroring each message twice (Kamailio's siptrace in its script mode)
makes of a call. Reads and writes classic pcap (Ethernet, IPv4); prints how many it copied.

    pcap_mirror.py IN.pcap OUT.pcap [DELAY_US [lower]]   (default 200: a mirror; 500000: T1,
                                                          an agent sending again)

lower: each copy's Max-Forwards one less (a two-digit value, so its length stays; the UDP
checksum zeroed), as Kamailio mirrors a request traced in its script after
mf_process_maxfwd_header.
"""
import re
import struct
import sys

METHODS = (b"INVITE ", b"ACK ", b"BYE ", b"CANCEL ", b"OPTIONS ", b"INFO ", b"UPDATE ", b"PRACK ",
           b"REGISTER ", b"NOTIFY ", b"SUBSCRIBE ", b"REFER ", b"MESSAGE ")


def sip_request(frame):
    if len(frame) < 14 + 20 + 8 or frame[12:14] != b"\x08\x00":
        return False
    ihl = (frame[14] & 0x0F) * 4
    if frame[14 + 9] != 17:  # UDP
        return False
    payload = frame[14 + ihl + 8:]
    return payload.startswith(METHODS)


def lower(frame):
    """the frame with its Max-Forwards one less (10 ... 99) and no UDP checksum"""
    ihl = (frame[14] & 0x0F) * 4
    udp = 14 + ihl

    def dec(m):
        return m.group(1) + b"%d" % (int(m.group(2)) - 1)
    out = re.sub(rb"(\r\nMax-Forwards:\s*)([1-9][0-9])(?=\r\n)", dec, frame[udp + 8:], count=1,
                 flags=re.I)
    return frame[:udp + 6] + b"\0\0" + out


def main():
    src, dst = sys.argv[1], sys.argv[2]
    delay = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    low = len(sys.argv) > 4 and sys.argv[4] == "lower"
    data = open(src, "rb").read()
    magic = data[:4]
    if magic != b"\xd4\xc3\xb2\xa1":
        sys.exit("pcap_mirror.py: a little-endian microsecond pcap is expected")
    out = [data[:24]]
    off, copied = 24, 0
    while off + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        out.append(data[off:off + 16 + incl])
        if sip_request(frame):
            u = usec + delay
            copy = lower(frame) if low else frame
            out.append(struct.pack("<IIII", sec + u // 1000000, u % 1000000, incl, orig) + copy)
            copied += 1
        off += 16 + incl
    open(dst, "wb").write(b"".join(out))
    print(copied)


if __name__ == "__main__":
    main()
