/*
 * capture.c - a capture taken apart: libpcap reads pcap and pcapng (and says what it cannot
 * read), then this file walks each frame's link layer (Ethernet with VLAN tags, Linux cooked
 * v1 and v2, raw IP, BSD loopback), IPv4 and IPv6 (extension headers skipped), puts fragmented
 * datagrams back together within a byte budget, and hands each UDP datagram to the decoders
 * above it (sip.c, rtcp.c, rtp.c, in that order). Tunnels and mirrors' encapsulations are
 * opened on the way (IP-in-IP, GRE with ERSPAN II and III, VXLAN, TZSP, MPLS), at most
 * MAX_TUNNELS deep, each packet read once, at its innermost layer. Every length is checked
 * against the bytes captured: a frame cut short is counted, never read past.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "net_int.h"

net_limits net_default_limits(void)
{
    return (net_limits){.max_packets = 20000000,
                        .max_streams = 100000,
                        .max_frag_bytes = 8 << 20,
                        .max_sip = 200000,
                        .max_sip_bytes = 64 << 20,
                        .max_rtp_bytes = (size_t)256 << 20,
                        .max_rtcp = 200000,
                        .max_dialogs = 20000,
                        .max_dialog_msgs = 1000,
                        .max_dialog_streams = 100,
                        .max_findings = 20000,
                        .max_answer_bytes = NET_ANSWER_MAX};
}

/* ---- IP fragments --------------------------------------------------------------------------- */

/* A datagram being put back together: its bytes so far, and which 8-byte units are in. */
typedef struct frag {
    struct frag *next;
    net_addr src, dst;
    uint32_t id;
    uint8_t proto;
    double first_rel;
    size_t total; /* known once the last fragment came; 0 before */
    size_t have;  /* bytes in */
    uint8_t data[65536];
    uint8_t got[65536 / 8 / 8];
} frag;

typedef struct walker {
    net_capture *c;
    int depth;      /* tunnels opened around the packet being read */
    bool tunnelled; /* this frame was counted in c->tunnelled */
    const net_limits *lim;
    frag *frags;
    size_t frag_bytes; /* held by frags (each counts its full buffer) */
    uint64_t num;
    int64_t t0_sec, t0_nsec; /* the first frame's time */
    int64_t sec, nsec;       /* this frame's */
    double rel, rel_ms;      /* this frame's, from it */
} walker;

#define FRAG_KEEP_SEC                                                                              \
    30.0 /* a datagram still incomplete after this much capture time is dropped                    \
          */

static void frag_drop(walker *w, frag **pp)
{
    frag *f = *pp;
    *pp = f->next;
    w->frag_bytes -= sizeof(frag);
    free(f);
}

#define MAX_TUNNELS 4
#define VXLAN_PORT 4789
#define TZSP_PORT 37008

static void ethernet(walker *w, double ts, const uint8_t *p, size_t n);
static void ip(walker *w, double ts, const uint8_t *p, size_t n);

/* into one more tunnel: false past MAX_TUNNELS (the frame is counted cut short) */
static bool enter(walker *w)
{
    if (w->depth >= MAX_TUNNELS) {
        w->c->truncated++;
        return false;
    }
    if (!w->tunnelled)
        w->c->tunnelled++, w->tunnelled = true;
    w->depth++;
    return true;
}

/* VXLAN (RFC 7348): 8 bytes, the I flag set, then an Ethernet frame. */
static bool vxlan(walker *w, double ts, const uint8_t *p, size_t n)
{
    if (n < 8 + 14 || !(p[0] & 0x08) || !enter(w))
        return false;
    ethernet(w, ts, p + 8, n - 8);
    w->depth--;
    return true;
}

/* TZSP (TaZmen Sniffer Protocol, as MikroTik's sniffer sends it): version 1, type 0 or 1
 * (received, to transmit), the frame's protocol (1: Ethernet), tagged fields up to the end
 * tag (1; 0 is padding), then the frame. */
static bool tzsp(walker *w, double ts, const uint8_t *p, size_t n)
{
    if (n < 5 || p[0] != 1 || p[1] > 1 || (p[2] << 8 | p[3]) != 1)
        return false;
    size_t off = 4;
    while (off < n && p[off] != 1) {
        if (p[off] == 0) {
            off++;
            continue;
        }
        if (off + 2 > n)
            return false;
        off += 2 + (size_t)p[off + 1];
    }
    if (off >= n || !enter(w))
        return false;
    ethernet(w, ts, p + off + 1, n - off - 1);
    w->depth--;
    return true;
}

