/*
 * sip_text.c - SIP messages from text, in the forms people paste: sngrep's text export, Asterisk's
 * `pjsip set logger` and chan_sip's `sip set debug on` output (with or without the log's
 * "[date time]" prefix), raw messages one after another, and tshark's packet details (`tshark
 * -V`, with -P, -x or -O sip too; Wireshark's "Export Packet Dissections as Plain Text" with the
 * details expanded). Each message becomes a message of a capture (sip.c keeps it), so dialogs
 * and findings come out as from a pcap. A log names only the far end's address: the PBX's own
 * side is 0.0.0.0:0. Without timestamps (raw messages) times are unknown and the dialogs'
 * durations are null.
 *
 * tshark's details are a tree, four spaces a level: each frame's "Frame N:" line, its epoch
 * time and time since the first frame, the IP and UDP/TCP lines with the addresses and ports;
 * then "Session Initiation Protocol (...)" with its Request-Line or Status-Line, the headers one
 * level down under "Message Header", and under "Message Body" the SDP as "Name (x): value"
 * lines or a text body's lines ("Signal= 1\r\n"). Each message is rebuilt from those (its
 * Content-Length set to the rebuilt body), with the frame's number, time and addresses, so a
 * text export reads as the capture it came from. Generated lines ("[...]") and the fields
 * tshark takes apart under each header are left out; the hex dump (-x) and the summary lines
 * (-P) are not needed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net_int.h"

typedef struct reader {
    net_capture *c;
    const net_limits *lim;
    char *msg; /* the message being gathered, lines joined by CR LF */
    size_t len, cap;
    bool open;
    net_addr src, dst;
    uint16_t sport, dport;
    bool tcp;
    double ts;  /* epoch seconds, or -1 */
    double rel; /* seconds since the capture's first frame when the text says (tshark), or -1 */
    double first_ts;
    uint64_t num;
    uint64_t frame; /* the frame's number when the text says (tshark), else 0 */
} reader;

/* "10.0.0.1:5060", "[2001:db8::1]:5060", "UDP:10.0.0.1:5060" into an address and a port. */
static bool parse_hostport(const char *s, size_t n, net_addr *a, uint16_t *port, bool *tcp)
{
    char t[80];
    if (n >= sizeof(t))
        return false;
    memcpy(t, s, n);
    t[n] = 0;
    char *h = t;
    for (const char *pfx[] = {"UDP:", "TCP:", "TLS:", "WS:", "WSS:"}, **q = pfx; q < pfx + 5; q++)
        if (!strncasecmp(h, *q, strlen(*q))) {
            if (tcp)
                *tcp = strncasecmp(h, "UDP:", 4) != 0;
            h += strlen(*q);
            break;
        }
    char *colon = strrchr(h, ':');
    if (!colon)
        return false;
    *colon = 0;
    *port = (uint16_t)atoi(colon + 1);
    if (*h == '[') {
        h++;
        char *e = strchr(h, ']');
        if (e)
            *e = 0;
    }
    memset(a, 0, sizeof(*a));
    if (inet_pton(AF_INET, h, a->a) == 1) {
        a->family = 4;
        return true;
    }
    if (inet_pton(AF_INET6, h, a->a) == 1) {
        a->family = 6;
        return true;
    }
    return false;
}

/* A leading "[YYYY-MM-DD HH:MM:SS(.fff)]" or "YYYY/MM/DD HH:MM:SS(.ffffff)": epoch seconds
 * (UTC, as written), or -1. */
