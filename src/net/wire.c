/*
 * wire.c - the ground of the room: what every file above it shares about the bytes off the
 * wire, calling nothing of the room: addresses as text, compared and classed (net.h), the
 * static RTP payload types' names and clock rates (net.h), a string off the wire made UTF-8
 * (net_int.h), and a SIP message's first line and header values (net_sip_header). The room's files
 * call one way, each only the layers below it, and this file is the lowest (docs/ARCHITECTURE.md,
 * 6b, draws the layers).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net_int.h"

/* ---- addresses ------------------------------------------------------------------------------ */

const char *net_addr_str(const net_addr *a, char *buf, size_t n)
{
    if (a->family == 4) {
        snprintf(buf, n, "%u.%u.%u.%u", a->a[0], a->a[1], a->a[2], a->a[3]);
        return buf;
    }
    /* RFC 5952: lower case, the longest run of two or more zero groups as "::" */
    uint16_t g[8];
    for (int i = 0; i < 8; i++)
        g[i] = (uint16_t)(a->a[2 * i] << 8 | a->a[2 * i + 1]);
    int best = -1, best_len = 1;
    for (int i = 0; i < 8;) {
        int j = i;
        while (j < 8 && g[j] == 0)
            j++;
        if (j - i > best_len)
            best = i, best_len = j - i;
        i = j > i ? j : i + 1;
    }
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < 8 && k < n; i++) {
        if (i == best) {
            k += (size_t)snprintf(buf + k, n - k, "::");
            i += best_len - 1;
            continue;
        }
        k += (size_t)snprintf(buf + k, n - k, "%s%x", k && buf[k - 1] != ':' ? ":" : "", g[i]);
    }
    return buf;
}

bool net_addr_equal(const net_addr *a, const net_addr *b)
{
    return a->family == b->family && !memcmp(a->a, b->a, a->family == 4 ? 4 : 16);
}

bool net_addr_private(const net_addr *a)
{
    const uint8_t *b = a->a;
    if (a->family == 4)
        return b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
               (b[0] == 100 && (b[1] & 0xc0) == 64) || (b[0] == 169 && b[1] == 254) || b[0] == 127;
    static const uint8_t loop6[16] = {[15] = 1};
    return (b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) ||
           !memcmp(b, loop6, 16);
}

/* ---- payload types (RFC 3551 and Wireshark's short names) ---------------------------------- */

typedef struct pt_info {
    const char *name;
    uint32_t rate;
} pt_info;

static const pt_info k_pt[35] = {
    [0] = {"g711U", 8000},
    [1] = {"fs-1016", 8000},
    [2] = {"g721", 8000},
    [3] = {"GSM", 8000},
    [4] = {"g723", 8000},
    [5] = {"DVI4 8k", 8000},
    [6] = {"DVI4 16k", 16000},
    [7] = {"Exp. from Xerox PARC", 8000},
    [8] = {"g711A", 8000},
    [9] = {"g722", 8000}, /* RFC 3551: G.722's RTP clock is 8000 Hz */
    [10] = {"16-bit audio, stereo", 44100},
    [11] = {"16-bit audio, monaural", 44100},
    [12] = {"Qualcomm", 8000},
    [13] = {"CN", 8000},
    [14] = {"MPEG-I/II Audio", 90000},
    [15] = {"g728", 8000},
    [16] = {"DVI4 11k", 11025},
    [17] = {"DVI4 22k", 22050},
    [18] = {"g729", 8000},
    [19] = {"CN(old)", 8000},
    [25] = {"CellB", 90000},
    [26] = {"JPEG", 90000},
    [28] = {"NV", 90000},
    [31] = {"h261", 90000},
    [32] = {"MPEG-I/II Video", 90000},
    [33] = {"MPEG-II streams", 90000},
    [34] = {"h263", 90000},
};

const char *net_pt_name(unsigned pt)
{
    if (pt < 35 && k_pt[pt].name)
        return k_pt[pt].name;
    if (pt >= 72 && pt <= 76)
        return "Reserved for RTCP conflict avoidance";
    if (pt < 96)
        return "Unassigned";
    /* without an SDP map: RFC 2198 redundancy at 99, RFC 4733 events at 100 and 101, as
     * Wireshark's defaults take them */
    if (pt == 99)
        return "rtp.rfc2198";
    if (pt == 100 || pt == 101)
        return "rtpevent";
    return NULL; /* RTPType-<n> */
}

uint32_t net_pt_clock_rate(unsigned pt)
{
    return pt < 35 && k_pt[pt].name ? k_pt[pt].rate : 0;
}

/* ---- text off the wire ------------------------------------------------------------------- */

char *net__wire_copy(const char *s)
{
    size_t n = strlen(s), k = 0;
    char *t = malloc(3 * n + 1);
    if (!t)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x80) {
            t[k++] = s[i];
        } else {
            memcpy(t + k, "\xef\xbf\xbd", 3);
            k += 3;
        }
    }
    t[k] = 0;
    return t;
}

/* ---- a SIP message's lines and headers ---------------------------------------------------- */

/* The length of the first line (up to, not including, CR LF or LF), or -1 when there is none
 * within n bytes. */
long net__line_len(const char *p, size_t n)
{
    const char *e = memchr(p, '\n', n);
    if (!e)
        return -1;
    long k = e - p;
    if (k > 0 && p[k - 1] == '\r')
        k--;
    return k;
}

const char *net_sip_header(const net_sip_msg *m, const char *name, char compact, char *buf,
                           size_t n)
{
    const char *p = m->text, *end = m->body ? m->body : m->text + m->len;
    size_t nl = strlen(name);
    long k = net__line_len(p, (size_t)(end - p));
    if (k < 0 || !n)
        return NULL;
    p += k;
    while (p < end) {
        while (p < end && (*p == '\r' || *p == '\n'))
            p++;
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (colon) {
            const char *ne = colon;
            while (ne > p && (ne[-1] == ' ' || ne[-1] == '\t'))
                ne--;
            size_t len = (size_t)(ne - p);
            if ((len == nl && !strncasecmp(p, name, nl)) ||
                (compact && len == 1 && tolower((unsigned char)*p) == compact)) {
                size_t o = 0;
                const char *v = colon + 1;
                for (;;) { /* the value, with folded lines joined by a space */
                    while (v < eol && (*v == ' ' || *v == '\t'))
                        v++;
                    const char *ve = eol;
                    while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                        ve--;
                    if (o && o + 1 < n)
                        buf[o++] = ' ';
                    size_t take = (size_t)(ve - v) < n - 1 - o ? (size_t)(ve - v) : n - 1 - o;
                    memcpy(buf + o, v, take);
                    o += take;
                    if (eol >= end || eol + 1 >= end || (eol[1] != ' ' && eol[1] != '\t'))
                        break;
                    v = eol + 1;
                    eol = memchr(v, '\n', (size_t)(end - v));
                    if (!eol)
                        eol = end;
                }
                buf[o] = 0;
                return buf;
            }
        }
        p = eol < end ? eol + 1 : end;
    }
    return NULL;
}