#define HEP_PORT 9060

/* HEP on its way to a collector: the packet inside, with its own addresses, ports and time
 * (HEP3 on any port; versions 1 and 2, which have no magic, on HEP_PORT when they parse). SIP
 * and RTCP are read as if captured; the rest is counted. */
static bool hep_in(walker *w, const net_udp *u)
{
    bool magic = u->len >= 4 && !memcmp(u->data, "HEP3", 4);
    if (!magic && u->dport != HEP_PORT)
        return false;
    net_hep h;
    const char *why;
    if (net_hep_parse(u->data, u->len, &h, &why) != 0) {
        w->c->hep_bad += magic;
        return magic;
    }
    w->c->hep++;
    net_udp in = *u;
    in.src = h.src, in.dst = h.dst, in.sport = h.sport, in.dport = h.dport;
    in.data = h.payload, in.len = h.payload_len;
    if (h.has_time && !w->lim->hep_arrival) { /* the agent's time, on the capture's clock */
        in.sec = h.sec, in.nsec = h.usec * 1000;
        in.ts = (double)h.sec + (double)h.usec * 1e-6;
        int64_t rs = in.sec - w->t0_sec, rn = in.nsec - w->t0_nsec;
        if (rn < 0)
            rs--, rn += 1000000000;
        in.rel = (double)rs + (double)rn * 1e-9;
        in.rel_ms = (double)rs * 1000.0 + (double)rn / 1e6;
    }
    bool read = false;
    if (h.payload && h.type == 1)
        read = net__sip_message(w->c, w->lim, &in, h.ip_proto == 6);
    else if (h.payload && h.type == 5 && h.payload_len && h.payload[0] != '{')
        read = net__rtcp_udp(w->c, w->lim, &in);
    else if (h.payload && h.type == 5 && h.payload_len) { /* res_hep_rtcp's JSON report */
        uint8_t pkt[NET_HEP_RTCP_MAX];
        size_t len;
        const char *jwhy;
        if (net_hep_rtcp_json(h.payload, h.payload_len, pkt, &len, &jwhy) == 0) {
            in.data = pkt, in.len = len;
            read = net__rtcp_udp(w->c, w->lim, &in);
        }
    }
    w->c->hep_unread += !read;
    return true;
}

static void udp_in(walker *w, const net_udp *u)
{
    if (hep_in(w, u))
        return;
    if ((u->dport == VXLAN_PORT && vxlan(w, u->ts, u->data, u->len)) ||
        ((u->dport == TZSP_PORT || u->sport == TZSP_PORT) && tzsp(w, u->ts, u->data, u->len))) {
        w->c->udp--; /* a carrier: the datagrams counted are the ones inside */
        return;
    }
    if (net__sip_udp(w->c, w->lim, u))
        return;
    if (net__rtcp_udp(w->c, w->lim, u))
        return;
    if (net__rtp_looks_like(u->data, u->len))
        net__rtp_packet(w->c, w->lim, u);
}

/* A transport payload with its frame's time and number, and the ports at the header's start
 * (UDP and TCP put them in the same place). */
static net_udp payload_of(const walker *w, double ts, const net_addr *src, const net_addr *dst,
                          const uint8_t *hdr, const uint8_t *data, size_t len)
{
    return (net_udp){.ts = ts,
                     .rel = w->rel,
                     .rel_ms = w->rel_ms,
                     .num = w->num,
                     .sec = w->sec,
                     .nsec = w->nsec,
                     .src = *src,
                     .dst = *dst,
                     .sport = (uint16_t)(hdr[0] << 8 | hdr[1]),
                     .dport = (uint16_t)(hdr[2] << 8 | hdr[3]),
                     .data = data,
                     .len = len};
}

static void tcp_in(walker *w, double ts, const net_addr *src, const net_addr *dst, const uint8_t *p,
                   size_t n)
{
    if (n < 20 || (size_t)(p[12] >> 4) * 4 < 20 || (size_t)(p[12] >> 4) * 4 > n) {
        w->c->truncated++;
        return;
    }
    size_t off = (size_t)(p[12] >> 4) * 4;
    net_tcp t = {.u = payload_of(w, ts, src, dst, p, p + off, n - off),
                 .seq = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7]};
    net__sip_tcp(w->c, w->lim, &t);
}

