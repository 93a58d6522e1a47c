/*
 * hep.c - HEP, the encapsulation Asterisk (res_hep, res_hep_rtcp), FreeSWITCH, Kamailio and
 * OpenSIPS send to a Homer-style collector, taken apart into the packet it carries: version 3
 * ("HEP3", then chunks of vendor, type and length) and versions 1 and 2 (a fixed header: the
 * family, the transport, the ports and addresses, and in version 2 the time and the capture
 * agent). Pure: bytes in, what they say out; every length checked against the bytes given.
 *
 * Two readings a collector needs beside it: the JSON report Asterisk's res_hep_rtcp sends in
 * place of the RTCP packet, put back into that packet (SR or RR with its report blocks), so that
 * it is read as captured RTCP is; and the few facts of a SIP message that file it with its call
 * (its Call-ID, request or status, its CSeq's method).
 */
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <string.h>
#include <strings.h>

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

/* ---- res_hep_rtcp's JSON --------------------------------------------------------------------- */

/* Asterisk's rtcp_report_to_json: {"ssrc", "type" (200 SR, 201 RR), "report_count",
 * "sender_information": {"ntp_timestamp_sec", "ntp_timestamp_usec" (strings: the SR's NTP time
 * as Unix seconds and microseconds), "rtp_timestamp", "packets", "octets"} or null,
 * "report_blocks": [{"source_ssrc", "fraction_lost" (0-255), "packets_lost", "highest_seq_no",
 * "ia_jitter", "lsr" (a string), "dlsr"}]}. Its integers are C ints: an SSRC past 2^31 comes
 * negative, and is taken modulo 2^32. */
#define NTP_UNIX_OFFSET 2208988800.0

static bool json_u32(const json_t *o, const char *key, bool need, uint32_t *out)
{
    const json_t *v = json_object_get(o, key);
    *out = 0;
    if (!v)
        return !need;
    if (json_is_string(v)) { /* lsr and the NTP time come as strings of digits */
        const char *s = json_string_value(v);
        double d = 0;
        size_t k = 0;
        for (; s[k] && k < 20; k++) {
            if (!isdigit((unsigned char)s[k]))
                return false;
            d = d * 10 + (s[k] - '0');
        }
        if (!k || s[k] || d > 4294967295.0)
            return false;
        *out = (uint32_t)d;
        return true;
    }
    if (!json_is_integer(v))
        return false;
    json_int_t x = json_integer_value(v);
    if (x < INT32_MIN || x > (json_int_t)UINT32_MAX)
        return false;
    *out = (uint32_t)(x & 0xffffffff);
    return true;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}

int net_hep_rtcp_json(const uint8_t *p, size_t n, uint8_t out[NET_HEP_RTCP_MAX], size_t *len,
                      const char **why)
{
    *len = 0;
    *why = NULL;
    if (n > NET_HEP_JSON_MAX)
        return fail(why, "RTCP as JSON: longer than a report can be");
    json_error_t e;
    json_t *o = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &e);
    int rc = -1;
    uint32_t ssrc, type, v;
    const json_t *blocks = o ? json_object_get(o, "report_blocks") : NULL;
    const json_t *si = o ? json_object_get(o, "sender_information") : NULL;
    if (!json_is_object(o) || !json_u32(o, "ssrc", true, &ssrc) ||
        !json_u32(o, "type", true, &type) || (type != 200 && type != 201)) {
        *why = "RTCP as JSON: not a report (an object with ssrc and type 200 or 201)";
        goto done;
    }
    if (!json_is_array(blocks) || json_array_size(blocks) > 31) {
        *why = "RTCP as JSON: report_blocks is not a list of at most 31";
        goto done;
    }
    bool sr = type == 200;
    if (sr && !json_is_object(si)) {
        *why = "RTCP as JSON: a sender report without its sender_information";
        goto done;
    }
    size_t nb = json_array_size(blocks), off = 8;
    out[0] = (uint8_t)(0x80 | nb), out[1] = (uint8_t)type;
    put32(out + 4, ssrc);
    if (sr) {
        uint32_t sec, usec, rtp, pk, oc;
        if (!json_u32(si, "ntp_timestamp_sec", true, &sec) ||
            !json_u32(si, "ntp_timestamp_usec", true, &usec) || usec >= 1000000 ||
            !json_u32(si, "rtp_timestamp", true, &rtp) || !json_u32(si, "packets", true, &pk) ||
            !json_u32(si, "octets", true, &oc)) {
            *why = "RTCP as JSON: sender_information is not whole";
            goto done;
        }
        /* back to NTP: the seconds from 1900, the fraction from the microseconds (the middle
         * of the fractions that give them: the SR's own is within 2^-32 s * 4295 of it) */
        double frac = floor(((double)usec + 0.5) * 4294.967296);
        put32(out + 8, (uint32_t)fmod((double)sec + NTP_UNIX_OFFSET, 4294967296.0));
        put32(out + 12, (uint32_t)(frac > 4294967295.0 ? 4294967295.0 : frac));
        put32(out + 16, rtp), put32(out + 20, pk), put32(out + 24, oc);
        off = 28;
    }
    for (size_t i = 0; i < nb; i++) {
        const json_t *b = json_array_get(blocks, i);
        uint32_t src, fl, hs, jit, lsr, dlsr, lost;
        if (!json_is_object(b) || !json_u32(b, "source_ssrc", true, &src) ||
            !json_u32(b, "fraction_lost", true, &fl) || fl > 255 ||
            !json_u32(b, "packets_lost", true, &lost) ||
            !json_u32(b, "highest_seq_no", true, &hs) || !json_u32(b, "ia_jitter", true, &jit) ||
            !json_u32(b, "lsr", false, &lsr) || !json_u32(b, "dlsr", false, &dlsr)) {
            *why = "RTCP as JSON: a report block is not whole";
            goto done;
        }
        put32(out + off, src);
        put32(out + off + 4, fl << 24 | (lost & 0xffffff)); /* 24 bits, as on the wire */
        put32(out + off + 8, hs), put32(out + off + 12, jit);
        put32(out + off + 16, lsr), put32(out + off + 20, dlsr);
        off += 24;
    }
    v = (uint32_t)(off / 4 - 1);
    out[2] = (uint8_t)(v >> 8), out[3] = (uint8_t)v;
    *len = off;
    rc = 0;
