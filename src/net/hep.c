/*
 * hep.c - HEP, the encapsulation Asterisk (res_hep, res_hep_rtcp), FreeSWITCH, Kamailio and
 * OpenSIPS send to a Homer-style collector, taken apart into the packet it carries: version 3
 * ("HEP3", then chunks of vendor, type and length) and versions 1 and 2 (a fixed header: the
 * family, the transport, the ports and addresses, and in version 2 the time and the capture
 * agent). Pure: bytes in, what they say out; every length checked against the bytes given.
 */
#include <string.h>

#include "net_int.h"

#define HEP_AF_INET 2
#define HEP_AF_INET6 10

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static int fail(const char **why, const char *what)
{
    *why = what;
    return -1;
}

/* version 3: chunks after "HEP3" and the total length */
static int hep3(const uint8_t *p, size_t n, net_hep *h, const char **why)
{
    size_t total = net__be16(p + 4);
    if (total < 6 || total > n)
        return fail(why, "HEP3: its length is past the datagram");
    bool src = false, dst = false, sp = false, dp = false;
    int family = 0;
    for (size_t off = 6; off < total;) {
        if (off + 6 > total)
            return fail(why, "HEP3: a chunk's header is cut short");
        uint16_t vendor = net__be16(p + off), type = net__be16(p + off + 2),
                 len = net__be16(p + off + 4);
        if (len < 6 || off + len > total)
            return fail(why, "HEP3: a chunk's length is past the packet");
        const uint8_t *v = p + off + 6;
        size_t vl = (size_t)len - 6;
        off += len;
        if (vendor != 0)
            continue; /* a vendor's own chunk */
        switch (type) {
        case 1:
            if (vl == 1)
                family = v[0];
            break;
        case 2:
            if (vl == 1)
                h->ip_proto = v[0];
            break;
        case 3: /* IPv4 source, destination; IPv6 source, destination */
        case 4:
        case 5:
        case 6: {
            bool v6 = type >= 5, is_src = type % 2 == 1;
            if (vl != (v6 ? 16u : 4u))
                return fail(why, "HEP3: an address chunk is not of its family's size");
            net_addr *a = is_src ? &h->src : &h->dst;
            *a = (net_addr){.family = v6 ? 6 : 4};
            memcpy(a->a, v, vl);
            *(is_src ? &src : &dst) = true;
            break;
        }
        case 7:
        case 8:
            if (vl != 2)
                return fail(why, "HEP3: a port chunk is not 2 bytes");
            *(type == 7 ? &h->sport : &h->dport) = net__be16(v);
            *(type == 7 ? &sp : &dp) = true;
            break;
        case 9:
            if (vl == 4)
                h->sec = net__be32(v), h->has_time = true;
            break;
        case 10:
            if (vl == 4)
                h->usec = net__be32(v);
            break;
        case 11:
            if (vl == 1)
                h->type = v[0];
            break;
        case 12:
            if (vl == 4)
                h->agent = net__be32(v);
            else if (vl == 2)
                h->agent = net__be16(v);
            break;
        case 14: h->key = (const char *)v, h->key_len = vl; break;
        case 15: h->payload = v, h->payload_len = vl; break;
        case 16: h->compressed = true; break;
        case 17: h->corr = (const char *)v, h->corr_len = vl; break;
        default: break;
        }
    }
    if (!src || !dst || !sp || !dp)
        return fail(why, "HEP3: no source or destination (address and port)");
    if ((family == HEP_AF_INET && h->src.family != 4) ||
        (family == HEP_AF_INET6 && h->src.family != 6) || h->src.family != h->dst.family)
        return fail(why, "HEP3: the addresses are not of its family");
    if (h->usec >= 1000000)
        return fail(why, "HEP3: microseconds past a second");
    if (!h->payload && !h->compressed)
        return fail(why, "HEP3: no payload");
    return 0;
}

/* versions 1 and 2: version, header length, family, transport, ports (network order), the
 * addresses; version 2 then the time and the capture agent, in the sender's byte order (x86:
 * little-endian), 12 bytes with their padding */
static int hep12(const uint8_t *p, size_t n, net_hep *h, const char **why)
{
    if (n < 8)
        return fail(why, "HEP: shorter than its header");
    size_t alen = p[2] == HEP_AF_INET ? 4 : p[2] == HEP_AF_INET6 ? 16 : 0;
    if (!alen)
        return fail(why, "HEP: an address family other than IPv4 or IPv6");
    size_t hl = p[1];
    if (hl != 8 + 2 * alen || hl > n)
        return fail(why, "HEP: its header length does not fit its family");
    h->version = p[0];
    h->ip_proto = p[3];
    h->sport = net__be16(p + 4), h->dport = net__be16(p + 6);
    h->src = (net_addr){.family = alen == 4 ? 4 : 6};
    h->dst = h->src;
    memcpy(h->src.a, p + 8, alen);
    memcpy(h->dst.a, p + 8 + alen, alen);
    size_t off = hl;
    if (h->version == 2) {
        if (off + 12 > n)
            return fail(why, "HEP2: its time is cut short");
        h->sec = le32(p + off), h->usec = le32(p + off + 4);
        h->agent = (uint32_t)(p[off + 8] | p[off + 9] << 8);
        h->has_time = h->usec < 1000000;
        if (!h->has_time)
            h->sec = h->usec = 0;
        off += 12;
    }
    h->type = 1; /* versions 1 and 2 carry SIP */
    h->payload = p + off, h->payload_len = n - off;
    return 0;
}

int net_hep_parse(const uint8_t *p, size_t n, net_hep *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    *why = NULL;
    int rc;
    if (n >= 6 && !memcmp(p, "HEP3", 4)) {
        out->version = 3;
        rc = hep3(p, n, out, why);
    } else if (n >= 1 && (p[0] == 1 || p[0] == 2)) {
        rc = hep12(p, n, out, why);
    } else {
        rc = fail(why, "not HEP (neither HEP3 nor version 1 or 2)");
    }
    if (rc == 0 && out->ip_proto != 17 && out->ip_proto != 6)
        rc = fail(why, "HEP: a transport other than UDP or TCP");
    if (rc != 0) {
        const char *w = *why;
        memset(out, 0, sizeof(*out));
        *why = w;
    }
    return rc;
}