/* GRE (RFC 2784, 2890): its flags say which of checksum, key and sequence number follow;
 * then IPv4, IPv6, an Ethernet frame (transparent bridging), or a mirrored one: ERSPAN type I
 * (0x88be without a sequence number: the frame follows), II (0x88be with one: an 8-byte
 * header) and III (0x22eb: 12 bytes, and 8 more when its O flag is set). */
static void gre(walker *w, double ts, const uint8_t *p, size_t n)
{
    if (n < 4 || (p[1] & 7) != 0) { /* version 1 is PPTP's: no IP inside to read */
        w->c->not_ip++;
        return;
    }
    unsigned type = (unsigned)(p[2] << 8 | p[3]);
    size_t off = 4 + (p[0] & 0x80 ? 4 : 0) + (p[0] & 0x20 ? 4 : 0) + (p[0] & 0x10 ? 4 : 0);
    bool seq = p[0] & 0x10;
    if (type == 0x88be && seq)
        off += 8;
    else if (type == 0x22eb)
        off += n >= off + 12 && (p[off + 11] & 1) ? 20 : 12;
    if (off > n) {
        w->c->truncated++;
        return;
    }
    if (!enter(w))
        return;
    if (type == 0x0800 || type == 0x86dd)
        ip(w, ts, p + off, n - off);
    else if (type == 0x6558 || type == 0x88be || type == 0x22eb)
        ethernet(w, ts, p + off, n - off);
    else
        w->c->not_ip++;
    w->depth--;
}

static void transport(walker *w, double ts, const net_addr *src, const net_addr *dst, uint8_t proto,
                      const uint8_t *p, size_t n)
{
    if (proto == 4 || proto == 41) { /* IPv4 or IPv6 in IP */
        if (enter(w)) {
            ip(w, ts, p, n);
            w->depth--;
        }
        return;
    }
    if (proto == 47) {
        gre(w, ts, p, n);
        return;
    }
    if (proto == 6) {
        w->c->tcp++;
        tcp_in(w, ts, src, dst, p, n);
        return;
    }
    if (proto != 17)
        return;
    if (n < 8) {
        w->c->truncated++;
        return;
    }
    w->c->udp++;
    size_t ulen = (size_t)(p[4] << 8 | p[5]);
    if (ulen < 8) {
        w->c->truncated++;
        return;
    }
    size_t body = ulen - 8 <= n - 8 ? ulen - 8 : n - 8; /* a snapped datagram: what there is */
    net_udp u = payload_of(w, ts, src, dst, p, p + 8, body);
    if (ulen - 8 > n - 8)
        w->c->truncated++;
    udp_in(w, &u);
}

/* A fragment of (src, dst, id, proto) at byte offset `off`; `more` unless it is the last. */
static void fragment(walker *w, double ts, const net_addr *src, const net_addr *dst, uint32_t id,
                     uint8_t proto, size_t off, bool more, const uint8_t *p, size_t n)
{
    net_capture *c = w->c;
    c->fragments++;
    double rel = w->rel;
    for (frag **pp = &w->frags; *pp;) { /* the old ones will not be completed now */
        if (rel - (*pp)->first_rel > FRAG_KEEP_SEC) {
            c->frag_dropped++;
            frag_drop(w, pp);
        } else {
            pp = &(*pp)->next;
        }
    }
    if (off + n > 65535 || (more && n % 8)) {
        c->frag_dropped++;
        return;
    }
    frag *f = w->frags;
    while (f && !(f->id == id && f->proto == proto && net_addr_equal(&f->src, src) &&
                  net_addr_equal(&f->dst, dst)))
        f = f->next;
    if (!f) {
        if (w->frag_bytes + sizeof(frag) > w->lim->max_frag_bytes || !(f = calloc(1, sizeof(*f)))) {
            c->frag_dropped++;
            return;
        }
        *f = (frag){
            .next = w->frags, .src = *src, .dst = *dst, .id = id, .proto = proto, .first_rel = rel};
        w->frags = f;
        w->frag_bytes += sizeof(frag);
    }
    memcpy(f->data + off, p, n);
    for (size_t u = off / 8; u < (off + n + 7) / 8; u++) {
        if (!(f->got[u / 8] & (1u << (u % 8))))
            f->have += 8;
        f->got[u / 8] |= (uint8_t)(1u << (u % 8));
    }
    if (!more)
        f->total = off + n;
    if (!f->total || f->have < (f->total + 7) / 8 * 8)
        return;
    for (size_t u = 0; u < (f->total + 7) / 8; u++) /* every unit up to the end */
        if (!(f->got[u / 8] & (1u << (u % 8))))
            return;
    c->reassembled++;
    for (frag **pp = &w->frags; *pp; pp = &(*pp)->next)
        if (*pp == f) { /* out of the list first: a tunnel inside may hold fragments too */
            *pp = f->next;
            w->frag_bytes -= sizeof(frag);
            break;
        }
    transport(w, ts, &f->src, &f->dst, f->proto, f->data, f->total);
    free(f);
}