done:
    json_decref(o);
    return rc;
}

/* ---- a SIP message's call -------------------------------------------------------------------- */

/* the value of header `name` (or its compact form) in the head h[0..n): NULL when absent */
static const uint8_t *header_value(const uint8_t *h, size_t n, const char *name, char compact,
                                   size_t *vlen)
{
    size_t k = strlen(name);
    for (size_t off = 0; off < n;) {
        const uint8_t *eol = memchr(h + off, '\n', n - off);
        size_t end = eol ? (size_t)(eol - h) : n, line = end - off;
        const uint8_t *l = h + off;
        size_t nl = 0;
        if (line > k && !strncasecmp((const char *)l, name, k))
            nl = k;
        else if (compact && line > 1 && tolower(l[0]) == compact &&
                 (l[1] == ':' || l[1] == ' ' || l[1] == '\t'))
            nl = 1;
        if (nl) {
            size_t i = nl;
            while (i < line && (l[i] == ' ' || l[i] == '\t'))
                i++;
            if (i < line && l[i] == ':') {
                i++;
                while (i < line && (l[i] == ' ' || l[i] == '\t'))
                    i++;
                size_t e = line;
                while (e > i && isspace(l[e - 1]))
                    e--;
                *vlen = e - i;
                return l + i;
            }
        }
        off = end + 1;
    }
    return NULL;
}

static void copy_token(char *dst, size_t cap, const uint8_t *s, size_t n)
{
    size_t k = 0;
    while (k < n && k + 1 < cap && isupper(s[k]))
        k++;
    memcpy(dst, s, k);
    dst[k] = 0;
}

int net_sip_peek(const uint8_t *p, size_t n, net_sip_glance *out)
{
    memset(out, 0, sizeof(*out));
    const uint8_t *eol = memchr(p, '\n', n);
    if (!eol)
        return -1;
    size_t first = (size_t)(eol - p);
    if (first >= 12 && !memcmp(p, "SIP/2.0 ", 8) && isdigit(p[8]) && isdigit(p[9]) &&
        isdigit(p[10])) {
        out->status = (p[8] - '0') * 100 + (p[9] - '0') * 10 + (p[10] - '0');
    } else {
        const uint8_t *sp = memchr(p, ' ', first);
        if (!sp || sp == p || first < 8 || memcmp(eol - (eol[-1] == '\r' ? 8 : 7), "SIP/2.0", 7))
            return -1;
        copy_token(out->method, sizeof(out->method), p, (size_t)(sp - p));
        if (!out->method[0])
            return -1;
        out->request = true;
    }
    /* the head: up to the blank line (the body is not read) */
    size_t head = n;
    for (size_t i = first; i + 1 < n; i++)
        if (p[i] == '\n' &&
            (p[i + 1] == '\n' || (p[i + 1] == '\r' && i + 2 < n && p[i + 2] == '\n'))) {
            head = i + 1;
            break;
        }
    size_t vl = 0;
    const uint8_t *v = header_value(p + first + 1, head - first - 1, "Call-ID", 'i', &vl);
    if (!v || !vl || vl > NET_SIP_CALL_ID_MAX)
        return -1;
    out->call_id = (const char *)v, out->call_id_len = vl;
    v = header_value(p + first + 1, head - first - 1, "CSeq", 0, &vl);
    if (v) { /* "1 INVITE": the method after the number */
        size_t i = 0;
        while (i < vl && isdigit(v[i]))
            i++;
        while (i < vl && (v[i] == ' ' || v[i] == '\t'))
            i++;
        copy_token(out->cseq_method, sizeof(out->cseq_method), v + i, vl - i);
    }
    return 0;
}
