#!/usr/bin/env python3
"""encap.py - a capture as a tunnel or a mirror port delivers it: every frame of a plain
Ethernet capture (pcap, micro- or nanosecond) wrapped in one encapsulation, written as a
nanosecond pcap.

usage: encap.py KIND IN OUT [KIND IN OUT]...
(each triple as a run of its own would write it; one process for many)

KIND:
  ipip       IPv4 in IPv4 (IP protocol 4; an IPv6 frame in IPv4 with protocol 41)
  ip6ip      the frames' IP in IPv6 (next header 4 or 41)
  gre        GRE without options, protocol 0x0800 / 0x86dd
  grekey     GRE with a key and a sequence number (and a checksum)
  erspan2    ERSPAN type II: GRE with a sequence number, protocol 0x88be, its 8-byte header,
             the Ethernet frame
  erspan3    ERSPAN type III: protocol 0x22eb, its 12-byte header, the Ethernet frame
  vxlan      VXLAN on UDP 4789 (VNI 42), the Ethernet frame
  tzsp       TZSP on UDP 37008 (received, Ethernet, an end tag), the Ethernet frame
  sll        Linux cooked capture v1 (link type 113)
  sll2       Linux cooked capture v2 (link type 276)
  qinq       the Ethernet frame with an 802.1ad tag and an 802.1Q tag
  mpls       MPLS, two labels, then the IP packet
"""
import struct
import sys

sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__)))
import gen_pcap  # noqa: E402

OUTER_A, OUTER_B = (172, 16, 0, 1), (172, 16, 0, 2)
OUTER_A6 = bytes.fromhex("fd000000000000000000000000000001")
OUTER_B6 = bytes.fromhex("fd000000000000000000000000000002")
ETH_HDR = gen_pcap.ETH_DST + gen_pcap.ETH_SRC


def read_pcap(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic not in (0xA1B2C3D4, 0xA1B23C4D):
        sys.exit("encap.py: %s: a little-endian pcap is needed" % path)
    nano = magic == 0xA1B23C4D
    link = struct.unpack("<I", data[20:24])[0]
    if link != 1:
        sys.exit("encap.py: %s: an Ethernet capture is needed (link type %d)" % (path, link))
    off, out = 24, []
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        off += 16
        out.append((sec, frac if nano else frac * 1000, data[off:off + incl]))
        off += incl
    return out


def split_eth(frame):
    """(ethertype, payload) past any VLAN tags"""
    et, off = struct.unpack("!H", frame[12:14])[0], 14
    while et in (0x8100, 0x88A8):
        et, off = struct.unpack("!H", frame[off + 2:off + 4])[0], off + 4
    return et, frame[off:]


def outer4(proto, payload, ident):
    return ETH_HDR + b"\x08\x00" + gen_pcap.ipv4(OUTER_A, OUTER_B, proto, payload, ident & 0xFFFF)


def outer6(nh, payload):
    return ETH_HDR + b"\x86\xdd" + struct.pack("!IHBB16s16s", 0x60000000, len(payload), nh, 64,
                                                OUTER_A6, OUTER_B6) + payload


ETHERNET_CARRIERS = ("erspan2", "erspan3", "vxlan", "tzsp")


def wrap(kind, frame, n):
    """the frame wrapped: a whole Ethernet frame by a mirror's carriers, else its IP packet
    (a frame of another protocol is left as it is)"""
    et, inner = split_eth(frame)
    if et not in (0x0800, 0x86DD) and kind not in ETHERNET_CARRIERS:
        return frame
    v6 = et == 0x86DD
    if kind == "ipip":
        return outer4(41 if v6 else 4, inner, n)
    if kind == "ip6ip":
        return outer6(41 if v6 else 4, inner)
    if kind == "gre":
        return outer4(47, struct.pack("!HH", 0, et) + inner, n)
    if kind == "grekey":  # checksum (and its reserved half), key, sequence number
        return outer4(47, struct.pack("!HHHHII", 0xB000, et, 0, 0, 0x2A, n) + inner, n)
    if kind == "erspan2":  # GRE S, ERSPAN II: version 1, VLAN 0, session 7, index 0
        hdr = struct.pack("!HHI", 0x1000, 0x88BE, n) + struct.pack("!HHI", 0x1000, 7, 0)
        return outer4(47, hdr + frame, n)
    if kind == "erspan3":  # GRE S, ERSPAN III: version 2, session 7, a timestamp, no subheader
        hdr = struct.pack("!HHI", 0x1000, 0x22EB, n) + \
            struct.pack("!HHIHH", 0x2000, 7, n * 1000, 0, 0)
        return outer4(47, hdr + frame, n)
    if kind == "vxlan":
        return outer4(17, gen_pcap.udp(50000 + n % 1000, 4789,
                                       struct.pack("!II", 0x08000000, 42 << 8) + frame), n)
    if kind == "tzsp":
        return outer4(17, gen_pcap.udp(50000, 37008, bytes([1, 0, 0, 1, 1]) + frame), n)
    if kind == "qinq":
        return ETH_HDR + struct.pack("!HHHH", 0x88A8, 100, 0x8100, 200) + \
            struct.pack("!H", et) + inner
    if kind == "mpls":
        return ETH_HDR + b"\x88\x47" + struct.pack("!II", (16 << 12) | 64, (17 << 12) | 0x100 | 64) \
            + inner
    if kind == "sll":
        return struct.pack("!HHH8sH", 0, 1, 6, gen_pcap.ETH_SRC + b"\0\0", et) + inner
    if kind == "sll2":
        return struct.pack("!HHIHBB8s", et, 0, 2, 1, 0, 6, gen_pcap.ETH_SRC + b"\0\0") + inner
    sys.exit("encap.py: unknown kind %s" % kind)


def encap(kind, frames, dst):
    link = {"sll": 113, "sll2": 276}.get(kind, 1)
    with open(dst, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, link))
        for n, (sec, ns, frame) in enumerate(frames):
            data = wrap(kind, frame, n + 1)
            f.write(struct.pack("<IIII", sec, ns, len(data), len(data)))
            f.write(data)


def main():
    args = sys.argv[1:]
    if not args or len(args) % 3:
        print(__doc__, file=sys.stderr)
        return 2
    read, rc = {}, 0
    for i in range(0, len(args), 3):
        kind, src, dst = args[i:i + 3]
        try:
            if src not in read:
                read[src] = read_pcap(src)
            encap(kind, read[src], dst)
        except SystemExit as e:  # this triple's error, as its own run would stop; the next one
            print(e, file=sys.stderr)
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