/* ---- IP ------------------------------------------------------------------------------------- */

static void ipv4(walker *w, double ts, const uint8_t *p, size_t n)
{
    if (n < 20 || (p[0] >> 4) != 4 || (size_t)(p[0] & 15) * 4 < 20) {
        w->c->truncated++;
        return;
    }
    size_t hl = (size_t)(p[0] & 15) * 4, tot = (size_t)(p[2] << 8 | p[3]);
    if (tot < hl || hl > n) {
        w->c->truncated++;
        return;
    }
    if (tot < n)
        n = tot; /* the link's padding is not the datagram's */
    net_addr src = {.family = 4}, dst = {.family = 4};
    memcpy(src.a, p + 12, 4);
    memcpy(dst.a, p + 16, 4);
    uint16_t fl = (uint16_t)(p[6] << 8 | p[7]);
    bool more = fl & 0x2000;
    size_t off = (size_t)(fl & 0x1fff) * 8;
    if (more || off) {
        if (tot > n) { /* a fragment cut by the snap length cannot be put back */
            w->c->truncated++;
            w->c->frag_dropped++;
            return;
        }
        fragment(w, ts, &src, &dst, (uint32_t)(p[4] << 8 | p[5]), p[9], off, more, p + hl, n - hl);
        return;
    }
    transport(w, ts, &src, &dst, p[9], p + hl, n - hl);
}

static void ipv6(walker *w, double ts, const uint8_t *p, size_t n)
{
    if (n < 40 || (p[0] >> 4) != 6) {
        w->c->truncated++;
        return;
    }
    size_t plen = (size_t)(p[4] << 8 | p[5]);
    if (40 + plen < n)
        n = 40 + plen;
    net_addr src = {.family = 6}, dst = {.family = 6};
    memcpy(src.a, p + 8, 16);
    memcpy(dst.a, p + 24, 16);
    uint8_t nh = p[6];
    size_t off = 40;
    for (int hops = 0; hops < 8; hops++) {
        if (nh == 0 || nh == 43 || nh == 60) { /* hop-by-hop, routing, destination options */
            if (off + 8 > n) {
                w->c->truncated++;
                return;
            }
            nh = p[off];
            off += ((size_t)p[off + 1] + 1) * 8;
            continue;
        }
        if (nh == 44) { /* fragment */
            if (off + 8 > n) {
                w->c->truncated++;
                return;
            }
            uint16_t fo = (uint16_t)(p[off + 2] << 8 | p[off + 3]);
            uint32_t id = (uint32_t)p[off + 4] << 24 | (uint32_t)p[off + 5] << 16 |
                          (uint32_t)p[off + 6] << 8 | p[off + 7];
            uint8_t inner = p[off];
            off += 8;
            fragment(w, ts, &src, &dst, id, inner, (size_t)(fo & 0xfff8), fo & 1, p + off, n - off);
            return;
        }
        break;
    }
    if (off > n) {
        w->c->truncated++;
        return;
    }
    transport(w, ts, &src, &dst, nh, p + off, n - off);
}

static void ip(walker *w, double ts, const uint8_t *p, size_t n)
{
    if (n && (p[0] >> 4) == 4)
        ipv4(w, ts, p, n);
    else if (n && (p[0] >> 4) == 6)
        ipv6(w, ts, p, n);
    else
        w->c->not_ip++;
}