static double parse_time(const char *s)
{
    struct tm tm = {0};
    double frac = 0;
    int n = 0;
    if (*s == '[')
        s++;
    if (sscanf(s, "%4d%*[-/]%2d%*[-/]%2d %2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
        return -1;
    if (s[n] == '.') {
        double f = 0.1;
        for (const char *q = s + n + 1; isdigit((unsigned char)*q); q++, f /= 10)
            frac += (*q - '0') * f;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (double)timegm(&tm) + frac;
}

static void add_line(reader *r, const char *p, size_t n)
{
    if (r->len + n + 2 > NET_SIP_MAX * 2) /* longer than any message: kept to the limit */
        return;
    if (r->len + n + 2 > r->cap) {
        size_t nc = (r->len + n + 2) * 2;
        char *nm = realloc(r->msg, nc);
        if (!nm)
            return;
        r->msg = nm, r->cap = nc;
    }
    memcpy(r->msg + r->len, p, n);
    r->len += n;
    r->msg[r->len++] = '\r';
    r->msg[r->len++] = '\n';
}

/* The gathered message, out: its trailing blank lines dropped, unless it has a body. */
static void flush(reader *r)
{
    if (!r->open)
        return;
    r->open = false;
    size_t n = r->len;
    /* leading blank lines */
    size_t off = 0;
    while (off < n && (r->msg[off] == '\r' || r->msg[off] == '\n'))
        off++;
    if (off >= n)
        return;
    net_udp u = {.src = r->src,
                 .dst = r->dst,
                 .sport = r->sport,
                 .dport = r->dport,
                 .data = (const uint8_t *)r->msg + off,
                 .len = n - off,
                 .num = r->frame ? r->frame : ++r->num};
    if (r->ts >= 0) {
        if (r->first_ts < 0)
            r->first_ts = r->rel >= 0 ? r->ts - r->rel : r->ts;
        u.ts = r->ts;
        u.rel = r->rel >= 0 ? r->rel : r->ts - r->first_ts;
        u.rel_ms = u.rel * 1000;
        if (!r->c->packets)
            r->c->first_ts = r->first_ts;
        r->c->last_ts = r->ts;
    }
    r->c->packets++;
    r->c->bytes += u.len;
    net__sip_message(r->c, r->lim, &u, r->tcp);
}

static void start(reader *r, double ts, bool tcp)
{
    flush(r);
    r->open = true;
    r->len = 0;
    r->ts = ts;
    r->tcp = tcp;
}

static const net_addr k_local = {.family = 4};

/* A marker line of one of the log forms: start a message and say where it went. */
static bool marker(reader *r, const char *line, size_t n)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%.*s", (int)(n < sizeof(buf) - 1 ? n : sizeof(buf) - 1), line);
    double ts = parse_time(buf);
    const char *m;
    net_addr a;
    uint16_t port = 0;
    bool tcp = false;
    /* sngrep: "2021/03/01 12:00:00.123456 10.0.0.1:5060 -> 10.0.0.2:5060" */
    if (ts >= 0 && (m = strstr(buf, " -> "))) {
        const char *sp = m;
        while (sp > buf && sp[-1] != ' ')
            sp--;
        const char *d = m + 4, *de = d;
        while (*de && !isspace((unsigned char)*de))
            de++;
        net_addr b;
        uint16_t bp = 0;
        if (parse_hostport(sp, (size_t)(m - sp), &a, &port, NULL) &&
            parse_hostport(d, (size_t)(de - d), &b, &bp, NULL)) {
            start(r, ts, false);
            r->src = a, r->sport = port, r->dst = b, r->dport = bp;
            return true;
        }
    }
    /* pjsip: "<--- Received SIP request (1098 bytes) from UDP:10.0.0.1:5060 --->"
     *        "<--- Transmitting SIP response (523 bytes) to UDP:10.0.0.1:5060 --->" */
    bool rx = (m = strstr(buf, "<--- Received SIP ")) != NULL;
    bool tx = !rx && (m = strstr(buf, "<--- Transmitting SIP ")) != NULL;
    /* chan_sip: "<--- SIP read from UDP:10.0.0.1:5060 --->"
     *           "<--- Transmitting (no NAT) to 10.0.0.1:5060 --->",
     *           "<--- Reliably Transmitting (NAT) to 10.0.0.1:5060 --->" */
    if (!rx && !tx) {
        rx = (m = strstr(buf, "<--- SIP read from ")) != NULL;
        tx = !rx && ((m = strstr(buf, "<--- Transmitting")) != NULL ||
                     (m = strstr(buf, "<--- Reliably Transmitting")) != NULL);
    }
    if (!rx && !tx)
        return false;
    const char *at = strstr(m, rx ? " from " : " to ");
    const char *end = at ? strstr(at, " --->") : NULL;
    if (!at || !end)
        return false;
    at += rx ? 6 : 4;
    if (!parse_hostport(at, (size_t)(end - at), &a, &port, &tcp))
        return false;
    start(r, ts, tcp);
    if (rx) {
        r->src = a, r->sport = port, r->dst = k_local, r->dport = 0;
    } else {
        r->src = k_local, r->sport = 0, r->dst = a, r->dport = port;
    }
    return true;
}

static bool is_sip_first_line(const char *p, size_t n)
{
    if (n >= 8 && !strncmp(p, "SIP/2.0 ", 8))
        return true;
    const char *e = p + n;
    return n > 8 && !memcmp(e - 8, " SIP/2.0", 8) && isupper((unsigned char)p[0]);
}

/* ---- tshark's packet details ----------------------------------------------------------------- */

/* "Frame 12: 596 bytes on wire (...)": a frame of tshark -V; its number, or 0. */
static uint64_t tshark_frame(const char *p, size_t n)
{
    if (n < 8 || strncmp(p, "Frame ", 6) || !isdigit((unsigned char)p[6]) ||
        !memmem(p, n, " on wire", 8))
        return 0;
    uint64_t v = 0;
    for (size_t i = 6; i < n && isdigit((unsigned char)p[i]) && v < UINT64_MAX / 10; i++)
        v = v * 10 + (uint64_t)(p[i] - '0');
    return v;
}

/* Seconds written as "1303892069.846846000": whole and fraction apart (ns kept). -1 if none. */
static double tshark_secs(const char *p, const char *end)
{
    while (p < end && *p == ' ')
        p++;
    if (p >= end || !isdigit((unsigned char)*p))
        return -1;
    double whole = 0, frac = 0, f = 0.1;
    for (; p < end && isdigit((unsigned char)*p); p++)
        whole = whole * 10 + (*p - '0');
    if (p < end && *p == '.')
        for (p++; p < end && isdigit((unsigned char)*p); p++, f /= 10)
            frac += (*p - '0') * f;
    return whole + frac;
}

/* "Apr 27, 2011 08:14:29.846846000 UTC": epoch seconds, read as UTC (tshark writes the local
 * zone; only differences matter when the epoch line is missing). -1 if not. */
static double tshark_arrival(const char *p, size_t n)
{
    static const char mon[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char t[96], m[4];
    struct tm tm = {0};
    int k = 0;
    snprintf(t, sizeof(t), "%.*s", (int)(n < sizeof(t) - 1 ? n : sizeof(t) - 1), p);
    if (sscanf(t, "%3s %d, %d %d:%d:%d%n", m, &tm.tm_mday, &tm.tm_year, &tm.tm_hour, &tm.tm_min,
               &tm.tm_sec, &k) != 6)
        return -1;
    const char *mp = strstr(mon, m);
    if (!mp || strlen(m) != 3 || (mp - mon) % 3)
        return -1;
    tm.tm_mon = (int)(mp - mon) / 3;
    tm.tm_year -= 1900;
    double frac = 0;
    if (t[k] == '.') {
        double f = 0.1;
        for (const char *q = t + k + 1; isdigit((unsigned char)*q); q++, f /= 10)
            frac += (*q - '0') * f;
    }
    return (double)timegm(&tm) + frac;
}

/* An address as tshark writes it: "10.0.0.1", "2001:db8::1", or "name (10.0.0.1)". */
static bool tshark_addr(const char *p, size_t n, net_addr *a)
{
    char t[80];
    const char *o = memchr(p, '(', n), *c = o ? memchr(o, ')', (size_t)(p + n - o)) : NULL;
    if (o && c)
        p = o + 1, n = (size_t)(c - o - 1);
    if (n >= sizeof(t))
        return false;
    memcpy(t, p, n);
    t[n] = 0;
    memset(a, 0, sizeof(*a));
    if (inet_pton(AF_INET, t, a->a) == 1)
        return (a->family = 4), true;
    if (inet_pton(AF_INET6, t, a->a) == 1)
        return (a->family = 6), true;
    return false;
}

/* The text after `key` up to the next ", " (or the end) of a protocol's summary line. */
static bool tshark_item(const char *p, size_t n, const char *key, const char **v, size_t *vn)
{
    const char *k = memmem(p, n, key, strlen(key));
    if (!k)
        return false;
    *v = k + strlen(key);
    const char *e = memmem(*v, (size_t)(p + n - *v), ", ", 2);
    *vn = (size_t)((e ? e : p + n) - *v);
    return true;
}

/* "5060" or "sip (5060)". */
static bool tshark_port(const char *p, size_t n, uint16_t *port)
{
    const char *o = memchr(p, '(', n);
    if (o)
        n -= (size_t)(o + 1 - p), p = o + 1;
    unsigned long v = 0;
    size_t i = 0;
    for (; i < n && isdigit((unsigned char)p[i]) && v <= 65535; i++)
        v = v * 10 + (unsigned long)(p[i] - '0');
    if (!i || v > 65535)
        return false;
    *port = (uint16_t)v;
    return true;
}

/* A SIP message being rebuilt from a tree. */
typedef struct tmsg {
    bool open;
    char first[2048];
    char *hdr, *body; /* CR LF joined */
    size_t hdr_len, body_len;
    int sub;        /* 0 none, 1 "Message Header", 2 "Message Body" */
    int text_depth; /* a text body's lines: at this depth */
} tmsg;

static void tappend(char **b, size_t *len, const char *p, size_t n)
{
    if (*len + n + 2 > NET_SIP_MAX)
        return; /* longer than a message can be: kept to the limit */
    char *nb = realloc(*b, *len + n + 3);
    if (!nb)
        return;
    *b = nb;
    memcpy(nb + *len, p, n);
    *len += n;
    nb[(*len)++] = '\r';
    nb[(*len)++] = '\n';
    nb[*len] = 0;
}

/* The rebuilt message, out through the reader (with the frame's time, addresses, number). */
static void tshark_flush(reader *r, tmsg *m)
{
    if (!m->open)
        return;
    m->open = false;
    if (m->first[0]) {
        start(r, r->ts, r->tcp);
        r->open = true;
        add_line(r, m->first, strlen(m->first));
        if (m->hdr_len)
            add_line(r, m->hdr, m->hdr_len - 2);
        char cl[40];
        snprintf(cl, sizeof(cl), "Content-Length: %zu", m->body_len);
        add_line(r, cl, strlen(cl));
        add_line(r, "", 0);
        if (m->body_len) /* its last line end is add_line's */
            add_line(r, m->body, m->body_len - 2);
        flush(r);
    }
    m->first[0] = 0;
    m->hdr_len = m->body_len = 0;
    m->sub = 0;
    m->text_depth = 2;
}

/* An SDP line as tshark names it: "Media Attribute (a): rtpmap:8 PCMA/8000" -> "a=rtpmap:..." */
static bool tshark_sdp_line(const char *p, size_t n, char *out, size_t outsz)
{
    const char *c = memmem(p, n, "): ", 3);
    if (!c || c - p < 3 || c[-2] != '(' || !islower((unsigned char)c[-1]) ||
        !strchr("vosiuepcbtrzkam", c[-1]) || c[-3] != ' ')
        return false;
    const char *v = c + 3;
    snprintf(out, outsz, "%c=%.*s", c[-1], (int)(p + n - v), v);
    return true;
}

/* Does the line [t, +tn) start with `lit`? (A line is not NUL-terminated.) */
static bool starts(const char *t, size_t tn, const char *lit)
{
    size_t k = strlen(lit);
    return tn >= k && !memcmp(t, lit, k);
}

/* One line of tshark's details. */
static void tshark_line(reader *r, tmsg *m, const char *p, size_t n)
{
    size_t sp = 0;
    while (sp < n && p[sp] == ' ')
        sp++;
    int depth = (int)(sp / 4);
    const char *t = p + sp;
    size_t tn = n - sp;
    if (!tn) { /* a blank line ends a frame's tree */
        tshark_flush(r, m);
        return;
    }
    uint64_t fr;
    if (!sp && (fr = tshark_frame(p, n))) {
        tshark_flush(r, m);
        r->frame = fr;
        r->ts = r->rel = -1;
        r->src = r->dst = k_local;
        r->sport = r->dport = 0;
        r->tcp = false;
        return;
    }
    const char *v;
    size_t vn;
    if (depth == 0) {
        tshark_flush(r, m);
        if (starts(t, tn, "Internet Protocol Version ")) {
            net_addr a, b;
            const char *w;
            size_t wn;
            if (tshark_item(t, tn, "Src: ", &v, &vn) && tshark_item(t, tn, "Dst: ", &w, &wn) &&
                tshark_addr(v, vn, &a) && tshark_addr(w, wn, &b))
                r->src = a, r->dst = b;
        } else if (starts(t, tn, "User Datagram Protocol, ") ||
                   starts(t, tn, "Transmission Control Protocol, ")) {
            uint16_t s = 0, d = 0;
            const char *w;
            size_t wn;
            if (tshark_item(t, tn, "Src Port: ", &v, &vn) &&
                tshark_item(t, tn, "Dst Port: ", &w, &wn) && tshark_port(v, vn, &s) &&
                tshark_port(w, wn, &d)) {
                r->sport = s, r->dport = d;
                r->tcp = t[0] == 'T';
            }
        } else if (starts(t, tn, "Session Initiation Protocol")) {
            m->open = true;
        }
        return;
    }
    if (!m->open) { /* the frame's own lines: its times */
        if (depth == 1 && starts(t, tn, "Epoch Time: "))
            r->ts = tshark_secs(t + 12, t + tn);
        else if (depth == 1 && r->ts < 0 && starts(t, tn, "Arrival Time: "))
            r->ts = tshark_arrival(t + 14, tn - 14);
        else if (depth == 1 && starts(t, tn, "[Time since reference or first frame: "))
            r->rel = tshark_secs(t + 38, t + tn);
        return;
    }
    if (tn > 11 && starts(t, tn, "[truncated]")) /* a label over tshark's 240 bytes */
        t += 11, tn -= 11;
    if (depth == 1) {
        m->sub = 0;
        if ((starts(t, tn, "Request-Line: ") || starts(t, tn, "Status-Line: ")) && !m->first[0]) {
            size_t k = t[0] == 'R' ? 14 : 13;
            snprintf(m->first, sizeof(m->first), "%.*s", (int)(tn - k), t + k);
        } else if (starts(t, tn, "Message Header")) {
            m->sub = 1;
        } else if (starts(t, tn, "Message Body")) {
            m->sub = 2;
        }
        return;
    }
    if (t[0] == '[') /* generated by tshark, not in the message */
        return;
    if (m->sub == 1 && depth == 2) {
        const char *colon = memchr(t, ':', tn);
        size_t kn = colon ? (size_t)(colon - t) : 0;
        while (kn && t[kn - 1] == ' ')
            kn--;
        if ((kn == 14 && !strncasecmp(t, "Content-Length", 14)) || (kn == 1 && (*t | 32) == 'l'))
            return; /* set to the rebuilt body's length */
        tappend(&m->hdr, &m->hdr_len, t, tn);
    } else if (m->sub == 2) {
        char line[1024];
        if (tn >= 4 && !memcmp(t + tn - 4, "\\r\\n", 4)) { /* a text body's line */
            if (depth == m->text_depth)
                tappend(&m->body, &m->body_len, t, tn - 4);
        } else if (tn >= 2 && !memcmp(t + tn - 2, "\\n", 2)) {
            if (depth == m->text_depth)
                tappend(&m->body, &m->body_len, t, tn - 2);
        } else if (starts(t, tn, "Line-based text data")) {
            m->text_depth = depth + 1;
        } else if (tshark_sdp_line(t, tn, line, sizeof(line))) {
            tappend(&m->body, &m->body_len, line, strlen(line));
        }
    }
}

/* Is it tshark's details: a "Frame N: ... on wire" line at the start of a line? */
static bool is_tshark(const char *text, size_t len)
{
    for (const char *p = text, *end = text + len; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((eol ? eol : end) - p);
        if (tshark_frame(p, n))
            return true;
        p = eol ? eol + 1 : end;
    }
    return false;
}

static void tshark_read(reader *r, const char *text, size_t len)
{
    tmsg m = {.text_depth = 2};
    for (const char *p = text, *end = text + len; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((eol ? eol : end) - p);
        if (n && p[n - 1] == '\r')
            n--;
        tshark_line(r, &m, p, n);
        p = eol ? eol + 1 : end;
    }
    tshark_flush(r, &m);
    free(m.hdr);
    free(m.body);
}

int net_sip_text_read(const char *text, size_t len, const net_limits *lim, net_capture **out,
                      char *err, size_t errsz)
{
    net_limits dl = net_default_limits();
    if (!lim)
        lim = &dl;
    *out = NULL;
    err[0] = 0;
    net_capture *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    reader r = {.c = c, .lim = lim, .ts = -1, .rel = -1, .first_ts = -1};
    if (memchr(text, 0, len)) { /* binary: not a text export */
        net_capture_free(c);
        snprintf(err, errsz,
                 "not SIP text: it holds NUL bytes (a capture libpcap cannot "
                 "read?)");
        return -1;
    }
    bool any_marker = false;
    const char *p = text, *end = text + len;
    if (is_tshark(text, len)) {
        tshark_read(&r, text, len);
        p = end;
    }
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((eol ? eol : end) - p);
        const char *next = eol ? eol + 1 : end;
        if (n && p[n - 1] == '\r')
            n--;
        if (marker(&r, p, n)) {
            any_marker = true;
        } else if (n >= 4 && !strncmp(p, "<---", 4)) { /* chan_sip's end line "<------------>" */
            flush(&r);
        } else if (!any_marker && is_sip_first_line(p, n)) { /* raw messages one after another */
            start(&r, -1, false);
            r.src = r.dst = k_local;
            add_line(&r, p, n);
        } else if (r.open) {
            add_line(&r, p, n);
        }
        p = next;
    }
    flush(&r);
    free(r.msg);
    if (!c->n_sip) {
        net_capture_free(c);
        snprintf(err, errsz,
                 "no SIP message found (raw messages, sngrep's text export, "
                 "`pjsip set logger` or `sip set debug` output, or tshark -V's packet details)");
        return -1;
    }
    c->times_unknown = r.first_ts < 0;
    net__dialogs(c, lim);
    net__findings(c, lim);
    *out = c;
    return 0;
}