/* MPLS (RFC 3032): labels down to the bottom of the stack, then IPv4 or IPv6 by the first
 * nibble, else an Ethernet pseudowire (its control word first when the nibble is 0). */
static void mpls(walker *w, double ts, const uint8_t *p, size_t n)
{
    size_t off = 0;
    for (;;) {
        if (off + 4 > n) {
            w->c->truncated++;
            return;
        }
        bool bottom = p[off + 2] & 1;
        off += 4;
        if (bottom)
            break;
    }
    if (off >= n || !enter(w))
        return;
    unsigned nib = p[off] >> 4;
    if (nib == 4 || nib == 6)
        ip(w, ts, p + off, n - off);
    else if (nib == 0 && n >= off + 4)
        ethernet(w, ts, p + off + 4, n - off - 4);
    else
        ethernet(w, ts, p + off, n - off);
    w->depth--;
}

static void by_ethertype(walker *w, double ts, unsigned type, const uint8_t *p, size_t n)
{
    if (type == 0x8864 && n >= 8) { /* a PPPoE session: its header, then PPP's protocol */
        unsigned proto = (unsigned)(p[6] << 8 | p[7]);
        type = proto == 0x0021 ? 0x0800 : proto == 0x0057 ? 0x86dd : 0;
        p += 8, n -= 8;
    }
    if (type == 0x8847 || type == 0x8848)
        mpls(w, ts, p, n);
    else if (type == 0x0800)
        ipv4(w, ts, p, n);
    else if (type == 0x86dd)
        ipv6(w, ts, p, n);
    else
        w->c->not_ip++;
}

/* ---- frames --------------------------------------------------------------------------------- */

/* An Ethernet frame, with its 802.1Q / 802.1ad (QinQ) tags. */
static void ethernet(walker *w, double ts, const uint8_t *p, size_t n)
{
    if (n < 14) {
        w->c->truncated++;
        return;
    }
    unsigned type = (unsigned)(p[12] << 8 | p[13]);
    size_t off = 14;
    while ((type == 0x8100 || type == 0x88a8 || type == 0x9100) && off + 4 <= n) {
        type = (unsigned)(p[off + 2] << 8 | p[off + 3]); /* a VLAN tag */
        off += 4;
    }
    by_ethertype(w, ts, type, p + off, n - off);
}

static void walk_frame(walker *w, int dlt, double ts, const uint8_t *p, size_t n)
{
    w->depth = 0;
    w->tunnelled = false;
    switch (dlt) {
    case DLT_EN10MB: ethernet(w, ts, p, n); return;
    case DLT_LINUX_SLL:
        if (n < 16) {
            w->c->truncated++;
            return;
        }
        by_ethertype(w, ts, (unsigned)(p[14] << 8 | p[15]), p + 16, n - 16);
        return;
#ifdef DLT_LINUX_SLL2
    case DLT_LINUX_SLL2:
        if (n < 20) {
            w->c->truncated++;
            return;
        }
        by_ethertype(w, ts, (unsigned)(p[0] << 8 | p[1]), p + 20, n - 20);
        return;
#endif
    case DLT_RAW:
#ifdef DLT_IPV4
    case DLT_IPV4:
    case DLT_IPV6:
#endif
        ip(w, ts, p, n);
        return;
    case DLT_NULL:
    case DLT_LOOP:
        if (n < 4) {
            w->c->truncated++;
            return;
        }
        ip(w, ts, p + 4, n - 4); /* the family word's byte order differs: the IP version says */
        return;
    default: w->c->not_ip++; return;
    }
}

/* ---- reading -------------------------------------------------------------------------------- */

/* What a file libpcap refused is, from its first bytes. */
static const char *refused_kind(const uint8_t *m, size_t n)
{
    if (n >= 4 && !memcmp(m, "GMBU", 4))
        return "a Microsoft Network Monitor 2.x capture (.cap): libpcap cannot read it; save "
               "it as pcap or pcapng (Wireshark: File > Save As)";
    if (n >= 4 && !memcmp(m, "RTSS", 4))
        return "a Microsoft Network Monitor 1.x capture: libpcap cannot read it; save it as "
               "pcap or pcapng";
    if (n >= 4 && !memcmp(m, "XCP\0", 4))
        return "a NetXRay / Sniffer capture: libpcap cannot read it; save it as pcap or pcapng";
    if (n >= 10 && !memcmp(m, "snoop\0\0\0", 8))
        return "a Solaris snoop capture: libpcap cannot read it; save it as pcap or pcapng";
    return NULL;
}

static int walk(pcap_t *pc, const net_limits *lim, net_capture **out, char *err, size_t errsz)
{
    net_capture *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    walker w = {.c = c, .lim = lim};
    c->linktype = pcap_datalink(pc);
    struct pcap_pkthdr *h;
    const u_char *data;
    int r;
    while ((r = pcap_next_ex(pc, &h, &data)) == 1) {
        if (c->packets >= lim->max_packets) {
            c->cut = true;
            break;
        }
        double ts = (double)h->ts.tv_sec + (double)h->ts.tv_usec * 1e-9;
        if (!c->packets) {
            c->first_ts = ts;
            w.t0_sec = h->ts.tv_sec, w.t0_nsec = h->ts.tv_usec;
        }
        int64_t rs = (int64_t)h->ts.tv_sec - w.t0_sec, rn = (int64_t)h->ts.tv_usec - w.t0_nsec;
        if (rn < 0)
            rs--, rn += 1000000000;
        w.rel = (double)rs + (double)rn * 1e-9;
        w.rel_ms = (double)rs * 1000.0 + (double)rn / 1e6;
        w.sec = h->ts.tv_sec, w.nsec = h->ts.tv_usec; /* nanoseconds: opened with nano precision */
        c->last_ts = ts;
        c->packets++;
        c->bytes += h->caplen;
        w.num = c->packets;
        walk_frame(&w, c->linktype, ts, data, h->caplen);
    }
    if (r == PCAP_ERROR) /* a damaged record: what came before it stands, and it is said */
        snprintf(err, errsz, "the capture is damaged after packet %llu: %s",
                 (unsigned long long)c->packets, pcap_geterr(pc));
    while (w.frags) {
        c->frag_dropped++;
        frag_drop(&w, &w.frags);
    }
    net__rtp_finish(c, lim);
    net__rtcp_finish(c);
    net__dialogs(c, lim);
    net__findings(c, lim);
    *out = c;
    return 0;
}

static int read_pcap(FILE *f, const char *path, const net_limits *lim, net_capture **out, char *err,
                     size_t errsz)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    uint8_t magic[16];
    size_t got = 0;
    net_limits dl = net_default_limits();
    if (!lim)
        lim = &dl;
    *out = NULL;
    err[0] = 0;
    FILE *peek = f ? f : fopen(path, "rb");
    if (!peek) {
        snprintf(err, errsz, "cannot open the capture: %s", strerror(errno));
        return -1;
    }
    got = fread(magic, 1, sizeof(magic), peek);
    if (f)
        rewind(f);
    else
        fclose(peek);
    if (got == 0) {
        snprintf(err, errsz, "the capture is empty");
        return -1;
    }
    pcap_t *pc =
        f ? pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, ebuf)
          : pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, ebuf);
    if (!pc) {
        if (f)
            fclose(f); /* libpcap closes it only once it has taken it */
        const char *kind = refused_kind(magic, got);
        if (kind)
            snprintf(err, errsz, "%s", kind);
        else
            snprintf(err, errsz, "not a capture libpcap can read (pcap or pcapng): %s", ebuf);
        return -1;
    }
    int rc = walk(pc, lim, out, err, errsz);
    pcap_close(pc); /* closes f too */
    return rc;
}

int net_capture_read_path(const char *path, const net_limits *lim, net_capture **out, char *err,
                          size_t errsz)
{
    return read_pcap(NULL, path, lim, out, err, errsz);
}

int net_capture_read_mem(const void *bytes, size_t len, const net_limits *lim, net_capture **out,
                         char *err, size_t errsz)
{
    *out = NULL;
    if (!len) {
        snprintf(err, errsz, "the capture is empty");
        return -1;
    }
    FILE *f = fmemopen((void *)bytes, len, "rb");
    if (!f) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    return read_pcap(f, NULL, lim, out, err, errsz);
}

void net_capture_free(net_capture *c)
{
    if (!c)
        return;
    net__rtp_free(c);
    net__rtcp_free(c);
    net__findings_free(c);
    net__dialogs_free(c);
    net__sip_free(c);
    net__sdp_free(c);
    free(c);
}
